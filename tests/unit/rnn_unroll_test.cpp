// RNN, GRU and LSTM through autodiff: their decomposition (the op unrolled
// over the sequence into primitive ops, OpDef::decompose) computes what the
// reference kernel computes, for each attribute; autodiff expands only the
// recurrent nodes on a parameter's path; and a 2-layer LSTM exported from
// PyTorch (tests/models/lstm_tiny) trains on the CPU backend.
#include <gtest/gtest.h>

#include <random>

#include "dlc/training.h"
#include "frontend/onnx/importer.h"
#include "ir/builder.h"
#include "ir/interpreter.h"
#include "ir/tensor_compare.h"
#include "passes/autodiff.h"
#include "tests/unit/op_test_util.h"

namespace dlc::ir {
namespace {

using testing::attrs;

struct Variant {
  std::string name;
  OpKind op;
  Attributes a;
  bool bias = true, lens = false, initial = true, peepholes = false;
  DType dtype = DType::F64;
};

Tensor random(std::mt19937& rng, DType t, std::vector<int64_t> shape) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Tensor x(t, std::move(shape));
  for (int64_t i = 0; i < x.numel(); ++i) x.setDouble(i, u(rng));
  return x;
}

// A graph with the node and its decomposition side by side: outputs are the
// node's results, then the decomposition's.
Graph sideBySide(const Variant& v, size_t& numResults) {
  const int64_t seq = 4, batch = 3, input = 5, hidden = 3;
  std::mt19937 rng(7);
  std::string dir = v.a.has("direction") ? std::get<std::string>(*v.a.find("direction")) : "forward";
  bool batchFirst = v.a.has("layout") && std::get<int64_t>(*v.a.find("layout")) != 0;
  int64_t dirs = dir == "bidirectional" ? 2 : 1;
  int64_t gates = v.op == OpKind::RNN ? 1 : v.op == OpKind::GRU ? 3 : 4;
  std::vector<int64_t> state = batchFirst ? std::vector<int64_t>{batch, dirs, hidden}
                                          : std::vector<int64_t>{dirs, batch, hidden};
  GraphBuilder b("unroll");
  auto k = [&](std::vector<int64_t> shape) { return b.constant("k", random(rng, v.dtype, std::move(shape))); };
  std::vector<Value*> ops = {
      k(batchFirst ? std::vector<int64_t>{batch, seq, input} : std::vector<int64_t>{seq, batch, input}),
      k({dirs, gates * hidden, input}), k({dirs, gates * hidden, hidden}),
      v.bias ? k({dirs, 2 * gates * hidden}) : nullptr,
      v.lens ? b.constant("lens", Tensor::fromVector<int32_t>({batch}, {4, 1, 0})) : nullptr,
      v.initial ? k(state) : nullptr};
  if (v.op == OpKind::LSTM) {
    ops.push_back(v.initial ? k(state) : nullptr);
    ops.push_back(v.peepholes ? k({dirs, 3 * hidden}) : nullptr);
  }
  Attributes a = v.a;
  a.set("hidden_size", hidden);
  numResults = v.op == OpKind::LSTM ? 3 : 2;
  std::vector<Value*> outs = b.opN(v.op, ops, numResults, a, "rnn");
  std::vector<Value*> unrolled = opDef(v.op).decompose(*outs[0]->producer(), b);
  EXPECT_EQ(unrolled.size(), numResults);
  for (Value* o : outs) b.output(o);
  for (Value* o : unrolled) b.output(o);
  return b.finish();
}

class Unroll : public ::testing::TestWithParam<Variant> {};

TEST_P(Unroll, MatchesTheReferenceKernel) {
  const Variant& v = GetParam();
  size_t n = 0;
  Graph g = sideBySide(v, n);
  std::vector<Tensor> out = interpret(g, {});
  ASSERT_EQ(out.size(), 2 * n);
  Tolerance tol = v.dtype == DType::F64 ? Tolerance{1e-12, 1e-12} : Tolerance{1e-5, 1e-6};
  for (size_t i = 0; i < n; ++i) {
    std::optional<std::string> diff = compareTensors(out[n + i], out[i], tol);
    EXPECT_FALSE(diff) << v.name << " result " << i << ": " << *diff;
  }
}

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

using S = std::vector<std::string>;
using F = std::vector<double>;
const Variant kVariants[] = {
    {"RNN_default", OpKind::RNN, {}},
    {"RNN_reverse_relu_noBias", OpKind::RNN, attrs({{"direction", std::string("reverse")}, {"activations", S{"Relu"}}}),
     false},
    {"RNN_bidirectional_lens_batchFirst", OpKind::RNN,
     attrs({{"direction", std::string("bidirectional")}, {"layout", int64_t(1)},
            {"activations", S{"Affine", "LeakyRelu"}}, {"activation_alpha", F{0.5, 0.2}}, {"activation_beta", F{0.1}}}),
     true, true},
    {"RNN_clip_thresholdedRelu_noInitial", OpKind::RNN,
     attrs({{"clip", 0.5}, {"activations", S{"ThresholdedRelu"}}, {"activation_alpha", F{0.1}}}), true, false, false},
    {"GRU_default", OpKind::GRU, {}},
    {"GRU_linearBeforeReset_bidirectional", OpKind::GRU,
     attrs({{"linear_before_reset", int64_t(1)}, {"direction", std::string("bidirectional")}})},
    {"GRU_reverse_lens_batchFirst_f32", OpKind::GRU,
     attrs({{"direction", std::string("reverse")}, {"layout", int64_t(1)}}), true, true, true, false, DType::F32},
    {"GRU_activations_clip_noBias", OpKind::GRU,
     attrs({{"activations", S{"HardSigmoid", "Softplus"}}, {"clip", 0.7}}), false},
    {"LSTM_default", OpKind::LSTM, {}},
    {"LSTM_peepholes_lens", OpKind::LSTM, {}, true, true, true, true},
    {"LSTM_bidirectional_batchFirst_peepholes", OpKind::LSTM,
     attrs({{"direction", std::string("bidirectional")}, {"layout", int64_t(1)}}), true, false, true, true},
    {"LSTM_reverse_inputForget_clip_noInitial", OpKind::LSTM,
     attrs({{"direction", std::string("reverse")}, {"input_forget", int64_t(1)}, {"clip", 0.6}}), true, true, false},
    {"LSTM_activations_perDirection", OpKind::LSTM,
     attrs({{"direction", std::string("bidirectional")},
            {"activations", S{"Sigmoid", "Tanh", "Tanh", "HardSigmoid", "ScaledTanh", "Elu"}},
            {"activation_alpha", F{0.3, 1.1, 0.8}}, {"activation_beta", F{0.4, 0.9}}}),
     false, true, true, true, DType::F32},
};

INSTANTIATE_TEST_SUITE_P(Recurrent, Unroll, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant>& info) { return info.param.name; });

// Only the recurrent nodes between a parameter and the loss are unrolled.
TEST(UnrollInAutodiff, ExpandsOnlyNodesOnAParametersPath) {
  std::mt19937 rng(3);
  GraphBuilder b("two_lstms");
  Value* x = b.input("x", TensorType(DType::F32, Shape{2, 1, 3}));
  Attributes a = attrs({{"hidden_size", int64_t(2)}});
  auto lstm = [&](Value* in, const std::string& name, bool trainedW) {
    int64_t inputSize = in->type().shape->extents()[2];
    Value* w = trainedW ? b.input(name + ".w", TensorType(DType::F32, Shape{1, 8, inputSize}))
                        : b.constant(name + ".w", random(rng, DType::F32, {1, 8, inputSize}));
    Value* r = b.constant(name + ".r", random(rng, DType::F32, {1, 8, 2}));
    return b.opN(OpKind::LSTM, {in, w, r}, 1, a, name)[0];
  };
  Value* frozen = lstm(x, "frozen", false);  // reads no parameter: stays one node
  Value* trained = lstm(b.op(OpKind::Squeeze, {frozen, b.ints({1})}), "trained", false);  // trained.r is one
  Value* y = lstm(x, "y", true);
  Value* loss = b.op(OpKind::ReduceSum, {b.add(b.op(OpKind::ReduceSum, {y}, attrs({{"keepdims", int64_t(0)}})),
                                               b.op(OpKind::ReduceSum, {trained}, attrs({{"keepdims", int64_t(0)}})))},
                     attrs({{"keepdims", int64_t(0)}}), "loss");
  b.output(loss);
  Graph g = b.finish();
  passes::TrainingGraph tg = passes::buildTrainingGraph(g, "loss", {"y.w", "trained.r"});
  std::vector<std::string> lstms;
  for (const Node* n : tg.graph.nodes())
    if (n->op() == OpKind::LSTM) lstms.push_back(n->name());
  EXPECT_EQ(lstms, std::vector<std::string>{"frozen"});
}

// A decomposition that cannot be built (symbolic sequence length) names the node.
TEST(UnrollInAutodiff, SymbolicSequenceIsAUserError) {
  GraphBuilder b("symbolic");
  Value* x = b.input("x", TensorType(DType::F32, Shape({Dim::symbol("T"), Dim(1), Dim(3)})));
  Value* w = b.input("w", TensorType(DType::F32, Shape{1, 2, 3}));
  Value* r = b.constant("r", Tensor(DType::F32, {1, 2, 2}));
  Value* y = b.opN(OpKind::RNN, {x, w, r}, 2, attrs({{"hidden_size", int64_t(2)}}), "rnn")[1];
  b.output(b.op(OpKind::ReduceSum, {y}, attrs({{"keepdims", int64_t(0)}}), "loss"));
  Graph g = b.finish();
  try {
    passes::buildTrainingGraph(g, "loss", {"w"});
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("'rnn'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("needs static shapes of X, W, R, B and P; operand 0 ('x') is f32[T,1,3]"),
              std::string::npos)
        << e.what();
  }
}

// tests/models/lstm_tiny (2-layer LSTM + Gemm, exported from PyTorch) with an
// MSE loss on its logits: the training graph compiles for the CPU, the first
// step's loss equals the reference interpreter's, and the loss falls.
TEST(UnrollTraining, LstmTinyTrainsOnCpu) {
  std::string path = std::string(DLC_TEST_MODELS_DIR) + "/lstm_tiny/model.onnx";
  std::mt19937 rng(11);
  Tensor x = random(rng, DType::F32, {3, 10, 8});
  Tensor target = random(rng, DType::F32, {3, 4});
  TrainerOptions o;
  o.loss = LossSpec::meanSquaredError("logits", "target");
  o.optimizer = passes::OptimizerSpec::adam(1e-2);
  o.threads = 2;
  Trainer cpu = Trainer::fromOnnx(path, o);
  o.target = "ref";
  Trainer ref = Trainer::fromOnnx(path, o);
  NamedTensors batch{{"input", x}, {"target", target}};
  float first = cpu.step(batch);
  EXPECT_NEAR(first, ref.step(batch), 1e-5 * std::max(1.0f, first));
  float last = first;
  for (int i = 0; i < 9; ++i) last = cpu.step(batch);
  EXPECT_LT(last, 0.5f * first) << "first " << first << ", tenth " << last;
}

}  // namespace
}  // namespace dlc::ir
