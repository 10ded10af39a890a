// The recurrent ops RNN, GRU and LSTM: all directions, configurable
// activations, clip, sequence_lens, initial states, peepholes,
// linear_before_reset, input_forget and both layouts. The reference kernel
// runs each batch row separately in double.
#include <cmath>

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

}  // namespace

const OpDef kRNNDef{
    .name = "RNN", .minInputs = 3, .maxInputs = 6, .minOutputs = 1, .maxOutputs = 2,
    .attrs = recurrentAttrs(CellKind::Rnn),
    .infer = [](InferContext& ctx) { inferRecurrent(ctx, CellKind::Rnn); },
    .eval = [](EvalContext& ctx) { evalRecurrent(ctx, CellKind::Rnn); },
};
const OpDef kGRUDef{
    .name = "GRU", .minInputs = 3, .maxInputs = 6, .minOutputs = 1, .maxOutputs = 2,
    .attrs = recurrentAttrs(CellKind::Gru),
    .infer = [](InferContext& ctx) { inferRecurrent(ctx, CellKind::Gru); },
    .eval = [](EvalContext& ctx) { evalRecurrent(ctx, CellKind::Gru); },
};
const OpDef kLSTMDef{
    .name = "LSTM", .minInputs = 3, .maxInputs = 8, .minOutputs = 1, .maxOutputs = 3,
    .attrs = recurrentAttrs(CellKind::Lstm),
    .infer = [](InferContext& ctx) { inferRecurrent(ctx, CellKind::Lstm); },
    .eval = [](EvalContext& ctx) { evalRecurrent(ctx, CellKind::Lstm); },
};

}  // namespace dlc::ir
