// The public training API (api/include/dlc/training.h): steps lower the loss
// on cpu and ref alike, parameters read and write, the trained model exports
// to ONNX and re-imports with the same outputs, and misuse is a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "dlc/training.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/builder.h"
#include "ir/tensor_compare.h"

namespace dlc {
namespace {

using ir::DType;
using ir::OpKind;
using ir::Value;

Tensor wave(std::vector<int64_t> shape, float scale, float freq) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, scale * std::sin(freq * float(i) + 0.4f));
  return t;
}

// x[6,4] (training graphs need static shapes) -> Gemm(8) -> Relu -> MatMul(3) + b -> logits
ir::Graph mlp() {
  ir::GraphBuilder b("mlp");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{6, 4}));
  ir::Attributes gemm;
  gemm.set("transB", int64_t(1));
  Value* h = b.op(OpKind::Gemm, {x, b.constant("fc1.w", wave({8, 4}, 0.5f, 0.9f)),
                                 b.constant("fc1.b", Tensor(DType::F32, {8}))}, gemm);
  h = b.op(OpKind::Relu, {h});
  Value* logits = b.add(b.op(OpKind::MatMul, {h, b.constant("fc2.w", wave({8, 3}, 0.5f, 1.7f))}),
                        b.constant("fc2.b", Tensor(DType::F32, {3})));
  b.output(logits);
  return b.finish();
}

NamedTensors batch() {
  return {{"x", wave({6, 4}, 1.0f, 0.37f)},
          {"labels", Tensor::fromVector<int64_t>({6}, {0, 1, 2, 1, 0, 2})}};
}

TrainerOptions options(const std::string& target) {
  TrainerOptions o;
  o.loss = LossSpec::crossEntropy(mlp().outputs()[0]->name(), "labels");
  o.optimizer = passes::OptimizerSpec::adam(0.05);
  o.target = target;
  o.threads = 2;
  return o;
}

TEST(TrainingApi, CpuMatchesRefAndLowersTheLoss) {
  Trainer cpu(mlp(), options("cpu"));
  Trainer ref(mlp(), options("ref"));
  std::vector<std::string> params = cpu.parameterNames();
  std::sort(params.begin(), params.end());
  EXPECT_EQ(params, (std::vector<std::string>{"fc1.b", "fc1.w", "fc2.b", "fc2.w"}));
  std::vector<float> losses;
  for (int i = 0; i < 30; ++i) {
    float a = cpu.step(batch()), b = ref.step(batch());
    EXPECT_NEAR(a, b, 1e-4 * std::abs(b) + 1e-6) << "step " << i;
    losses.push_back(a);
  }
  EXPECT_EQ(cpu.stepsTaken(), 30);
  EXPECT_LT(losses.back(), 0.3f * losses.front());
  auto diff = ir::compareTensors(cpu.parameter("fc1.w"), ref.parameter("fc1.w"), ir::Tolerance{1e-4, 1e-5});
  EXPECT_FALSE(diff.has_value()) << *diff;
}

// Every parameter and Adam state tensor is updated in its own buffer by the
// fused update kernel (no fresh buffer, no copy); the results are those of
// the interpreter (CpuMatchesRefAndLowersTheLoss), and a parameter read
// before a step keeps its value (parameter() copies).
TEST(TrainingApi, CpuUpdatesParametersAndStateInPlace) {
  for (auto optimizer : {passes::OptimizerSpec::adam(0.05), passes::OptimizerSpec::sgd(0.1, 0.9, true, 1e-3)}) {
    TrainerOptions o = options("cpu");
    o.optimizer = optimizer;
    Trainer t(mlp(), o);
    Tensor before = t.parameter("fc1.w");
    t.step(batch());
    std::string plan = t.describe();
    EXPECT_EQ(plan.find("copied (not in place)"), std::string::npos) << plan;
    size_t inPlace = 0;
    for (size_t at = plan.find("in place: "); at != std::string::npos; at = plan.find("in place: ", at + 1)) ++inPlace;
    EXPECT_EQ(inPlace, optimizer.kind == passes::OptimizerSpec::Kind::Adam ? 12u : 8u) << plan;
    EXPECT_FALSE(ir::compareTensors(before, mlp().findValue("fc1.w")->constant(), ir::Tolerance{0, 0}).has_value());
    EXPECT_TRUE(ir::compareTensors(before, t.parameter("fc1.w"), ir::Tolerance{0, 0}).has_value());
  }
}

TEST(TrainingApi, SetParameterIsUsedByTheNextStepAndPredict) {
  Trainer t(mlp(), options("cpu"));
  Tensor zero(DType::F32, {8, 3});
  t.setParameter("fc2.w", zero);
  Tensor bias = Tensor::fromVector<float>({3}, {1.f, 2.f, 3.f});
  t.setParameter("fc2.b", bias);
  std::vector<Tensor> out = t.predict({{"x", wave({6, 4}, 1.0f, 0.3f)}});
  ASSERT_EQ(out.size(), 1u);
  for (int64_t i = 0; i < 18; ++i) EXPECT_FLOAT_EQ(out[0].getDouble(i), 1.0 + double(i % 3));
  // Uniform-free logits: loss of constant logits (1,2,3) is deterministic.
  float loss = t.step(batch());
  double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(loss, lse - (1 + 2 + 3 + 2 + 1 + 3) / 6.0, 1e-5);
}

TEST(TrainingApi, ExportedModelReimportsWithTheSameOutputs) {
  Trainer t(mlp(), options("cpu"));
  for (int i = 0; i < 5; ++i) t.step(batch());
  std::string path = (std::filesystem::temp_directory_path() / "dlc_training_api_test.onnx").string();
  t.exportOnnx(path);
  frontend::onnx::ImportedModel m = frontend::onnx::importOnnxFile(path);
  std::filesystem::remove(path);
  NamedTensors in{{"x", wave({6, 4}, 1.0f, 0.8f)}};
  std::vector<Tensor> expected = t.predict(in);
  std::vector<Tensor> actual = ir::interpret(m.graph, in);
  ASSERT_EQ(actual.size(), 1u);
  auto diff = ir::compareTensors(actual[0], expected[0], ir::Tolerance{1e-5, 1e-6});
  EXPECT_FALSE(diff.has_value()) << *diff;
}

// A trained 2-layer LSTM (tests/models/lstm_tiny) exports (its LSTM nodes
// as ONNX LSTM, opset 21); read back, it computes what predict() does.
TEST(TrainingApi, TrainedLstmExportsWithTheSameOutputs) {
  TrainerOptions o;
  o.loss = LossSpec::crossEntropy("logits", "labels");
  o.optimizer = passes::OptimizerSpec::adam(0.05);
  o.target = "ref";
  Trainer t = Trainer::fromOnnx(std::string(DLC_TEST_MODELS_DIR) + "/lstm_tiny/model.onnx", o);
  NamedTensors in{{"input", wave({3, 10, 8}, 1.0f, 0.45f)}};
  std::vector<Tensor> before = t.predict(in);
  NamedTensors b = in;
  b["labels"] = Tensor::fromVector<int64_t>({3}, {0, 3, 1});
  for (int i = 0; i < 3; ++i) t.step(b);
  std::string path = (std::filesystem::temp_directory_path() / "dlc_training_api_lstm.onnx").string();
  t.exportOnnx(path);
  frontend::onnx::ImportedModel m = frontend::onnx::importOnnxFile(path);
  std::filesystem::remove(path);
  EXPECT_EQ(m.opset, 21);
  std::vector<Tensor> expected = t.predict(in);
  std::vector<Tensor> actual = ir::interpret(m.graph, in);
  ASSERT_EQ(actual.size(), 1u);
  auto diff = ir::compareTensors(actual[0], expected[0], ir::Tolerance{0, 0});
  EXPECT_FALSE(diff.has_value()) << *diff;
  // The export holds the trained weights, not the initial ones.
  EXPECT_TRUE(ir::compareTensors(actual[0], before[0], ir::Tolerance{1e-6, 0}).has_value());
}

TEST(TrainingApi, TrainsAModelLoadedFromOnnx) {
  std::string path = (std::filesystem::temp_directory_path() / "dlc_training_api_from_onnx.onnx").string();
  frontend::onnx::exportOnnxFile(mlp(), path);
  TrainerOptions o = options("cpu");
  Trainer fromFile = Trainer::fromOnnx(path, o);
  std::filesystem::remove(path);
  Trainer direct(mlp(), o);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(fromFile.step(batch()), direct.step(batch()), 1e-5) << "step " << i;
  EXPECT_EQ(fromFile.parameterNames().size(), 4u);
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TrainingApiErrors, UnknownParameter) {
  Trainer t(mlp(), options("ref"));
  EXPECT_NE(errorOf([&] { t.parameter("fc3.w"); }).find("no parameter named 'fc3.w'"), std::string::npos);
  // Optimizer state is not a parameter.
  EXPECT_NE(errorOf([&] { t.setParameter("fc1.w.m", Tensor(DType::F32, {8, 4})); }).find("no parameter named"),
            std::string::npos);
  TrainerOptions o = options("ref");
  o.parameters = {"fc1.w", "nope"};
  EXPECT_NE(errorOf([&] { Trainer(mlp(), o); }).find("'nope'"), std::string::npos);
}

TEST(TrainingApiErrors, BatchWithTheWrongShapeNamesInputAndShapes) {
  Trainer t(mlp(), options("cpu"));
  NamedTensors b = batch();
  b["x"] = wave({6, 5}, 1.0f, 0.3f);
  std::string e = errorOf([&] { t.step(b); });
  EXPECT_NE(e.find("'x'"), std::string::npos) << e;
  EXPECT_NE(e.find("[6,5]"), std::string::npos) << e;
  EXPECT_NE(e.find("[6,4]"), std::string::npos) << e;
  b = batch();
  b["labels"] = wave({6}, 1.0f, 0.3f);
  e = errorOf([&] { t.step(b); });
  EXPECT_NE(e.find("'labels' has dtype f32"), std::string::npos) << e;
}

TEST(TrainingApiErrors, BatchWithMissingOrUnknownInputs) {
  Trainer t(mlp(), options("ref"));
  EXPECT_NE(errorOf([&] { t.step({{"x", wave({6, 4}, 1.0f, 0.3f)}}); }).find("no input 'labels'"),
            std::string::npos);
  NamedTensors b = batch();
  b["y"] = wave({6}, 1.0f, 0.3f);
  EXPECT_NE(errorOf([&] { t.step(b); }).find("'y' is not an input"), std::string::npos);
  b = batch();
  b["fc1.w"] = wave({8, 4}, 1.0f, 0.3f);
  EXPECT_NE(errorOf([&] { t.step(b); }).find("'fc1.w' is a parameter"), std::string::npos);
  EXPECT_NE(errorOf([&] { t.setParameter("fc1.w", Tensor(DType::F32, {4, 8})); }).find("expected f32[8,4]"),
            std::string::npos);
}

TEST(TrainingApiErrors, NonDifferentiablePathToAParameter) {
  // logits = x + Floor(w): Floor has no gradient to w.
  ir::GraphBuilder b("floor");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{2, 3}));
  Value* y = b.add(x, b.op(OpKind::Floor, {b.constant("w", wave({3}, 1.0f, 1.0f))}));
  b.output(y);
  TrainerOptions o;
  o.loss = LossSpec::meanSquaredError(y->name(), "target");
  std::string e = errorOf([&] { Trainer(b.finish(), o); });
  EXPECT_NE(e.find("Floor"), std::string::npos) << e;
}

TEST(TrainingApiErrors, UnknownLossOutputAndTarget) {
  TrainerOptions o = options("ref");
  o.loss = LossSpec::crossEntropy("nope", "labels");
  EXPECT_NE(errorOf([&] { Trainer(mlp(), o); }).find("no output 'nope'"), std::string::npos);
  o = options("gpu");
  EXPECT_NE(errorOf([&] { Trainer(mlp(), o); }).find("unknown target 'gpu'"), std::string::npos);
}

}  // namespace
}  // namespace dlc
