// Training graphs (passes/autodiff) compiled by the CPU backend: one step of
// a small CNN+MLP with Adam matches the reference interpreter, and training
// on the CPU lowers the loss.
#include <gtest/gtest.h>

#include <cmath>

#include "codegen/cpu/cpu_model.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/interpreter.h"
#include "ir/tensor_compare.h"
#include "passes/autodiff.h"
#include "passes/losses.h"

namespace dlc::passes {
namespace {

using ir::DType;
using ir::OpKind;
using ir::Tensor;
using ir::Value;

Tensor wave(std::vector<int64_t> shape, float scale, float freq) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, scale * std::sin(freq * float(i) + 0.4f));
  return t;
}

// Conv (3x3, pad 1) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm -> cross-entropy.
TrainingGraph smallCnn() {
  ir::GraphBuilder b("cnn");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{4, 1, 6, 6}));
  Value* labels = b.input("labels", ir::TensorType(DType::I64, ir::Shape{4}));
  ir::Attributes conv;
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* c = b.op(OpKind::Conv, {x, b.constant("conv.w", wave({3, 1, 3, 3}, 0.4f, 1.3f)),
                                 b.constant("conv.b", Tensor(DType::F32, {3}))},
                  conv);
  ir::Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.set("strides", std::vector<int64_t>{2, 2});
  Value* p = b.op(OpKind::MaxPool, {b.op(OpKind::Relu, {c})}, pool);
  Value* f = b.op(OpKind::Flatten, {p});
  ir::Attributes gemm;
  gemm.set("transB", int64_t(1));
  Value* logits = b.op(OpKind::Gemm, {f, b.constant("fc.w", wave({3, 27}, 0.2f, 0.7f)),
                                      b.constant("fc.b", Tensor(DType::F32, {3}))},
                       gemm);
  b.output(softmaxCrossEntropy(b, logits, labels));
  ir::Graph g = b.finish();
  OptimizerSpec adam = OptimizerSpec::adam(0.05);
  return buildTrainingGraph(g, g.outputs()[0]->name(), {"conv.w", "conv.b", "fc.w", "fc.b"}, &adam);
}

ir::NamedTensors firstFeeds(const TrainingGraph& tg) {
  ir::NamedTensors feeds{{"x", wave({4, 1, 6, 6}, 1.0f, 0.37f)},
                         {"labels", Tensor::fromVector<int64_t>({4}, {0, 1, 2, 1})},
                         {tg.stepInput, Tensor::scalar<int64_t>(1)}};
  for (const CarriedValue& cv : tg.carried) feeds[cv.input] = cv.initial;
  return feeds;
}

TEST(AutodiffCpu, OneStepMatchesInterpreter) {
  TrainingGraph tg = smallCnn();
  ir::NamedTensors feeds = firstFeeds(tg);
  std::vector<Tensor> expected = ir::interpret(tg.graph, feeds);
  codegen::cpu::CpuModel model(ir::cloneGraph(tg.graph), codegen::cpu::CpuOptions{"host", 2});
  std::vector<Tensor> actual = model.run(feeds);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    auto diff = ir::compareTensors(actual[i], expected[i], ir::Tolerance{1e-4, 1e-5});
    EXPECT_FALSE(diff.has_value()) << tg.graph.outputs()[i]->name() << ": " << diff.value_or("");
  }
}

TEST(AutodiffCpu, TrainingLowersTheLoss) {
  TrainingGraph tg = smallCnn();
  ir::NamedTensors feeds = firstFeeds(tg);
  codegen::cpu::CpuModel model(ir::cloneGraph(tg.graph), codegen::cpu::CpuOptions{"host", 2});
  std::vector<double> losses;
  for (int step = 1; step <= 15; ++step) {
    feeds[tg.stepInput] = Tensor::scalar<int64_t>(step);
    std::vector<Tensor> out = model.run(feeds);
    losses.push_back(out[0].getDouble(0));
    for (const CarriedValue& cv : tg.carried)
      for (size_t i = 0; i < tg.graph.outputs().size(); ++i)
        if (tg.graph.outputs()[i]->name() == cv.next) feeds[cv.input] = out[i];
  }
  EXPECT_LT(losses.back(), 0.5 * losses.front()) << "first " << losses.front() << " last " << losses.back();
}

}  // namespace
}  // namespace dlc::passes
