// The recurrent ops RNN, GRU and LSTM: all directions, configurable
// activations, clip, sequence_lens, initial states, peepholes,
// linear_before_reset, input_forget and both layouts. The reference kernel
// runs each batch row separately in double. The gradient comes from the
// decomposition: the op unrolled over its (static) sequence into primitive
// ops, which autodiff differentiates with their own rules.
#include <cmath>
#include <optional>

#include "ir/builder.h"
#include "ir/ops/nn_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

enum class CellKind { Rnn, Gru, Lstm };

int gateCount(CellKind k) { return k == CellKind::Rnn ? 1 : k == CellKind::Gru ? 3 : 4; }
size_t activationsPerDirection(CellKind k) { return k == CellKind::Rnn ? 1 : k == CellKind::Gru ? 2 : 3; }
std::vector<std::string> defaultActivations(CellKind k) {
  if (k == CellKind::Rnn) return {"Tanh"};
  if (k == CellKind::Gru) return {"Sigmoid", "Tanh"};
  return {"Sigmoid", "Tanh", "Tanh"};
}

std::vector<AttrSpec> recurrentAttrs(CellKind k) {
  std::vector<AttrSpec> a = {
      {"activation_alpha", AttrKind::Floats, std::nullopt, true},
      {"activation_beta", AttrKind::Floats, std::nullopt, true},
      {"activations", AttrKind::Strings, std::nullopt, true},
      {"clip", AttrKind::Float, std::nullopt, true},
      {"direction", AttrKind::String, std::string("forward")},
      {"hidden_size", AttrKind::Int, std::nullopt, true},
      {"layout", AttrKind::Int, int64_t(0)},
  };
  if (k == CellKind::Gru) a.push_back({"linear_before_reset", AttrKind::Int, int64_t(0)});
  if (k == CellKind::Lstm) a.push_back({"input_forget", AttrKind::Int, int64_t(0)});
  return a;
}

int64_t directionCount(const Node& node) {
  const std::string& d = node.attrString("direction");
  if (d == "forward" || d == "reverse") return 1;
  if (d == "bidirectional") return 2;
  throwUserError("{}: direction must be forward, reverse or bidirectional, found '{}'", node.describe(), d);
}

// One activation function with its parameters.
struct Activation {
  std::string name;
  double alpha = 0, beta = 0;
  double operator()(double x) const {
    if (name == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
    if (name == "Tanh") return std::tanh(x);
    if (name == "Relu") return x > 0 ? x : 0.0;
    if (name == "Affine") return alpha * x + beta;
    if (name == "LeakyRelu") return x >= 0 ? x : alpha * x;
    if (name == "ThresholdedRelu") return x > alpha ? x : 0.0;
    if (name == "ScaledTanh") return alpha * std::tanh(beta * x);
    if (name == "HardSigmoid") return std::max(0.0, std::min(1.0, alpha * x + beta));
    if (name == "Elu") return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
    if (name == "Softsign") return x / (1.0 + std::abs(x));
    return std::log1p(std::exp(x));  // Softplus (names are validated when read)
  }
};

// The activations for all directions, with alpha/beta consumed in order by
// the functions that take them (defaults as in the ONNX operator docs).
std::vector<Activation> readActivations(const Node& node, CellKind kind, int64_t directions) {
  std::vector<std::string> names =
      node.hasAttr("activations") ? node.attrStrings("activations") : defaultActivations(kind);
  size_t per = activationsPerDirection(kind);
  if (names.size() == per && directions == 2) {  // one set given: both directions use it
    std::vector<std::string> once = names;
    names.insert(names.end(), once.begin(), once.end());
  }
  if (names.size() != per * size_t(directions))
    throwUserError("{}: expected {} activations, found {}", node.describe(), per * size_t(directions), names.size());
  std::vector<double> alphas = node.hasAttr("activation_alpha") ? node.attrFloats("activation_alpha") : std::vector<double>{};
  std::vector<double> betas = node.hasAttr("activation_beta") ? node.attrFloats("activation_beta") : std::vector<double>{};
  size_t nextAlpha = 0, nextBeta = 0;
  std::vector<Activation> acts;
  for (const std::string& n : names) {
    Activation a{n};
    bool usesAlpha = true, usesBeta = false;
    double defAlpha = 0, defBeta = 0;
    if (n == "Sigmoid" || n == "Tanh" || n == "Relu" || n == "Softsign" || n == "Softplus") usesAlpha = false;
    else if (n == "Affine") usesBeta = true, defAlpha = 1.0;
    else if (n == "LeakyRelu") defAlpha = 0.01;
    else if (n == "ThresholdedRelu") defAlpha = 1.0;
    else if (n == "ScaledTanh") usesBeta = true, defAlpha = 1.0, defBeta = 1.0;
    else if (n == "HardSigmoid") usesBeta = true, defAlpha = 0.2, defBeta = 0.5;
    else if (n == "Elu") defAlpha = 1.0;
    else throwUserError("{}: unknown activation '{}'", node.describe(), n);
    if (usesAlpha) a.alpha = nextAlpha < alphas.size() ? alphas[nextAlpha++] : defAlpha;
    if (usesBeta) a.beta = nextBeta < betas.size() ? betas[nextBeta++] : defBeta;
    acts.push_back(a);
  }
  return acts;
}

void inferRecurrent(InferContext& ctx, CellKind kind) {
  requireFloatInput(ctx, 0, "X");
  DType t = ctx.inputDType(0);
  for (size_t i : {1, 2, 3, 5, 6, 7})
    if (i < ctx.numInputs() && ctx.hasInput(i) && ctx.inputDType(i) != t)
      ctx.fail("input {} must have the dtype of X ({}), found {}", i, dtypeName(t), dtypeName(ctx.inputDType(i)));
  if (ctx.numInputs() > 4 && ctx.hasInput(4) && ctx.inputDType(4) != DType::I32)
    ctx.fail("sequence_lens must be i32, found {}", dtypeName(ctx.inputDType(4)));
  const Node& node = ctx.node();
  int64_t dirs = directionCount(node);
  bool batchFirst = node.attrInt("layout") != 0;
  readActivations(node, kind, dirs);
  const auto& xs = ctx.inputShape(0);
  const auto& rs = ctx.inputShape(2);
  if (xs && xs->rank() != 3) ctx.fail("X must have rank 3, found {}", xs->str());
  if (rs && rs->rank() != 3) ctx.fail("R must have rank 3, found {}", rs->str());
  Dim hidden = node.hasAttr("hidden_size") ? Dim(node.attrInt("hidden_size")) : rs ? (*rs)[2] : Dim::unknown();
  if (hidden.isStatic() && hidden.value() <= 0) ctx.fail("hidden_size must be positive, found {}", hidden.value());
  if (rs && (*rs)[0].isStatic() && (*rs)[0].value() != dirs)
    ctx.fail("R has {} directions but direction '{}' needs {}", (*rs)[0].value(), node.attrString("direction"), dirs);
  Dim seq = xs ? (*xs)[batchFirst ? 1 : 0] : Dim::unknown();
  Dim batch = xs ? (*xs)[batchFirst ? 0 : 1] : Dim::unknown();
  Shape y = batchFirst ? Shape(std::vector<Dim>{batch, seq, Dim(dirs), hidden})
                       : Shape(std::vector<Dim>{seq, Dim(dirs), batch, hidden});
  Shape state = batchFirst ? Shape(std::vector<Dim>{batch, Dim(dirs), hidden})
                           : Shape(std::vector<Dim>{Dim(dirs), batch, hidden});
  ctx.setOutput(0, TensorType(t, y));
  for (size_t i = 1; i < ctx.numOutputs(); ++i) ctx.setOutput(i, TensorType(t, state));
}

// A tensor's values as doubles, checked against the expected shape.
std::vector<double> operand(const EvalContext& ctx, size_t i, const char* what, const std::vector<int64_t>& shape) {
  const Tensor& t = ctx.input(i);
  if (t.shape() != shape)
    ctx.fail("{} must have shape {}, found {}", what, extentsStr(shape), extentsStr(t.shape()));
  std::vector<double> v(size_t(t.numel()));
  for (size_t k = 0; k < v.size(); ++k) v[k] = t.getDouble(int64_t(k));
  return v;
}

// out[r] = sum_c m[r * cols + c] * v[c] for r < rows (m row-major).
void matVec(const double* m, const double* v, int64_t rows, int64_t cols, double* out) {
  for (int64_t r = 0; r < rows; ++r) {
    double acc = 0;
    for (int64_t c = 0; c < cols; ++c) acc += m[r * cols + c] * v[c];
    out[r] = acc;
  }
}

void evalRecurrent(EvalContext& ctx, CellKind kind) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() != 3) ctx.fail("X must have rank 3, found {}", extentsStr(x.shape()));
  if (ctx.input(2).rank() != 3) ctx.fail("R must have rank 3, found {}", extentsStr(ctx.input(2).shape()));
  int64_t dirs = directionCount(node);
  bool batchFirst = node.attrInt("layout") != 0;
  bool reverseOnly = node.attrString("direction") == "reverse";
  int64_t seq = x.dim(batchFirst ? 1 : 0), batch = x.dim(batchFirst ? 0 : 1), inputSize = x.dim(2);
  int64_t hidden = node.hasAttr("hidden_size") ? node.attrInt("hidden_size") : ctx.input(2).dim(2);
  if (hidden <= 0) ctx.fail("hidden_size must be positive, found {}", hidden);
  int64_t gates = gateCount(kind);
  std::vector<Activation> acts = readActivations(node, kind, dirs);
  size_t actsPer = activationsPerDirection(kind);
  std::optional<double> clip;
  if (node.hasAttr("clip")) clip = node.attrFloat("clip");
  bool linearBeforeReset = kind == CellKind::Gru && node.attrInt("linear_before_reset") != 0;
  bool inputForget = kind == CellKind::Lstm && node.attrInt("input_forget") != 0;

  std::vector<double> w = operand(ctx, 1, "W", {dirs, gates * hidden, inputSize});
  std::vector<double> r = operand(ctx, 2, "R", {dirs, gates * hidden, hidden});
  std::vector<double> b = ctx.hasInput(3) ? operand(ctx, 3, "B", {dirs, 2 * gates * hidden})
                                          : std::vector<double>(size_t(dirs * 2 * gates * hidden), 0.0);
  std::vector<int64_t> lens(size_t(batch), seq);
  if (ctx.hasInput(4)) {
    const Tensor& sl = ctx.input(4);
    if (sl.shape() != std::vector<int64_t>{batch})
      ctx.fail("sequence_lens must have shape [{}], found {}", batch, extentsStr(sl.shape()));
    lens = sl.toInts();
    for (int64_t l : lens)
      if (l < 0 || l > seq) ctx.fail("sequence_lens entries must lie in [0, {}], found {}", seq, l);
  }
  std::vector<int64_t> stateShape = batchFirst ? std::vector<int64_t>{batch, dirs, hidden}
                                               : std::vector<int64_t>{dirs, batch, hidden};
  auto stateAt = [&](int64_t d, int64_t bi) { return batchFirst ? (bi * dirs + d) * hidden : (d * batch + bi) * hidden; };
  std::vector<double> h0 = ctx.hasInput(5) ? operand(ctx, 5, "initial_h", stateShape)
                                           : std::vector<double>(size_t(dirs * batch * hidden), 0.0);
  std::vector<double> c0;
  std::vector<double> peep(size_t(dirs * 3 * hidden), 0.0);
  if (kind == CellKind::Lstm) {
    c0 = ctx.hasInput(6) ? operand(ctx, 6, "initial_c", stateShape)
                         : std::vector<double>(size_t(dirs * batch * hidden), 0.0);
    if (ctx.hasInput(7)) peep = operand(ctx, 7, "P", {dirs, 3 * hidden});
  }
  std::vector<double> xd(size_t(x.numel()));
  for (size_t k = 0; k < xd.size(); ++k) xd[k] = x.getDouble(int64_t(k));
  auto xAt = [&](int64_t t, int64_t bi) {
    return xd.data() + (batchFirst ? (bi * seq + t) : (t * batch + bi)) * inputSize;
  };

  std::vector<double> y(size_t(seq * dirs * batch * hidden), 0.0), yh(h0.size()), yc(c0.size());
  auto yAt = [&](int64_t t, int64_t d, int64_t bi) {
    return y.data() + (batchFirst ? ((bi * seq + t) * dirs + d) : ((t * dirs + d) * batch + bi)) * hidden;
  };
  auto clipped = [&](double v) { return clip ? std::max(-*clip, std::min(*clip, v)) : v; };

  const auto gateRows = static_cast<size_t>(gates * hidden), hiddenRows = static_cast<size_t>(hidden);
  std::vector<double> xw(gateRows), hr(gateRows), h(hiddenRows), c(hiddenRows), next(hiddenRows), gated(hiddenRows);
  for (int64_t d = 0; d < dirs; ++d) {
    bool reverse = reverseOnly || d == 1;
    const double* wd = w.data() + d * gates * hidden * inputSize;
    const double* rd = r.data() + d * gates * hidden * hidden;
    const double* wb = b.data() + d * 2 * gates * hidden;
    const double* rb = wb + gates * hidden;
    const double* pd = peep.data() + d * 3 * hidden;
    const Activation& f = acts[size_t(d) * actsPer];
    const Activation& g = acts[size_t(d) * actsPer + (actsPer > 1 ? 1 : 0)];
    const Activation& hAct = acts[size_t(d) * actsPer + (actsPer > 2 ? 2 : 0)];
    for (int64_t bi = 0; bi < batch; ++bi) {
      std::copy_n(h0.data() + stateAt(d, bi), hidden, h.begin());
      if (kind == CellKind::Lstm) std::copy_n(c0.data() + stateAt(d, bi), hidden, c.begin());
      int64_t len = lens[size_t(bi)];
      for (int64_t step = 0; step < len; ++step) {
        int64_t t = reverse ? len - 1 - step : step;
        matVec(wd, xAt(t, bi), gates * hidden, inputSize, xw.data());
        matVec(rd, h.data(), gates * hidden, hidden, hr.data());
        for (int64_t j = 0; j < hidden; ++j) {
          if (kind == CellKind::Rnn) {
            next[j] = f(clipped(xw[j] + hr[j] + wb[j] + rb[j]));
          } else if (kind == CellKind::Gru) {
            // Gate order z, r, h.
            double z = f(clipped(xw[j] + hr[j] + wb[j] + rb[j]));
            double rg = f(clipped(xw[hidden + j] + hr[hidden + j] + wb[hidden + j] + rb[hidden + j]));
            gated[j] = rg;
            xw[j] = z;  // keep z for the update below
          } else {
            // Gate order i, o, f, c; peepholes in order i, o, f.
            double in = f(clipped(xw[j] + hr[j] + wb[j] + rb[j] + pd[j] * c[j]));
            double forget = inputForget ? 1.0 - in
                                        : f(clipped(xw[2 * hidden + j] + hr[2 * hidden + j] + wb[2 * hidden + j] +
                                                    rb[2 * hidden + j] + pd[2 * hidden + j] * c[j]));
            double cand = g(clipped(xw[3 * hidden + j] + hr[3 * hidden + j] + wb[3 * hidden + j] + rb[3 * hidden + j]));
            double cell = forget * c[j] + in * cand;
            double out = f(clipped(xw[hidden + j] + hr[hidden + j] + wb[hidden + j] + rb[hidden + j] + pd[hidden + j] * cell));
            gated[j] = cell;
            next[j] = out * hAct(cell);
          }
        }
        if (kind == CellKind::Gru) {
          // The candidate uses the reset gate either on the state (default)
          // or on the state's recurrent product (linear_before_reset).
          std::vector<double> resetState(hiddenRows), candR(hiddenRows);
          const double* rh = rd + 2 * hidden * hidden;
          if (!linearBeforeReset) {
            for (int64_t j = 0; j < hidden; ++j) resetState[j] = gated[j] * h[j];
            matVec(rh, resetState.data(), hidden, hidden, candR.data());
            for (int64_t j = 0; j < hidden; ++j) candR[j] += rb[2 * hidden + j];
          } else {
            for (int64_t j = 0; j < hidden; ++j) candR[j] = gated[j] * (hr[2 * hidden + j] + rb[2 * hidden + j]);
          }
          for (int64_t j = 0; j < hidden; ++j) {
            double cand = g(clipped(xw[2 * hidden + j] + wb[2 * hidden + j] + candR[j]));
            double z = xw[j];
            next[j] = (1.0 - z) * cand + z * h[j];
          }
        }
        h = next;
        if (kind == CellKind::Lstm) c = gated;
        std::copy(h.begin(), h.end(), yAt(t, d, bi));
      }
      std::copy(h.begin(), h.end(), yh.begin() + stateAt(d, bi));
      if (kind == CellKind::Lstm) std::copy(c.begin(), c.end(), yc.begin() + stateAt(d, bi));
    }
  }
  auto make = [&](const std::vector<int64_t>& shape, const std::vector<double>& v) {
    Tensor out(x.dtype(), shape);
    for (size_t k = 0; k < v.size(); ++k) out.setDouble(int64_t(k), v[k]);
    return out;
  };
  std::vector<int64_t> yShape = batchFirst ? std::vector<int64_t>{batch, seq, dirs, hidden}
                                           : std::vector<int64_t>{seq, dirs, batch, hidden};
  ctx.setOutput(0, make(yShape, y));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, make(stateShape, yh));
  if (ctx.numOutputs() > 2) ctx.setOutput(2, make(stateShape, yc));
}


// ---- Decomposition (the gradient): the op unrolled over its static
// sequence length into MatMul, Add, Mul, Slice, activations, Where and
// Concat, so that autodiff differentiates it with those ops' rules.

// Builds the IR of one unrolled recurrent node.
class Unroller {
 public:
  Unroller(const Node& node, GraphBuilder& b, CellKind kind) : node_(node), b_(b), kind_(kind) {}

  std::vector<Value*> run() {
    const Node& n = node_;
    const TensorType& xt = n.input(0)->type();
    const TensorType& rt = n.input(2)->type();
    for (size_t i : {0, 1, 2, 3, 7})  // X, W, R, B, P (states and lengths are reshaped below)
      if (n.hasInput(i) && !n.input(i)->type().isStatic())
        throwUserError("{}: the gradient of {} needs static shapes of X, W, R, B and P; operand {} ('{}') is {}",
                       n.describe(), n.opName(), i, n.input(i)->name(), n.input(i)->type().str());
    t_ = xt.dtype;
    dirs_ = directionCount(n);
    batchFirst_ = n.attrInt("layout") != 0;
    std::vector<int64_t> xs = xt.shape->extents();
    seq_ = xs[batchFirst_ ? 1 : 0];
    batch_ = xs[batchFirst_ ? 0 : 1];
    hidden_ = n.hasAttr("hidden_size") ? n.attrInt("hidden_size") : rt.shape->extents()[2];
    gates_ = gateCount(kind_);
    acts_ = readActivations(n, kind_, dirs_);
    if (n.hasAttr("clip")) clip_ = n.attrFloat("clip");
    if (seq_ < 1) throwUserError("{}: the gradient of {} needs a sequence of at least one step", n.describe(), n.opName());

    // Time-major X [seq, batch, input] and states [dirs, batch, hidden].
    Value* x = batchFirst_ ? b_.transpose(n.input(0), {1, 0, 2}) : n.input(0);
    Value* h0 = state(5);
    Value* c0 = kind_ == CellKind::Lstm ? state(6) : nullptr;
    Value* lens = n.hasInput(4) ? n.input(4) : nullptr;
    if (lens && !lens->type().isStatic()) lens = b_.reshape(lens, b_.ints({batch_}));

    std::vector<Value*> ys, hs, cs;
    for (int64_t d = 0; d < dirs_; ++d) {
      Direction r = direction(x, h0, c0, lens, d);
      ys.push_back(r.y);
      hs.push_back(r.h);
      cs.push_back(r.c);
    }
    Value* y = concat(ys, 1);   // [seq, dirs, batch, hidden]
    Value* yh = concat(hs, 0);  // [dirs, batch, hidden]
    Value* yc = kind_ == CellKind::Lstm ? concat(cs, 0) : nullptr;
    if (batchFirst_) {
      y = b_.transpose(y, {2, 0, 1, 3});
      yh = b_.transpose(yh, {1, 0, 2});
      if (yc) yc = b_.transpose(yc, {1, 0, 2});
    }
    std::vector<Value*> out{y, yh, yc};
    out.resize(n.outputs().size());
    return out;
  }

 private:
  struct Direction {
    Value* y;  // [seq, 1, batch, hidden]
    Value* h;  // [1, batch, hidden]
    Value* c;  // [1, batch, hidden] (LSTM)
  };

  // Operand i (initial_h / initial_c) as [dirs, batch, hidden], or nullptr.
  // The Reshape gives it a static type where inference knew less (an
  // exporter's Expand of a computed shape); a wrong size fails when it runs.
  Value* state(size_t i) {
    if (!node_.hasInput(i)) return nullptr;
    std::vector<int64_t> shape = batchFirst_ ? std::vector<int64_t>{batch_, dirs_, hidden_}
                                             : std::vector<int64_t>{dirs_, batch_, hidden_};
    Value* v = node_.input(i);
    if (!v->type().isStatic()) v = b_.reshape(v, b_.ints(shape));
    return batchFirst_ ? b_.transpose(v, {1, 0, 2}) : v;
  }

  Value* slice(Value* v, int64_t axis, int64_t begin, int64_t end) {
    return b_.op(OpKind::Slice, {v, b_.ints({begin}), b_.ints({end}), b_.ints({axis})});
  }
  Value* squeeze(Value* v, int64_t axis) { return b_.op(OpKind::Squeeze, {v, b_.ints({axis})}); }
  Value* unsqueeze(Value* v, std::vector<int64_t> axes) { return b_.op(OpKind::Unsqueeze, {v, b_.ints(axes)}); }
  // Row d of a per-direction operand, without its direction axis.
  Value* ofDirection(Value* v, int64_t d) { return squeeze(slice(v, 0, d, d + 1), 0); }
  // Gate k (in the op's gate order) of the last axis of v.
  Value* gate(Value* v, int64_t k, int64_t count = 1) {
    int64_t axis = v->type().shape->rank() - 1;
    return slice(v, axis, k * hidden_, (k + count) * hidden_);
  }
  Value* concat(const std::vector<Value*>& vs, int64_t axis) {
    if (vs.size() == 1) return vs[0];
    Attributes a;
    a.set("axis", axis);
    return b_.op(OpKind::Concat, vs, a);
  }
  Value* constant(double v) { return b_.scalar(v, t_); }
  Value* withAttrs(OpKind k, Value* x, std::initializer_list<std::pair<const char*, double>> floats) {
    Attributes a;
    for (auto [name, v] : floats) a.set(name, v);
    return b_.op(k, {x}, a);
  }

  // f(clip(x)); the LSTM's output activation of the cell is not clipped.
  Value* activate(const Activation& f, Value* x, bool clipped = true) {
    if (clip_ && clipped) x = b_.op(OpKind::Clip, {x, constant(-*clip_), constant(*clip_)});
    const std::string& n = f.name;
    if (n == "Sigmoid") return b_.unary(OpKind::Sigmoid, x);
    if (n == "Tanh") return b_.unary(OpKind::Tanh, x);
    if (n == "Relu") return b_.unary(OpKind::Relu, x);
    if (n == "Softsign") return b_.unary(OpKind::Softsign, x);
    if (n == "Softplus") return b_.unary(OpKind::Softplus, x);
    if (n == "Affine") return b_.add(b_.mul(x, constant(f.alpha)), constant(f.beta));
    if (n == "LeakyRelu") return withAttrs(OpKind::LeakyRelu, x, {{"alpha", f.alpha}});
    if (n == "ThresholdedRelu") return withAttrs(OpKind::ThresholdedRelu, x, {{"alpha", f.alpha}});
    if (n == "HardSigmoid") return withAttrs(OpKind::HardSigmoid, x, {{"alpha", f.alpha}, {"beta", f.beta}});
    if (n == "Elu") return withAttrs(OpKind::Elu, x, {{"alpha", f.alpha}});
    DLC_CHECK(n == "ScaledTanh", "unroll: activation '{}' not handled", n);
    return b_.mul(constant(f.alpha), b_.unary(OpKind::Tanh, b_.mul(x, constant(f.beta))));
  }

  // One direction over the whole sequence.
  Direction direction(Value* x, Value* h0, Value* c0, Value* lens, int64_t d) {
    const Node& n = node_;
    size_t per = activationsPerDirection(kind_);
    const Activation& f = acts_[size_t(d) * per];
    const Activation& g = acts_[size_t(d) * per + (per > 1 ? 1 : 0)];
    const Activation& hAct = acts_[size_t(d) * per + (per > 2 ? 2 : 0)];
    bool reverse = n.attrString("direction") == "reverse" || d == 1;
    bool linearBeforeReset = kind_ == CellKind::Gru && n.attrInt("linear_before_reset") != 0;
    bool inputForget = kind_ == CellKind::Lstm && n.attrInt("input_forget") != 0;

    // X W^T + Wb for every step at once: [seq, batch, gates*hidden].
    Value* xw = b_.op(OpKind::MatMul, {x, b_.transpose(ofDirection(n.input(1), d), {1, 0})});
    Value* rT = b_.transpose(ofDirection(n.input(2), d), {1, 0});  // [hidden, gates*hidden]
    Value* wb = nullptr, *rb = nullptr;
    if (n.hasInput(3)) {
      Value* bias = ofDirection(n.input(3), d);  // [2*gates*hidden]
      wb = slice(bias, 0, 0, gates_ * hidden_);
      rb = slice(bias, 0, gates_ * hidden_, 2 * gates_ * hidden_);
      xw = b_.add(xw, wb);
    }
    // GRU without linear_before_reset multiplies the reset gate into the
    // state before the candidate's recurrent product: that block apart.
    bool splitR = kind_ == CellKind::Gru && !linearBeforeReset;
    Value* rMain = splitR ? gate(rT, 0, 2) : rT;
    Value* rbMain = rb && splitR ? gate(rb, 0, 2) : rb;
    Value* rCand = splitR ? gate(rT, 2) : nullptr;
    Value* rbCand = rb && splitR ? gate(rb, 2) : nullptr;
    Value* peep = kind_ == CellKind::Lstm && n.hasInput(7) ? ofDirection(n.input(7), d) : nullptr;

    Value* h = h0 ? ofDirection(h0, d) : zeros();
    Value* c = kind_ == CellKind::Lstm ? (c0 ? ofDirection(c0, d) : zeros()) : nullptr;
    std::vector<Value*> ys(static_cast<size_t>(seq_));
    for (int64_t step = 0; step < seq_; ++step) {
      int64_t t = reverse ? seq_ - 1 - step : step;
      Value* xt = squeeze(slice(xw, 0, t, t + 1), 0);  // [batch, gates*hidden]
      Value* hr = b_.op(OpKind::MatMul, {h, rMain});
      if (rbMain) hr = b_.add(hr, rbMain);
      Value* hNext = nullptr, *cNext = nullptr;
      if (kind_ == CellKind::Rnn) {
        hNext = activate(f, b_.add(xt, hr));
      } else if (kind_ == CellKind::Gru) {  // gates z, r, h
        Value* z = activate(f, b_.add(gate(xt, 0), gate(hr, 0)));
        Value* r = activate(f, b_.add(gate(xt, 1), gate(hr, 1)));
        Value* candR;
        if (linearBeforeReset) {
          candR = b_.mul(r, gate(hr, 2));
        } else {
          candR = b_.op(OpKind::MatMul, {b_.mul(r, h), rCand});
          if (rbCand) candR = b_.add(candR, rbCand);
        }
        Value* cand = activate(g, b_.add(gate(xt, 2), candR));
        hNext = b_.add(b_.mul(b_.sub(constant(1.0), z), cand), b_.mul(z, h));
      } else {  // gates i, o, f, c; peepholes i, o, f
        Value* pre = b_.add(xt, hr);
        auto peephole = [&](Value* v, int64_t k, Value* cell) { return peep ? b_.add(v, b_.mul(gate(peep, k), cell)) : v; };
        Value* in = activate(f, peephole(gate(pre, 0), 0, c));
        Value* forget = inputForget ? b_.sub(constant(1.0), in) : activate(f, peephole(gate(pre, 2), 2, c));
        Value* cand = activate(g, gate(pre, 3));
        cNext = b_.add(b_.mul(forget, c), b_.mul(in, cand));
        Value* out = activate(f, peephole(gate(pre, 1), 1, cNext));
        hNext = b_.mul(out, activate(hAct, cNext, /*clipped=*/false));
      }
      Value* y = hNext;
      if (lens) {  // rows whose sequence has ended keep their state and output zeros
        Value* live = unsqueeze(b_.op(OpKind::Less, {b_.constant("t", Tensor::scalar<int32_t>(int32_t(t))), lens}), {1});
        hNext = b_.where(live, hNext, h);
        if (cNext) cNext = b_.where(live, cNext, c);
        y = b_.where(live, y, constant(0.0));
      }
      h = hNext;
      c = cNext;
      ys[size_t(t)] = unsqueeze(y, {0, 1});  // [1, 1, batch, hidden]
    }
    return {concat(ys, 0), unsqueeze(h, {0}), c ? unsqueeze(c, {0}) : nullptr};
  }

  Value* zeros() { return b_.constant("zeros", Tensor(t_, {batch_, hidden_})); }

  const Node& node_;
  GraphBuilder& b_;
  CellKind kind_;
  DType t_ = DType::F32;
  int64_t dirs_ = 1, seq_ = 0, batch_ = 0, hidden_ = 0, gates_ = 1;
  bool batchFirst_ = false;
  std::vector<Activation> acts_;
  std::optional<double> clip_;
};

}  // namespace

const OpDef kRNNDef{
    .name = "RNN", .minInputs = 3, .maxInputs = 6, .minOutputs = 1, .maxOutputs = 2,
    .traits = kDifferentiable,
    .attrs = recurrentAttrs(CellKind::Rnn),
    .infer = [](InferContext& ctx) { inferRecurrent(ctx, CellKind::Rnn); },
    .eval = [](EvalContext& ctx) { evalRecurrent(ctx, CellKind::Rnn); },
    .decompose = [](const Node& n, GraphBuilder& b) { return Unroller(n, b, CellKind::Rnn).run(); },
};
const OpDef kGRUDef{
    .name = "GRU", .minInputs = 3, .maxInputs = 6, .minOutputs = 1, .maxOutputs = 2,
    .traits = kDifferentiable,
    .attrs = recurrentAttrs(CellKind::Gru),
    .infer = [](InferContext& ctx) { inferRecurrent(ctx, CellKind::Gru); },
    .eval = [](EvalContext& ctx) { evalRecurrent(ctx, CellKind::Gru); },
    .decompose = [](const Node& n, GraphBuilder& b) { return Unroller(n, b, CellKind::Gru).run(); },
};
const OpDef kLSTMDef{
    .name = "LSTM", .minInputs = 3, .maxInputs = 8, .minOutputs = 1, .maxOutputs = 3,
    .traits = kDifferentiable,
    .attrs = recurrentAttrs(CellKind::Lstm),
    .infer = [](InferContext& ctx) { inferRecurrent(ctx, CellKind::Lstm); },
    .eval = [](EvalContext& ctx) { evalRecurrent(ctx, CellKind::Lstm); },
    .decompose = [](const Node& n, GraphBuilder& b) { return Unroller(n, b, CellKind::Lstm).run(); },
};

}  // namespace dlc::ir
