// Finite-difference checks of every gradient rule: a one-op graph in
// float64, loss = sum(op(...)[0] * R) for a fixed random R, its training
// graph's gradients (passes/autodiff) against central differences of the
// loss, both through the reference interpreter.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <random>
#include <set>

#include "ir/builder.h"
#include "ir/interpreter.h"
#include "ir/op_def.h"
#include "passes/autodiff.h"
#include "tests/unit/op_test_util.h"

namespace dlc::ir {
namespace {

using testing::attrs;

// How an operand's values are drawn.
enum class Dist { Any, Pos, Unit, Gt1, Spread };

struct Operand {
  std::vector<int64_t> shape;
  Dist dist = Dist::Any;
  bool param = true;  // differentiated; otherwise a constant
  std::optional<Tensor> fixed;  // a given constant (indices, axes, shapes)
};

Operand p(std::vector<int64_t> shape, Dist d = Dist::Any) { return {std::move(shape), d, true, std::nullopt}; }
Operand ints(std::vector<int64_t> v) {
  return {{}, Dist::Any, false, Tensor::fromVector<int64_t>({int64_t(v.size())}, v)};
}
Operand fixedTensor(Tensor t) { return {{}, Dist::Any, false, std::move(t)}; }

struct Case {
  std::string name;
  OpKind op;
  std::vector<Operand> operands;
  Attributes a;
  size_t numOutputs = 1;
  std::vector<size_t> lossOutputs = {0};  // the results the loss sums
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

Tensor randomTensor(std::mt19937& rng, const std::vector<int64_t>& shape, Dist d) {
  Tensor t(DType::F64, shape);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int64_t i = 0; i < t.numel(); ++i) {
    double r = u(rng);
    double v = 0;
    switch (d) {
      case Dist::Any: v = (0.2 + 0.8 * r) * (u(rng) < 0.5 ? -1 : 1); break;  // |x| >= 0.2: away from kinks at 0
      case Dist::Pos: v = 0.5 + 1.5 * r; break;
      case Dist::Unit: v = -0.8 + 1.6 * r; break;
      case Dist::Gt1: v = 1.5 + 1.5 * r; break;
      case Dist::Spread: v = -3.0 + 6.0 * (double(i) + 0.5 * r) / double(t.numel()); break;  // distinct, sorted
    }
    t.setDouble(i, v);
  }
  if (d == Dist::Spread) {  // shuffle so that maxima are not all at the end
    std::vector<double> vals(size_t(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) vals[size_t(i)] = t.getDouble(i);
    std::shuffle(vals.begin(), vals.end(), rng);
    for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, vals[size_t(i)]);
  }
  return t;
}

void runGradCheck(const Case& c) {
  std::mt19937 rng(1234);
  GraphBuilder b("gradcheck");
  std::vector<Value*> operands;
  std::vector<std::string> params;
  NamedTensors feeds;
  for (size_t i = 0; i < c.operands.size(); ++i) {
    const Operand& o = c.operands[i];
    if (o.fixed) {
      operands.push_back(o.fixed->defined() ? b.constant("k" + std::to_string(i), *o.fixed) : nullptr);
      continue;
    }
    Tensor t = randomTensor(rng, o.shape, o.dist);
    std::string name = "x" + std::to_string(i);
    if (o.param) {
      operands.push_back(b.input(name, t.type()));
      params.push_back(name);
      feeds[name] = t;
    } else {
      operands.push_back(b.constant(name, t));
    }
  }
  std::vector<Value*> ys = b.opN(c.op, operands, c.numOutputs, c.a);
  Attributes keep0;
  keep0.set("keepdims", int64_t(0));
  Value* loss = nullptr;
  for (size_t k : c.lossOutputs) {
    Value* y = ys.at(k);
    ASSERT_TRUE(y->type().isStatic()) << y->type().str();
    Value* r = b.constant("r", randomTensor(rng, y->type().shape->extents(), Dist::Any));
    Value* term = b.op(OpKind::ReduceSum, {b.mul(y, r)}, keep0);
    loss = loss ? b.add(loss, term) : term;
  }
  loss = b.op(OpKind::Identity, {loss}, {}, "loss");
  b.output(loss);
  Graph forward = b.finish();

  passes::TrainingGraph tg = passes::buildTrainingGraph(forward, loss->name(), params);
  std::vector<Tensor> out = interpret(tg.graph, feeds);
  ASSERT_EQ(out.size(), params.size() + 1);

  const double h = 1e-5;
  auto lossAt = [&](const NamedTensors& f) { return interpret(forward, f)[0].getDouble(0); };
  for (size_t pi = 0; pi < params.size(); ++pi) {
    const Tensor& analytic = out[pi + 1];
    const Tensor base = feeds[params[pi]];
    ASSERT_EQ(analytic.shape(), base.shape()) << params[pi];
    for (int64_t i = 0; i < base.numel(); ++i) {
      NamedTensors f = feeds;
      Tensor t = base.clone();
      t.setDouble(i, base.getDouble(i) + h);
      f[params[pi]] = t;
      double up = lossAt(f);
      t = base.clone();
      t.setDouble(i, base.getDouble(i) - h);
      f[params[pi]] = t;
      double down = lossAt(f);
      double numeric = (up - down) / (2 * h);
      double a = analytic.getDouble(i);
      EXPECT_NEAR(a, numeric, 1e-6 * std::max(1.0, std::fabs(numeric)))
          << c.name << ": d loss / d " << params[pi] << "[" << i << "]";
    }
  }
}

Tensor i64(std::vector<int64_t> shape, std::vector<int64_t> v) { return Tensor::fromVector<int64_t>(shape, v); }

// RNN, GRU and LSTM (differentiated through their unrolled decomposition):
// X [seq 3, batch 2, input 3] (or batch-first), hidden 2, the loss over
// every result, each variant checking every float operand given.
void addRecurrentCases(std::vector<Case>& cs) {
  const int64_t seq = 3, batch = 2, input = 3, hidden = 2;
  struct V {
    std::string name;
    OpKind op;
    std::string direction = "forward";
    bool bias = true, lens = false, initial = true, peepholes = false, batchFirst = false;
    Attributes extra = {};
  };
  auto i32 = [](std::vector<int32_t> v) { return fixedTensor(Tensor::fromVector<int32_t>({int64_t(v.size())}, v)); };
  std::vector<V> vs = {
      {"RNN", OpKind::RNN},
      {"RNN_reverse_noBias_lens", OpKind::RNN, "reverse", false, true},
      {"RNN_bidirectional_batchFirst_activations", OpKind::RNN, "bidirectional", true, false, true, false, true,
       attrs({{"activations", std::vector<std::string>{"Tanh", "ScaledTanh"}},
              {"activation_alpha", std::vector<double>{1.3}}, {"activation_beta", std::vector<double>{0.7}}})},
      {"GRU", OpKind::GRU},
      {"GRU_linearBeforeReset_bidirectional", OpKind::GRU, "bidirectional", true, false, true, false, false,
       attrs({{"linear_before_reset", int64_t(1)}})},
      {"GRU_reverse_lens_batchFirst_noInitial", OpKind::GRU, "reverse", true, true, false, false, true},
      {"LSTM_peepholes", OpKind::LSTM, "forward", true, false, true, true},
      {"LSTM_bidirectional_batchFirst_lens", OpKind::LSTM, "bidirectional", true, true, true, true, true},
      {"LSTM_reverse_noBias_clip_inputForget", OpKind::LSTM, "reverse", false, false, true, false, false,
       attrs({{"clip", 0.9}, {"input_forget", int64_t(1)}})},
      {"LSTM_activations_noInitial", OpKind::LSTM, "forward", true, false, false, false, false,
       attrs({{"activations", std::vector<std::string>{"HardSigmoid", "Softsign", "Elu"}},
              {"activation_alpha", std::vector<double>{0.3, 0.9}}, {"activation_beta", std::vector<double>{0.45}}})},
  };
  for (V& v : vs) {
    int64_t dirs = v.direction == "bidirectional" ? 2 : 1;
    int64_t gates = v.op == OpKind::RNN ? 1 : v.op == OpKind::GRU ? 3 : 4;
    std::vector<int64_t> state = v.batchFirst ? std::vector<int64_t>{batch, dirs, hidden}
                                              : std::vector<int64_t>{dirs, batch, hidden};
    std::vector<Operand> ops = {p(v.batchFirst ? std::vector<int64_t>{batch, seq, input} : std::vector<int64_t>{seq, batch, input}),
                                p({dirs, gates * hidden, input}), p({dirs, gates * hidden, hidden})};
    ops.push_back(v.bias ? p({dirs, 2 * gates * hidden}) : fixedTensor(Tensor()));
    ops.push_back(v.lens ? i32({2, 3}) : fixedTensor(Tensor()));
    ops.push_back(v.initial ? p(state) : fixedTensor(Tensor()));
    if (v.op == OpKind::LSTM) {
      ops.push_back(v.initial ? p(state) : fixedTensor(Tensor()));
      if (v.peepholes) ops.push_back(p({dirs, 3 * hidden}));
    }
    while (!ops.back().param && !ops.back().fixed->defined()) ops.pop_back();
    Attributes a = v.extra;
    a.set("hidden_size", hidden);
    a.set("direction", v.direction);
    if (v.batchFirst) a.set("layout", int64_t(1));
    size_t outs = v.op == OpKind::LSTM ? 3 : 2;
    std::vector<size_t> all(outs);
    for (size_t k = 0; k < outs; ++k) all[k] = k;
    cs.push_back({v.name, v.op, std::move(ops), std::move(a), outs, all});
  }
  // A sequence of length 0 in the batch keeps the initial state.
  cs.push_back({"LSTM_emptySequence", OpKind::LSTM,
                {p({seq, batch, input}), p({1, 4 * hidden, input}), p({1, 4 * hidden, hidden}), fixedTensor(Tensor()),
                 i32({0, 2}), p({1, batch, hidden}), p({1, batch, hidden})},
                attrs({{"hidden_size", hidden}}), 3, {0, 1, 2}});
}

std::vector<Case> cases() {
  std::vector<Case> cs;
  auto unary = [&](const std::string& n, OpKind k, Dist d = Dist::Any, Attributes a = {}) {
    cs.push_back({n, k, {p({2, 3}, d)}, a});
  };
  unary("Identity", OpKind::Identity);
  unary("Relu", OpKind::Relu);
  unary("Abs", OpKind::Abs);
  unary("Neg", OpKind::Neg);
  unary("Exp", OpKind::Exp);
  unary("Log", OpKind::Log, Dist::Pos);
  unary("Sqrt", OpKind::Sqrt, Dist::Pos);
  unary("Reciprocal", OpKind::Reciprocal);
  unary("Sin", OpKind::Sin);
  unary("Cos", OpKind::Cos);
  unary("Tan", OpKind::Tan, Dist::Unit);
  unary("Asin", OpKind::Asin, Dist::Unit);
  unary("Acos", OpKind::Acos, Dist::Unit);
  unary("Atan", OpKind::Atan);
  unary("Sinh", OpKind::Sinh);
  unary("Cosh", OpKind::Cosh);
  unary("Tanh", OpKind::Tanh);
  unary("Asinh", OpKind::Asinh);
  unary("Acosh", OpKind::Acosh, Dist::Gt1);
  unary("Atanh", OpKind::Atanh, Dist::Unit);
  unary("Erf", OpKind::Erf);
  unary("Sigmoid", OpKind::Sigmoid);
  unary("HardSigmoid", OpKind::HardSigmoid, Dist::Any, attrs({{"alpha", 0.3}, {"beta", 0.4}}));
  unary("HardSwish", OpKind::HardSwish, Dist::Spread);
  unary("LeakyRelu", OpKind::LeakyRelu, Dist::Any, attrs({{"alpha", 0.1}}));
  unary("Elu", OpKind::Elu, Dist::Any, attrs({{"alpha", 0.7}}));
  unary("Selu", OpKind::Selu);
  unary("Celu", OpKind::Celu, Dist::Any, attrs({{"alpha", 1.5}}));
  unary("Softplus", OpKind::Softplus);
  unary("Softsign", OpKind::Softsign);
  unary("ThresholdedRelu", OpKind::ThresholdedRelu, Dist::Any, attrs({{"alpha", 0.5}}));
  unary("Shrink", OpKind::Shrink, Dist::Spread, attrs({{"lambd", 0.1}, {"bias", 0.2}}));
  unary("Gelu", OpKind::Gelu);
  unary("GeluTanh", OpKind::Gelu, Dist::Any, attrs({{"approximate", std::string("tanh")}}));
  unary("Mish", OpKind::Mish);
  unary("Dropout", OpKind::Dropout);
  cs.push_back({"Cast", OpKind::Cast, {p({2, 3})}, attrs({{"to", std::string("f64")}})});
  cs.push_back({"Clip", OpKind::Clip, {p({2, 3}, Dist::Spread), fixedTensor(Tensor::scalar(-1.0)),
                                       fixedTensor(Tensor::scalar(1.5))}});
  for (auto [n, k] : {std::pair{"Add", OpKind::Add}, {"Sub", OpKind::Sub}, {"Mul", OpKind::Mul},
                      {"Div", OpKind::Div}}) {
    cs.push_back({std::string(n), k, {p({2, 3}), p({2, 3})}});
    cs.push_back({std::string(n) + "Broadcast", k, {p({4, 1, 3}), p({2, 1})}});
  }
  cs.push_back({"Pow", OpKind::Pow, {p({2, 3}, Dist::Pos), p({2, 3})}});
  cs.push_back({"PowBroadcast", OpKind::Pow, {p({2, 3}, Dist::Pos), p({3})}});
  cs.push_back({"PRelu", OpKind::PRelu, {p({2, 3, 2}), p({3, 1})}});
  cs.push_back({"Where", OpKind::Where,
                {fixedTensor(Tensor::fromVector<bool>({3}, {true, false, true})), p({2, 3}), p({3})}});
  cs.push_back({"Min", OpKind::Min, {p({2, 3}), p({3}), p({2, 1})}});
  cs.push_back({"Max", OpKind::Max, {p({2, 3}), p({3}), p({2, 1})}});
  cs.push_back({"Sum", OpKind::Sum, {p({2, 3}), p({3}), p({2, 1})}});
  cs.push_back({"Mean", OpKind::Mean, {p({2, 3}), p({3})}});
  // Matrix products.
  cs.push_back({"MatMul", OpKind::MatMul, {p({3, 4}), p({4, 2})}});
  cs.push_back({"MatMulBatched", OpKind::MatMul, {p({2, 3, 4}), p({4, 2})}});
  cs.push_back({"MatMulBroadcastBatch", OpKind::MatMul, {p({2, 1, 3, 4}), p({3, 4, 2})}});
  cs.push_back({"MatMulVecMat", OpKind::MatMul, {p({4}), p({2, 4, 3})}});
  cs.push_back({"MatMulMatVec", OpKind::MatMul, {p({3, 4}), p({4})}});
  cs.push_back({"MatMulVecVec", OpKind::MatMul, {p({4}), p({4})}});
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1}) {
      std::vector<int64_t> as = ta ? std::vector<int64_t>{4, 3} : std::vector<int64_t>{3, 4};
      std::vector<int64_t> bs = tb ? std::vector<int64_t>{2, 4} : std::vector<int64_t>{4, 2};
      cs.push_back({"Gemm_tA" + std::to_string(ta) + "_tB" + std::to_string(tb), OpKind::Gemm,
                    {p(as), p(bs), p({2})}, attrs({{"transA", ta}, {"transB", tb}, {"alpha", 0.7}, {"beta", 1.3}})});
    }
  cs.push_back({"GemmMatrixC", OpKind::Gemm, {p({3, 4}), p({4, 2}), p({3, 2})}});
  // Convolution.
  cs.push_back({"Conv2d", OpKind::Conv, {p({2, 3, 5, 5}), p({4, 3, 3, 3}), p({4})}});
  cs.push_back({"Conv2dStridePad", OpKind::Conv, {p({1, 2, 6, 5}), p({3, 2, 3, 2}), p({3})},
                attrs({{"strides", std::vector<int64_t>{2, 2}}, {"pads", std::vector<int64_t>{1, 0, 1, 1}}})});
  cs.push_back({"Conv2dDilation", OpKind::Conv, {p({1, 2, 7, 6}), p({2, 2, 2, 2})},
                attrs({{"dilations", std::vector<int64_t>{2, 3}}, {"pads", std::vector<int64_t>{1, 1, 0, 1}}})});
  cs.push_back({"Conv2dGroups", OpKind::Conv, {p({2, 4, 5, 4}), p({6, 2, 3, 3}), p({6})},
                attrs({{"group", int64_t(2)}, {"strides", std::vector<int64_t>{2, 1}},
                       {"pads", std::vector<int64_t>{1, 1, 1, 1}}})});
  cs.push_back({"Conv2dDepthwise", OpKind::Conv, {p({1, 3, 5, 5}), p({3, 1, 3, 3})},
                attrs({{"group", int64_t(3)}, {"dilations", std::vector<int64_t>{2, 2}}})});
  cs.push_back({"Conv1dSamePad", OpKind::Conv, {p({2, 2, 7}), p({3, 2, 3})},
                attrs({{"auto_pad", std::string("SAME_UPPER")}, {"strides", std::vector<int64_t>{2}}})});
  cs.push_back({"Conv3d", OpKind::Conv, {p({1, 2, 3, 4, 3}), p({2, 2, 2, 2, 2})}});
  // Pooling.
  cs.push_back({"MaxPool", OpKind::MaxPool, {p({2, 2, 5, 5}, Dist::Spread)},
                attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}})});
  cs.push_back({"MaxPoolPadsOverlap", OpKind::MaxPool, {p({1, 2, 5, 4}, Dist::Spread)},
                attrs({{"kernel_shape", std::vector<int64_t>{3, 3}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}}})});
  cs.push_back({"AveragePool", OpKind::AveragePool, {p({2, 2, 5, 5})},
                attrs({{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}})});
  cs.push_back({"AveragePoolPadsExcluded", OpKind::AveragePool, {p({1, 2, 5, 4})},
                attrs({{"kernel_shape", std::vector<int64_t>{3, 3}}, {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                       {"strides", std::vector<int64_t>{2, 1}}})});
  cs.push_back({"AveragePoolPadsIncluded", OpKind::AveragePool, {p({1, 2, 5, 4})},
                attrs({{"kernel_shape", std::vector<int64_t>{3, 2}}, {"pads", std::vector<int64_t>{1, 0, 1, 1}},
                       {"count_include_pad", int64_t(1)}})});
  cs.push_back({"GlobalAveragePool", OpKind::GlobalAveragePool, {p({2, 3, 4, 3})}});
  cs.push_back({"GlobalMaxPool", OpKind::GlobalMaxPool, {p({2, 3, 4, 3}, Dist::Spread)}});
  // Normalisation and softmax.
  cs.push_back({"BatchNormTraining", OpKind::BatchNormalization,
                {p({3, 2, 2, 3}), p({2}), p({2}), Operand{{2}, Dist::Any, false, std::nullopt},
                 Operand{{2}, Dist::Pos, false, std::nullopt}},
                attrs({{"training_mode", int64_t(1)}, {"epsilon", 1e-3}}), 3});
  cs.push_back({"BatchNormInference", OpKind::BatchNormalization,
                {p({3, 2, 2, 3}), p({2}), p({2}), Operand{{2}, Dist::Any, false, std::nullopt},
                 Operand{{2}, Dist::Pos, false, std::nullopt}}});
  cs.push_back({"InstanceNorm", OpKind::InstanceNormalization, {p({2, 3, 4, 3}), p({3}), p({3})},
                attrs({{"epsilon", 1e-3}})});
  cs.push_back({"LayerNorm", OpKind::LayerNormalization, {p({2, 3, 4}), p({4}), p({4})}});
  cs.push_back({"LayerNormAxis1", OpKind::LayerNormalization, {p({2, 3, 4}), p({3, 4}), p({3, 4})},
                attrs({{"axis", int64_t(1)}, {"epsilon", 1e-2}})});
  for (int64_t axis : {0, 1, -1}) {  // named axis+1 (gtest names cannot hold "-")
    cs.push_back({"Softmax_axis" + std::to_string(axis + 1), OpKind::Softmax, {p({2, 3, 4})}, attrs({{"axis", axis}})});
    cs.push_back({"LogSoftmax_axis" + std::to_string(axis + 1), OpKind::LogSoftmax, {p({2, 3, 4})},
                  attrs({{"axis", axis}})});
  }
  // Reductions.
  struct R {
    const char* name;
    OpKind k;
    Dist d;
  };
  for (R r : {R{"ReduceSum", OpKind::ReduceSum, Dist::Any}, R{"ReduceMean", OpKind::ReduceMean, Dist::Any},
              R{"ReduceMax", OpKind::ReduceMax, Dist::Spread}, R{"ReduceMin", OpKind::ReduceMin, Dist::Spread},
              R{"ReduceProd", OpKind::ReduceProd, Dist::Any}, R{"ReduceL1", OpKind::ReduceL1, Dist::Any},
              R{"ReduceL2", OpKind::ReduceL2, Dist::Any}, R{"ReduceLogSum", OpKind::ReduceLogSum, Dist::Pos},
              R{"ReduceLogSumExp", OpKind::ReduceLogSumExp, Dist::Any},
              R{"ReduceSumSquare", OpKind::ReduceSumSquare, Dist::Any}}) {
    cs.push_back({std::string(r.name) + "_axis1_keep", r.k, {p({2, 3, 4}, r.d), ints({1})}});
    cs.push_back({std::string(r.name) + "_axes02_nokeep", r.k, {p({2, 3, 4}, r.d), ints({0, -1})},
                  attrs({{"keepdims", int64_t(0)}})});
    cs.push_back({std::string(r.name) + "_all", r.k, {p({2, 3}, r.d)}, attrs({{"keepdims", int64_t(0)}})});
  }
  // Shape and data movement.
  cs.push_back({"Reshape", OpKind::Reshape, {p({2, 3, 4}), ints({4, -1})}});
  cs.push_back({"Flatten", OpKind::Flatten, {p({2, 3, 4})}, attrs({{"axis", int64_t(2)}})});
  cs.push_back({"Squeeze", OpKind::Squeeze, {p({2, 1, 3}), ints({1})}});
  cs.push_back({"Unsqueeze", OpKind::Unsqueeze, {p({2, 3}), ints({0, 3})}});
  cs.push_back({"Transpose", OpKind::Transpose, {p({2, 3, 4})}, attrs({{"perm", std::vector<int64_t>{1, 2, 0}}})});
  cs.push_back({"TransposeDefault", OpKind::Transpose, {p({2, 3, 4})}});
  cs.push_back({"Concat", OpKind::Concat, {p({2, 3}), p({2, 1}), p({2, 2})}, attrs({{"axis", int64_t(1)}})});
  cs.push_back({"Split", OpKind::Split, {p({2, 5}), ints({2, 3})}, attrs({{"axis", int64_t(1)}}), 2});
  cs.push_back({"Slice", OpKind::Slice, {p({4, 5}), ints({1, 1}), ints({3, -1})}});
  cs.push_back({"SliceAxesSteps", OpKind::Slice, {p({4, 6}), ints({0, 1}), ints({4, 6}), ints({0, 1}), ints({2, 2})}});
  cs.push_back({"SliceNegativeStep", OpKind::Slice, {p({5, 3}), ints({-1}), ints({-10}), ints({0}), ints({-2})}});
  cs.push_back({"Pad", OpKind::Pad, {p({2, 3}), ints({1, 0, 2, 1})}});
  cs.push_back({"Tile", OpKind::Tile, {p({2, 3}), ints({2, 3})}});
  cs.push_back({"CumSum", OpKind::CumSum, {p({3, 4}), fixedTensor(Tensor::scalar<int64_t>(1))}});
  cs.push_back({"CumSumExclusiveReverse", OpKind::CumSum, {p({3, 4}), fixedTensor(Tensor::scalar<int64_t>(0))},
                attrs({{"exclusive", int64_t(1)}, {"reverse", int64_t(1)}})});
  cs.push_back({"TriluLower", OpKind::Trilu, {p({2, 3, 4}), fixedTensor(Tensor::scalar<int64_t>(1))},
                attrs({{"upper", int64_t(0)}})});
  cs.push_back({"TriluUpper", OpKind::Trilu, {p({4, 3})}});
  cs.push_back({"Expand", OpKind::Expand, {p({3, 1}), ints({2, 3, 4})}});
  cs.push_back({"Gather_axis0", OpKind::Gather, {p({4, 3}), fixedTensor(i64({2, 2}, {0, 3, -1, 0}))}});
  cs.push_back({"Gather_axis1", OpKind::Gather, {p({2, 4, 3}), fixedTensor(i64({3}, {1, 1, 3}))},
                attrs({{"axis", int64_t(1)}})});
  cs.push_back({"GatherElements", OpKind::GatherElements, {p({3, 4}), fixedTensor(i64({2, 4}, {0, 2, 1, 0, 2, 2, 0, 1}))}});
  addRecurrentCases(cs);
  return cs;
}

class GradCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradCheck, MatchesCentralDifferences) { runGradCheck(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Rules, GradCheck, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// Every op with a gradient rule is checked above.
TEST(GradCheckCoverage, EveryRuleHasACase) {
  std::set<OpKind> covered;
  for (const Case& c : cases()) covered.insert(c.op);
  for (size_t i = 0; i < kNumOps; ++i) {
    OpKind k = OpKind(i);
    if (opDef(k).grad || opDef(k).decompose) {
      EXPECT_TRUE(covered.count(k)) << opName(k) << " has a gradient rule but no gradient check";
    }
  }
}

// The differentiable trait and the presence of a rule (or a decomposition) agree.
TEST(GradRules, TraitMatchesRule) {
  for (size_t i = 0; i < kNumOps; ++i) {
    const OpDef& d = opDef(OpKind(i));
    EXPECT_EQ(d.has(kDifferentiable), d.grad != nullptr || d.decompose != nullptr) << d.name;
    EXPECT_FALSE(d.grad && d.decompose) << d.name << " has both a rule and a decomposition";
  }
}

}  // namespace
}  // namespace dlc::ir
