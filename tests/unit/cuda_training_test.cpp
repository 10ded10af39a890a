// Training on CUDA (dlc::Trainer with target "cuda", CudaModel's carried
// values). Without a GPU (every CI run): the training step is planned and
// its CUDA C++ compiles with NVRTC for sm_80 and sm_90, parameters read back
// without a device, carried-value misuse is a UserError, and the first
// step() fails with UserError "no CUDA device: ..." leaving the parameters
// as they were. On a GPU: the first 5 losses of an MLP and a small CNN
// match the cpu target within 1e-4 relative, and so do the parameters,
// predict() and a step after setParameter (skipped without a device).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "dlc/training.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/tensor_compare.h"
#include "passes/autodiff.h"
#include "passes/losses.h"

#if DLC_HAVE_CUDA
#include "codegen/cuda/cuda_model.h"
#include "codegen/cuda/nvrtc_compiler.h"
#include "runtime/cuda/cuda_driver.h"
#endif

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

Tensor labels(int64_t n, int64_t classes, int step) {
  Tensor t(DType::I64, {n});
  for (int64_t i = 0; i < n; ++i) t.setInt(i, (7 * i + 3 * step) % classes);
  return t;
}

Value* linear(ir::GraphBuilder& b, Value* x, const std::string& name, int64_t in, int64_t out, unsigned seed) {
  ir::Attributes a;
  a.set("transB", int64_t(1));
  double scale = 1 / std::sqrt(double(in));
  return b.op(OpKind::Gemm, {x, b.constant(name + ".w", random({out, in}, scale, seed)),
                             b.constant(name + ".b", random({out}, scale, seed + 1))}, a);
}

struct Model {
  std::string name;
  ir::Graph graph;
  std::function<NamedTensors(int)> batch;
};

// x[32,20] -> Gemm(64) -> Relu -> Gemm(10)
Model mlp() {
  ir::GraphBuilder b("mlp");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{32, 20}));
  Value* h = b.op(OpKind::Relu, {linear(b, x, "fc1", 20, 64, 1)});
  b.output(linear(b, h, "fc2", 64, 10, 3));
  return {"mlp", b.finish(), [](int step) {
            return NamedTensors{{"x", random({32, 20}, 1.0, 100 + unsigned(step))}, {"labels", labels(32, 10, step)}};
          }};
}

// x[8,3,12,12] -> Conv(8, 3x3, pad 1) -> Relu -> MaxPool 2x2 -> Conv(8, 3x3) -> Relu -> Flatten -> Gemm(5)
Model cnn() {
  ir::GraphBuilder b("cnn");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{8, 3, 12, 12}));
  ir::Attributes pad;
  pad.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* c = b.op(OpKind::Conv, {x, b.constant("conv1.w", random({8, 3, 3, 3}, 0.3, 11)),
                                 b.constant("conv1.b", random({8}, 0.1, 12))}, pad);
  ir::Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.set("strides", std::vector<int64_t>{2, 2});
  c = b.op(OpKind::MaxPool, {b.op(OpKind::Relu, {c})}, pool);
  c = b.op(OpKind::Relu, {b.op(OpKind::Conv, {c, b.constant("conv2.w", random({8, 8, 3, 3}, 0.15, 13)),
                                              b.constant("conv2.b", random({8}, 0.1, 14))})});
  b.output(linear(b, b.op(OpKind::Flatten, {c}), "fc", 8 * 4 * 4, 5, 15));
  return {"cnn", b.finish(), [](int step) {
            return NamedTensors{{"x", random({8, 3, 12, 12}, 1.0, 200 + unsigned(step))},
                                {"labels", labels(8, 5, step)}};
          }};
}

TrainerOptions options(const Model& m, const std::string& target, const passes::OptimizerSpec& optimizer) {
  TrainerOptions o;
  o.loss = LossSpec::crossEntropy(m.graph.outputs()[0]->name(), "labels");
  o.optimizer = optimizer;
  o.target = target;
  o.threads = 2;
  return o;
}

#if DLC_HAVE_CUDA

TEST(CudaTraining, StepIsPlannedWithoutADeviceAndFailsClearlyWithoutOne) {
  Model m = mlp();
  Trainer t(ir::cloneGraph(m.graph), options(m, "cuda", passes::OptimizerSpec::sgd(0.1, 0.9)));
  std::string d = t.describe();
  EXPECT_NE(d.find("cuBLAS GEMM"), std::string::npos) << d;
  Tensor before = t.parameter("fc1.w");  // no device needed: the host copy
  auto same = ir::compareTensors(before, m.graph.findValue("fc1.w")->constant(), ir::Tolerance{0, 0});
  EXPECT_FALSE(same.has_value()) << *same;
  std::string why;
  if (runtime::cuda::driver(&why)) GTEST_SKIP() << "a CUDA driver is present: the no-device path is not reachable";
  try {
    t.step(m.batch(0));
    FAIL() << "expected 'no CUDA device'";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device: "), std::string::npos) << e.what();
  }
  EXPECT_EQ(t.stepsTaken(), 0);
  same = ir::compareTensors(t.parameter("fc1.w"), before, ir::Tolerance{0, 0});
  EXPECT_FALSE(same.has_value()) << *same;
}

// Every kernel of the training steps (forward, backward, SGD-momentum and
// Adam updates) compiles with NVRTC for sm_80 and sm_90 (no GPU needed), and
// no step runs on the host.
TEST(CudaTraining, TrainingStepKernelsCompileWithNvrtc) {
  for (const Model& m : {mlp(), cnn()})
    for (const passes::OptimizerSpec& opt : {passes::OptimizerSpec::sgd(0.1, 0.9), passes::OptimizerSpec::adam(1e-2)}) {
      ir::Graph g = ir::cloneGraph(m.graph);
      std::vector<std::string> params;  // the model's weights (not the loss's constants)
      for (const Value* c : g.constants())
        if (c->dtype() == DType::F32 && c->constant().rank() >= 1) params.push_back(c->name());
      ir::GraphBuilder b(g);
      Value* logits = g.outputs()[0];
      ir::Shape ls{logits->type().shape->extents()[0]};
      Value* loss = passes::softmaxCrossEntropy(b, logits, b.input("labels", ir::TensorType(DType::I64, ls)),
                                                passes::LossReduction::Mean);
      g.setOutputs({loss});
      passes::TrainingGraph tg = passes::buildTrainingGraph(g, loss->name(), params, &opt);
      codegen::cuda::CudaOptions co;
      for (const passes::CarriedValue& cv : tg.carried) co.carried.emplace_back(cv.next, cv.input);
      codegen::cuda::CudaModel model(std::move(tg.graph), co);
      std::string src = model.cudaSource();
      ASSERT_NE(src.find("__global__"), std::string::npos) << m.name;
      // Everything stays on the GPU: the input gradient of a convolution
      // (ConvTranspose) and MaxPool's gradient included.
      std::string plan = model.describe();
      EXPECT_EQ(plan.find("library call"), std::string::npos) << plan;
      for (const char* arch : {"sm_80", "sm_90"}) {
        codegen::cuda::CompiledImage img = codegen::cuda::compileCuda(src, m.name + "_train.cu", {arch, false, ""});
        EXPECT_FALSE(img.image.empty()) << m.name << " " << arch;
      }
    }
}

TEST(CudaTraining, CarriedValueMisuseIsAUserError) {
  auto graph = [] {
    ir::GraphBuilder b("acc");
    Value* p = b.input("p", ir::TensorType(DType::F32, ir::Shape{4}));
    Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{4}));
    Value* next = b.add(p, x);
    b.output(next);
    ir::Graph g = b.finish();
    g.renameValue(next, "p.next");
    return g;
  };
  using codegen::cuda::CudaModel;
  using codegen::cuda::CudaOptions;
  EXPECT_THROW(CudaModel(graph(), CudaOptions{.carried = {{"nope", "p"}}}), UserError);
  EXPECT_THROW(CudaModel(graph(), CudaOptions{.carried = {{"p.next", "nope"}}}), UserError);
  CudaModel model(graph(), CudaOptions{.carried = {{"p.next", "p"}}});
  EXPECT_THROW(model.carried("p"), UserError);                                   // never set
  EXPECT_THROW(model.carried("x"), UserError);                                   // not carried
  EXPECT_THROW(model.setCarried("p", Tensor(DType::F32, {5})), UserError);       // wrong shape
  EXPECT_THROW(model.setCarried("p", Tensor(DType::I64, {4})), UserError);       // wrong dtype
  EXPECT_THROW(model.run({{"x", Tensor(DType::F32, {4})}}), UserError);          // p has no value
  Tensor p = random({4}, 1, 7);
  model.setCarried("p", p);
  auto same = ir::compareTensors(model.carried("p"), p, ir::Tolerance{0, 0});  // the host copy: no device needed
  EXPECT_FALSE(same.has_value()) << *same;
  EXPECT_THROW(model.run({{"x", Tensor(DType::F32, {4})}, {"p", p}}), UserError);  // p is carried
  Tensor out(DType::F32, {4});
  std::vector<Tensor*> into{&out};
  EXPECT_THROW(model.runInto({{"x", Tensor(DType::F32, {4})}}, into), UserError);  // a carried output
}

// The same training steps on cpu and cuda: the losses of the first 5 steps
// within 1e-4 relative, then the parameters, predict(), and a step after
// setParameter (which uploads the new value).
void expectCudaMatchesCpu(const Model& m, const passes::OptimizerSpec& opt) {
  Trainer cpu(ir::cloneGraph(m.graph), options(m, "cpu", opt));
  Trainer gpu(ir::cloneGraph(m.graph), options(m, "cuda", opt));
  for (int step = 0; step < 5; ++step) {
    float a = cpu.step(m.batch(step)), b = gpu.step(m.batch(step));
    EXPECT_NEAR(b, a, 1e-4 * std::abs(a)) << m.name << " step " << step << "\n" << gpu.describe();
  }
  for (const std::string& p : cpu.parameterNames()) {
    auto diff = ir::compareTensors(gpu.parameter(p), cpu.parameter(p), ir::Tolerance{1e-4, 1e-5});
    EXPECT_FALSE(diff.has_value()) << m.name << " " << p << ": " << *diff;
  }
  NamedTensors in = m.batch(9);
  in.erase("labels");
  auto diff = ir::compareTensors(gpu.predict(in)[0], cpu.predict(in)[0], ir::Tolerance{1e-4, 1e-5});
  EXPECT_FALSE(diff.has_value()) << m.name << " predict: " << *diff;
  const std::string& p0 = cpu.parameterNames()[0];
  Tensor fresh = random(cpu.parameter(p0).shape(), 0.2, 99);
  cpu.setParameter(p0, fresh);
  gpu.setParameter(p0, fresh);
  float a = cpu.step(m.batch(5)), b = gpu.step(m.batch(5));
  EXPECT_NEAR(b, a, 1e-4 * std::abs(a)) << m.name << " after setParameter";
}

TEST(CudaTraining, LossesMatchTheCpuTargetOnTheGpu) {
  std::string why;
  if (!runtime::cuda::driver(&why)) GTEST_SKIP() << "no CUDA device: " << why;
  expectCudaMatchesCpu(mlp(), passes::OptimizerSpec::sgd(0.1, 0.9));
  expectCudaMatchesCpu(mlp(), passes::OptimizerSpec::adam(1e-2));
  expectCudaMatchesCpu(cnn(), passes::OptimizerSpec::sgd(0.05, 0.9));
}

#else
TEST(CudaTraining, NotBuilt) {
  Model m = mlp();
  EXPECT_THROW(Trainer(ir::cloneGraph(m.graph), options(m, "cuda", passes::OptimizerSpec::sgd(0.1))), UserError);
}
#endif

}  // namespace
}  // namespace dlc
