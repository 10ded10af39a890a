// dlc::Trainer with target "cuda" on the fake CUDA device: the training
// step (forward, backward, optimizer update, parameters and optimizer state
// carried in device memory) matches the cpu target over a few steps.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "codegen/cuda/cuda_model.h"
#include "dlc/training.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/tensor_compare.h"
#include "passes/autodiff.h"
#include "passes/losses.h"
#include "tests/cuda/fake_cuda/fake_test_util.h"

namespace dlc {
namespace {

using ir::DType;
using ir::OpKind;
using ir::Value;

Tensor random(std::vector<int64_t> shape, double scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-scale, scale);
  Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, dist(rng));
  return t;
}

// x[8,2,6,6] -> Conv(4, 3x3, pad 1) -> Relu -> Conv(4, 3x3, pad 1) -> Relu
// -> Flatten -> Gemm(16) -> Relu -> Gemm(5), with its cross-entropy loss as
// the graph's one output (the second convolution's input gradient is a
// ConvTranspose on the GPU).
ir::Graph model(std::vector<std::string>& params) {
  ir::GraphBuilder b("train");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{8, 2, 6, 6}));
  ir::Attributes pad;
  pad.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* c = b.op(OpKind::Relu, {b.op(OpKind::Conv, {x, b.constant("conv.w", random({4, 2, 3, 3}, 0.3, 1)),
                                                     b.constant("conv.b", random({4}, 0.1, 2))}, pad)});
  c = b.op(OpKind::Relu, {b.op(OpKind::Conv, {c, b.constant("conv2.w", random({4, 4, 3, 3}, 0.25, 7)),
                                              b.constant("conv2.b", random({4}, 0.1, 8))}, pad)});
  ir::Attributes t;
  t.set("transB", int64_t(1));
  Value* h = b.op(OpKind::Gemm, {b.op(OpKind::Flatten, {c}), b.constant("fc1.w", random({16, 144}, 0.1, 3)),
                                 b.constant("fc1.b", random({16}, 0.1, 4))}, t);
  Value* logits = b.op(OpKind::Gemm, {b.op(OpKind::Relu, {h}), b.constant("fc2.w", random({5, 16}, 0.25, 5)),
                                      b.constant("fc2.b", random({5}, 0.1, 6))}, t);
  Value* loss = passes::softmaxCrossEntropy(b, logits, b.input("labels", ir::TensorType(DType::I64, ir::Shape{8})),
                                            passes::LossReduction::Mean);
  b.output(loss);
  ir::Graph g = b.finish();
  g.renameValue(loss, "loss");
  params = {"conv.w", "conv.b", "conv2.w", "conv2.b", "fc1.w", "fc1.b", "fc2.w", "fc2.b"};
  return g;
}

NamedTensors batch(int step) {
  Tensor labels(DType::I64, {8});
  for (int64_t i = 0; i < 8; ++i) labels.setInt(i, (3 * i + step) % 5);
  return {{"x", random({8, 2, 6, 6}, 1.0, 100 + unsigned(step))}, {"labels", labels}};
}

// The CUDA program of the Trainer's step: the same training graph (a loss
// output is used as it is) planned by a CudaModel with the same carried
// values. The fake driver checks that the program it runs has exactly the
// kernels of the image dlc loads, so a mismatch here fails loudly.
std::string trainingStepSource(const ir::Graph& forward, const std::vector<std::string>& params,
                               const passes::OptimizerSpec& opt) {
  passes::TrainingGraph tg = passes::buildTrainingGraph(forward, "loss", params, &opt);
  codegen::cuda::CudaOptions co;
  for (const passes::CarriedValue& cv : tg.carried) co.carried.emplace_back(cv.next, cv.input);
  return codegen::cuda::CudaModel(std::move(tg.graph), co).cudaSource();
}

// The program of Trainer::predict: the forward graph with the parameters as
// inputs (as api/training.cpp builds it), planned by a CudaModel.
std::string predictSource(const ir::Graph& forward, const std::vector<std::string>& params) {
  ir::Graph g = ir::cloneGraph(forward);
  for (const std::string& p : params) {
    ir::Value* v = g.findValue(p);
    g.renameValue(v, g.uniqueName(p + ".initializer"));
    g.replaceAllUsesWith(v, g.addInput(p, v->type()));
  }
  return codegen::cuda::CudaModel(std::move(g), {}).cudaSource();
}

}  // namespace

// predict() on cuda reads the parameters the steps left on the device (one
// download per parameter after each step) and matches the cpu target.
TEST(FakeCudaTraining, PredictReadsTheTrainedParameters) {
  testing::fake_cuda::expectFakeDevice();
  std::vector<std::string> params;
  ir::Graph forward = model(params);
  const testing::fake_cuda::DeviceUsage before = testing::fake_cuda::deviceUsage();
  {
    TrainerOptions o;
    o.loss = LossSpec::fromOutput("loss");
    o.parameters = params;
    o.optimizer = passes::OptimizerSpec::sgd(0.1, 0.9);
    o.threads = 2;
    testing::fake_cuda::useEmulationOf(trainingStepSource(forward, params, o.optimizer));
    o.target = "cpu";
    Trainer cpu(ir::cloneGraph(forward), o);
    o.target = "cuda";
    Trainer gpu(ir::cloneGraph(forward), o);
    for (int step = 0; step < 2; ++step) {
      cpu.step(batch(step));
      gpu.step(batch(step));
    }
    testing::fake_cuda::useEmulationOf(predictSource(forward, params));
    std::vector<Tensor> first = gpu.predict(batch(7));
    testing::fake_cuda::expectClose(first, cpu.predict(batch(7)), ir::Tolerance{1e-4, 1e-6}, "predict after 2 steps");
    cpu.step(batch(2));
    gpu.step(batch(2));
    std::vector<Tensor> second = gpu.predict(batch(7));
    testing::fake_cuda::expectClose(second, cpu.predict(batch(7)), ir::Tolerance{1e-4, 1e-6}, "predict after 3 steps");
    EXPECT_NE(first[0].getDouble(0), second[0].getDouble(0)) << "predict did not see the third step's update";
  }
  testing::fake_cuda::expectReleasedSince(before, "after the trainers");
}

TEST(FakeCudaTraining, StepsMatchTheCpuTarget) {
  testing::fake_cuda::expectFakeDevice();
  std::vector<std::string> params;
  ir::Graph forward = model(params);
  const testing::fake_cuda::DeviceUsage before = testing::fake_cuda::deviceUsage();
  for (const passes::OptimizerSpec& opt : {passes::OptimizerSpec::sgd(0.1, 0.9), passes::OptimizerSpec::adam(1e-2)}) {
    testing::fake_cuda::useEmulationOf(trainingStepSource(forward, params, opt));
    TrainerOptions o;
    o.loss = LossSpec::fromOutput("loss");
    o.parameters = params;
    o.optimizer = opt;
    o.threads = 2;
    o.target = "cpu";
    Trainer cpu(ir::cloneGraph(forward), o);
    o.target = "cuda";
    Trainer gpu(ir::cloneGraph(forward), o);
    for (int step = 0; step < 4; ++step) {
      float a = cpu.step(batch(step)), b = gpu.step(batch(step));
      EXPECT_NEAR(b, a, 1e-4 * std::abs(a)) << "step " << step << "\n" << gpu.describe();
    }
    for (const std::string& p : params) {
      auto diff = ir::compareTensors(gpu.parameter(p), cpu.parameter(p), ir::Tolerance{1e-4, 1e-5});
      EXPECT_FALSE(diff.has_value()) << p << ": " << *diff;
    }
  }
  testing::fake_cuda::expectReleasedSince(before, "after the trainers");
}

}  // namespace dlc
