// The autodiff pass (passes/autodiff), losses (passes/losses) and optimizer
// updates (passes/optimizers): structure of the training graph, PyTorch
// reference values (tests/unit/autodiff_torch_reference.py), a small MLP
// whose loss goes down, and one test per user error.
#include <gtest/gtest.h>

#include "ir/builder.h"
#include "ir/interpreter.h"
#include "passes/autodiff.h"
#include "passes/losses.h"
#include "support/error.h"

namespace dlc::passes {
namespace {

using ir::DType;
using ir::GraphBuilder;
using ir::OpKind;
using ir::Tensor;
using ir::Value;

Tensor f64(std::vector<int64_t> shape, std::vector<double> v) { return Tensor::fromVector<double>(shape, v); }

// loss = sum(c * w * w) with w a constant parameter.
ir::Graph quadratic() {
  GraphBuilder b("quadratic");
  Value* w = b.constant("w", f64({3}, {0.5, -1.25, 2.0}));
  Value* c = b.constant("c", f64({3}, {1.0, 2.0, -0.5}));
  ir::Attributes keep0;
  keep0.set("keepdims", int64_t(0));
  b.output(b.op(OpKind::ReduceSum, {b.mul(c, b.mul(w, w))}, keep0, "loss"));
  return b.finish();
}

// Runs `steps` updates, carrying parameters and state; returns the final w.
std::vector<double> train(const TrainingGraph& tg, int steps) {
  ir::NamedTensors feeds;
  for (const CarriedValue& cv : tg.carried) feeds[cv.input] = cv.initial;
  for (int s = 1; s <= steps; ++s) {
    if (!tg.stepInput.empty()) feeds[tg.stepInput] = Tensor::scalar<int64_t>(s);
    std::vector<Tensor> out = ir::interpret(tg.graph, feeds);
    for (const CarriedValue& cv : tg.carried)
      for (size_t i = 0; i < tg.graph.outputs().size(); ++i)
        if (tg.graph.outputs()[i]->name() == cv.next) feeds[cv.input] = out[i];
  }
  std::vector<double> w;
  for (int64_t i = 0; i < feeds.at("w").numel(); ++i) w.push_back(feeds.at("w").getDouble(i));
  return w;
}

void expectNear(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
}

TEST(Autodiff, GradientOfQuadraticAndInterface) {
  TrainingGraph tg = buildTrainingGraph(quadratic(), "loss", {"w"});
  ASSERT_EQ(tg.graph.outputs().size(), 2u);
  EXPECT_EQ(tg.graph.outputs()[0]->name(), "loss");
  EXPECT_EQ(tg.graph.outputs()[1]->name(), "w.grad");
  EXPECT_EQ(tg.gradients, std::vector<std::string>{"w.grad"});
  ASSERT_EQ(tg.graph.inputs().size(), 1u);  // the constant became an input
  EXPECT_EQ(tg.graph.inputs()[0]->name(), "w");
  std::vector<Tensor> out = ir::interpret(tg.graph, {{"w", f64({3}, {0.5, -1.25, 2.0})}});
  EXPECT_DOUBLE_EQ(out[0].getDouble(0), 0.25 + 2 * 1.5625 - 0.5 * 4);
  // d/dw sum(c w^2) = 2 c w (w used twice: the two gradients are added)
  expectNear({out[1].getDouble(0), out[1].getDouble(1), out[1].getDouble(2)}, {1.0, -5.0, -2.0});
}

TEST(Autodiff, OnlyNeededNodesAreDifferentiated) {
  // A branch that does not reach the loss and a constant-only branch add no
  // backward nodes: the training graph's node count is forward + backward
  // of the path only.
  GraphBuilder b("branches");
  Value* x = b.input("x", ir::TensorType(DType::F64, ir::Shape{2}));
  Value* w = b.constant("w", f64({2}, {1, 2}));
  Value* unused = b.op(OpKind::Exp, {w}, {}, "unused");
  b.output(unused);
  Value* k = b.op(OpKind::Sin, {x}, {}, "data_only");
  ir::Attributes keep0;
  keep0.set("keepdims", int64_t(0));
  Value* loss = b.op(OpKind::ReduceSum, {b.mul(k, w)}, keep0, "loss");
  b.output(loss);
  TrainingGraph tg = buildTrainingGraph(b.finish(), "loss", {"w"});
  for (const ir::Node* n : tg.graph.nodes()) {
    EXPECT_NE(n->name(), "unused");
    EXPECT_TRUE(n->name().rfind("data_only.grad", 0) != 0) << n->name();
  }
  std::vector<Tensor> out = ir::interpret(tg.graph, {{"x", f64({2}, {0.3, 0.4})}, {"w", f64({2}, {1, 2})}});
  EXPECT_NEAR(out[1].getDouble(0), std::sin(0.3), 1e-15);
}

struct OptCase {
  const char* name;
  OptimizerSpec spec;
  std::vector<double> torch;  // w after three steps (autodiff_torch_reference.py)
};

TEST(Optimizers, MatchPyTorchOverThreeSteps) {
  std::vector<OptCase> cases = {
      {"sgd", OptimizerSpec::sgd(0.1), {0.25600000000000001, -0.26999999999999996, 2.6620000000000004}},
      {"sgd_momentum_wd", OptimizerSpec::sgd(0.1, 0.9, false, 0.01),
       {0.029097099499999991, 0.67780800125000007, 3.2068101980000003}},
      {"sgd_nesterov", OptimizerSpec::sgd(0.1, 0.9, true, 0.01),
       {-0.055825547129500067, 0.54188156207375004, 3.8796371776819996}},
      {"adam", OptimizerSpec::adam(0.1, 0.9, 0.999, 1e-8, 0.1),
       {0.20487125240891141, -0.95115544908990601, 2.3003523944062985}},
      {"adamw", OptimizerSpec::adamW(0.1, 0.9, 0.999, 1e-8, 0.1),
       {0.19341560428094734, -0.91721616764692437, 2.2379070740566029}},
  };
  for (const OptCase& c : cases) {
    SCOPED_TRACE(c.name);
    TrainingGraph tg = buildTrainingGraph(quadratic(), "loss", {"w"}, &c.spec);
    expectNear(train(tg, 3), c.torch);
  }
}

TEST(Optimizers, AdamInterfaceNamesStateAndStep) {
  OptimizerSpec adam = OptimizerSpec::adam(0.01);
  TrainingGraph tg = buildTrainingGraph(quadratic(), "loss", {"w"}, &adam);
  std::vector<std::string> outs;
  for (const Value* v : tg.graph.outputs()) outs.push_back(v->name());
  EXPECT_EQ(outs, (std::vector<std::string>{"loss", "w.grad", "w.next", "w.m.next", "w.v.next"}));
  EXPECT_EQ(tg.stepInput, "optimizer.step");
  ASSERT_EQ(tg.carried.size(), 3u);
  EXPECT_EQ(tg.carried[0].input, "w");
  EXPECT_EQ(tg.carried[0].initial.getDouble(2), 2.0);
  EXPECT_EQ(tg.carried[1].input, "w.m");
  EXPECT_EQ(tg.carried[2].next, "w.v.next");
  // The update is elementwise only (one fused kernel per parameter).
  for (const ir::Node* n : tg.graph.nodes())
    if (n->name().rfind("w.update", 0) == 0) {
      EXPECT_TRUE(n->def().has(ir::kElementwise)) << n->describe();
    }
}

TEST(Optimizers, InvalidHyperparameters) {
  OptimizerSpec bad = OptimizerSpec::sgd(0.1, 0.0, /*nesterov=*/true);
  EXPECT_THROW(buildTrainingGraph(quadratic(), "loss", {"w"}, &bad), UserError);
  OptimizerSpec beta = OptimizerSpec::adam(0.1, 1.0);
  EXPECT_THROW(buildTrainingGraph(quadratic(), "loss", {"w"}, &beta), UserError);
}

// Losses on fixed values against PyTorch (autodiff_torch_reference.py).
double evalLoss(const std::function<Value*(GraphBuilder&, Value*, Value*)>& make, bool indexLabels) {
  GraphBuilder b("loss");
  Value* logits = b.constant("logits", f64({2, 3}, {1.0, -0.5, 2.0, 0.3, 0.2, -1.0}));
  Value* t = indexLabels ? b.constant("labels", Tensor::fromVector<int64_t>({2}, {2, 0}))
                         : b.constant("target", f64({2, 3}, {0.0, 1.0, 1.0, 1.0, 0.0, 0.5}));
  b.output(make(b, logits, t));
  return ir::interpret(b.finish(), {})[0].getDouble(0);
}

TEST(Losses, MatchPyTorch) {
  EXPECT_NEAR(evalLoss([](GraphBuilder& b, Value* x, Value* t) { return softmaxCrossEntropy(b, x, t); }, true),
              0.57482819799538132, 1e-14);
  EXPECT_NEAR(evalLoss([](GraphBuilder& b, Value* x, Value* t) {
                return softmaxCrossEntropy(b, x, t, LossReduction::Sum);
              }, true),
              1.1496563959907626, 1e-14);
  EXPECT_NEAR(evalLoss([](GraphBuilder& b, Value* x, Value* t) { return meanSquaredError(b, x, t); }, false),
              1.1716666666666666, 1e-14);
  EXPECT_NEAR(evalLoss([](GraphBuilder& b, Value* x, Value* t) { return binaryCrossEntropyWithLogits(b, x, t); },
                       false),
              0.76333708068494055, 1e-14);
  EXPECT_NEAR(evalLoss([](GraphBuilder& b, Value* x, Value* t) {
                return binaryCrossEntropyWithLogits(b, x, t, LossReduction::Sum);
              }, false),
              4.5800224841096435, 1e-14);
}

// Gradient of each loss w.r.t. the logits against central differences.
TEST(Losses, GradientsMatchFiniteDifferences) {
  using Make = std::function<Value*(GraphBuilder&, Value*, Value*)>;
  std::vector<std::pair<Make, bool>> losses = {
      {[](GraphBuilder& b, Value* x, Value* t) { return softmaxCrossEntropy(b, x, t); }, true},
      {[](GraphBuilder& b, Value* x, Value* t) { return meanSquaredError(b, x, t, LossReduction::Sum); }, false},
      {[](GraphBuilder& b, Value* x, Value* t) { return binaryCrossEntropyWithLogits(b, x, t); }, false},
  };
  std::vector<double> x0 = {1.0, -0.5, 2.0, 0.3, 0.2, -1.0};
  for (auto& [make, indexLabels] : losses) {
    auto build = [&]() {
      GraphBuilder b("loss");
      Value* x = b.input("x", ir::TensorType(DType::F64, ir::Shape{2, 3}));
      Value* t = indexLabels ? b.constant("labels", Tensor::fromVector<int64_t>({2}, {2, 0}))
                             : b.constant("target", f64({2, 3}, {0.0, 1.0, 1.0, 1.0, 0.0, 0.5}));
      Value* l = make(b, x, t);
      b.output(l);
      return b.finish();
    };
    ir::Graph fwd = build();
    TrainingGraph tg = buildTrainingGraph(fwd, fwd.outputs()[0]->name(), {"x"});
    Tensor grad = ir::interpret(tg.graph, {{"x", f64({2, 3}, x0)}})[1];
    for (int64_t i = 0; i < 6; ++i) {
      std::vector<double> up = x0, down = x0;
      up[size_t(i)] += 1e-6;
      down[size_t(i)] -= 1e-6;
      double num = (ir::interpret(fwd, {{"x", f64({2, 3}, up)}})[0].getDouble(0) -
                    ir::interpret(fwd, {{"x", f64({2, 3}, down)}})[0].getDouble(0)) /
                   2e-6;
      EXPECT_NEAR(grad.getDouble(i), num, 1e-7) << i;
    }
  }
}

// A 2-layer MLP (Gemm, Relu, MatMul, Add) on a fixed 3-class problem, with
// softmax cross-entropy and SGD with momentum: the loss goes down.
TEST(Autodiff, MlpTrainingLossGoesDown) {
  GraphBuilder b("mlp");
  std::vector<float> xs, w1, w2;
  std::vector<int64_t> labels;
  for (int i = 0; i < 12; ++i) {
    float a = float(i % 4) - 1.5f, c = float(i / 4) - 1.0f;
    xs.insert(xs.end(), {a, c, a * c * 0.5f, 1.0f});
    labels.push_back(a + c > 0.5f ? 0 : a > c ? 1 : 2);
  }
  for (int i = 0; i < 4 * 8; ++i) w1.push_back(0.3f * std::sin(1.7f * float(i) + 0.3f));
  for (int i = 0; i < 8 * 3; ++i) w2.push_back(0.3f * std::cos(2.3f * float(i) + 0.1f));
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{12, 4}));
  Value* l = b.input("labels", ir::TensorType(DType::I64, ir::Shape{12}));
  Value* h = b.op(OpKind::Relu, {b.op(OpKind::Gemm, {x, b.constant("w1", Tensor::fromVector<float>({4, 8}, w1)),
                                                       b.constant("b1", Tensor(DType::F32, {8}))})});
  Value* logits = b.add(b.op(OpKind::MatMul, {h, b.constant("w2", Tensor::fromVector<float>({8, 3}, w2))}),
                        b.constant("b2", Tensor(DType::F32, {3})));
  Value* loss = softmaxCrossEntropy(b, logits, l);
  b.output(loss);
  ir::Graph fwd = b.finish();
  OptimizerSpec sgd = OptimizerSpec::sgd(0.2, 0.9);
  TrainingGraph tg = buildTrainingGraph(fwd, loss->name(), {"w1", "b1", "w2", "b2"}, &sgd);
  ir::NamedTensors feeds{{"x", Tensor::fromVector<float>({12, 4}, xs)},
                         {"labels", Tensor::fromVector<int64_t>({12}, labels)}};
  for (const CarriedValue& cv : tg.carried) feeds[cv.input] = cv.initial;
  std::vector<double> losses;
  for (int step = 0; step < 30; ++step) {
    std::vector<Tensor> out = ir::interpret(tg.graph, feeds);
    losses.push_back(out[0].getDouble(0));
    for (const CarriedValue& cv : tg.carried)
      for (size_t i = 0; i < tg.graph.outputs().size(); ++i)
        if (tg.graph.outputs()[i]->name() == cv.next) feeds[cv.input] = out[i];
  }
  EXPECT_LT(losses.back(), 0.5 * losses.front()) << "first " << losses.front() << " last " << losses.back();
  EXPECT_LT(losses[5], losses[0]);
}

// ---- errors, one per mistake ----

void expectError(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    FAIL() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(AutodiffErrors, UnknownLoss) {
  expectError([] { buildTrainingGraph(quadratic(), "nope", {"w"}); }, "no value named 'nope'");
}

TEST(AutodiffErrors, UnknownParameter) {
  expectError([] { buildTrainingGraph(quadratic(), "loss", {"v"}); }, "no parameter named 'v'");
}

TEST(AutodiffErrors, ParameterListedTwice) {
  expectError([] { buildTrainingGraph(quadratic(), "loss", {"w", "w"}); }, "listed twice");
}

TEST(AutodiffErrors, NonScalarLoss) {
  GraphBuilder b("g");
  Value* w = b.constant("w", f64({3}, {1, 2, 3}));
  b.output(b.op(OpKind::Exp, {w}, {}, "vec"));
  ir::Graph g = b.finish();
  expectError([&] { buildTrainingGraph(g, g.outputs()[0]->name(), {"w"}); }, "must be a float scalar");
}

TEST(AutodiffErrors, ParameterDoesNotAffectLoss) {
  GraphBuilder b("g");
  Value* w = b.constant("w", f64({3}, {1, 2, 3}));
  Value* other = b.constant("other", f64({}, {2}));
  b.output(b.op(OpKind::Exp, {w}));
  b.output(b.op(OpKind::Exp, {other}, {}, "loss"));
  ir::Graph g = b.finish();
  expectError([&] { buildTrainingGraph(g, "loss", {"w"}); }, "does not affect the loss");
}

TEST(AutodiffErrors, PathThroughIntegersIsBlocked) {
  // loss = Cast(ArgMax(w)) * 1.0: w reaches the loss only through integers.
  GraphBuilder b("g");
  Value* w = b.constant("w", f64({3}, {1, 2, 3}));
  ir::Attributes keep0;
  keep0.set("keepdims", int64_t(0));
  Value* am = b.op(OpKind::ArgMax, {w}, keep0, "argmax");
  ir::Attributes to;
  to.set("to", std::string("f64"));
  b.output(b.op(OpKind::Cast, {am}, to, "loss"));
  ir::Graph g = b.finish();
  expectError([&] { buildTrainingGraph(g, "loss", {"w"}); }, "node 'argmax' (ArgMax)");
}

TEST(AutodiffErrors, OpWithoutRuleOnPath) {
  GraphBuilder b("g");
  Value* w = b.constant("w", f64({2, 2}, {1, 2, 3, 4}));
  Value* d = b.op(OpKind::Det, {w}, {}, "det");
  b.output(d);
  ir::Graph g = b.finish();
  expectError([&] { buildTrainingGraph(g, d->name(), {"w"}); }, "node 'det' (Det)");
}

TEST(AutodiffErrors, ParameterComputedByNode) {
  GraphBuilder b("g");
  Value* w = b.constant("w", f64({3}, {1, 2, 3}));
  Value* e = b.op(OpKind::Exp, {w}, {}, "e");
  ir::Attributes keep0;
  keep0.set("keepdims", int64_t(0));
  b.output(b.op(OpKind::ReduceSum, {e}, keep0, "loss"));
  ir::Graph g = b.finish();
  expectError([&] { buildTrainingGraph(g, "loss", {e->name()}); }, "must be a graph input or a constant");
}

TEST(AutodiffErrors, IntegerParameter) {
  GraphBuilder b("g");
  Value* w = b.constant("w", Tensor::fromVector<int64_t>({2}, {1, 2}));
  ir::Attributes to;
  to.set("to", std::string("f64"));
  ir::Attributes keep0;
  keep0.set("keepdims", int64_t(0));
  b.output(b.op(OpKind::ReduceSum, {b.op(OpKind::Cast, {w}, to)}, keep0, "loss"));
  ir::Graph g = b.finish();
  expectError([&] { buildTrainingGraph(g, "loss", {"w"}); }, "only float tensors can be trained");
}

}  // namespace
}  // namespace dlc::passes
