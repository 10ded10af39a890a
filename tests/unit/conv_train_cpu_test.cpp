// Compiled convolution training on the CPU backend: Conv with weights that
// are graph inputs (a training graph's parameters) and ConvTranspose (the
// input gradient of Conv) against the reference interpreter, over groups,
// strides, dilations, pads, output_padding, 1-D and 2-D and batches > 1; and
// a CNN's training step compiled with no library call at all.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "codegen/cpu/cpu_model.h"
#include "dlc/training.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/interpreter.h"
#include "ir/tensor_compare.h"

using namespace dlc;
using codegen::cpu::CpuModel;
using codegen::cpu::CpuOptions;
using ir::DType;
using ir::OpKind;
using ir::Value;

namespace {

ir::Tensor randomTensor(const std::vector<int64_t>& shape, std::mt19937& rng) {
  ir::Tensor t(DType::F32, shape);
  std::uniform_real_distribution<double> dist(-2.0, 2.0);
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, dist(rng));
  return t;
}

int countLines(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

struct ConvCase {
  OpKind op;
  std::vector<int64_t> x, w;
  ir::Attributes attrs;
  bool bias = false;
  bool constantWeights = false;
  bool relu = false;  // a fused epilogue (Conv)
};

// One Conv / ConvTranspose with its weights (and bias) as graph inputs, or
// as constants; compiled for the CPU and compared with the interpreter.
// Returns the compiled model's describe().
std::string expectMatches(const ConvCase& c, unsigned seed = 1, bool blockedLayout = true) {
  std::mt19937 rng(seed);
  ir::GraphBuilder b("g");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape::fromExtents(c.x)));
  Value* w = c.constantWeights ? b.constant("w", randomTensor(c.w, rng))
                               : b.input("w", ir::TensorType(DType::F32, ir::Shape::fromExtents(c.w)));
  std::vector<Value*> operands{x, w};
  if (c.bias) {
    const auto* group = c.attrs.find("group");
    int64_t channels = c.op == OpKind::Conv ? c.w[0] : c.w[1] * (group ? std::get<int64_t>(*group) : 1);
    operands.push_back(b.input("b", ir::TensorType(DType::F32, ir::Shape{channels})));
  }
  Value* y = b.op(c.op, operands, c.attrs);
  if (c.relu) y = b.op(OpKind::Relu, {y});
  b.output(y);
  ir::Graph g = b.finish();
  ir::NamedTensors inputs;
  for (const Value* in : g.inputs()) inputs[in->name()] = randomTensor(in->type().shape->extents(), rng);
  std::vector<ir::Tensor> expected = ir::interpret(g, inputs);
  CpuModel model(ir::cloneGraph(g), CpuOptions{.cpu = "host", .threads = 2, .blockedLayout = blockedLayout});
  std::vector<ir::Tensor> actual = model.run(inputs);
  EXPECT_EQ(actual.size(), 1u);
  if (actual.size() == 1) {
    auto diff = ir::compareTensors(actual[0], expected[0], ir::Tolerance{1e-4, 1e-4});
    EXPECT_FALSE(diff.has_value()) << diff.value_or("") << "\n" << model.describe();
  }
  std::string d = model.describe();
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
  return d;
}

ir::Attributes attrs(std::vector<std::pair<std::string, std::vector<int64_t>>> lists, int64_t group = 1) {
  ir::Attributes a;
  for (auto& [name, values] : lists) a.set(name, values);
  if (group != 1) a.set("group", group);
  return a;
}

}  // namespace

TEST(ConvTrainCpu, ConvWithInputWeights) {
  std::string d = expectMatches({OpKind::Conv, {2, 4, 9, 8}, {6, 4, 3, 3}, attrs({{"pads", {1, 1, 1, 1}}}), true});
  EXPECT_EQ(countLines(d, "weights read at run time"), 1) << d;
  expectMatches({OpKind::Conv, {3, 4, 11, 9}, {6, 2, 3, 2},
                 attrs({{"pads", {1, 0, 2, 1}}, {"strides", {2, 1}}, {"dilations", {1, 2}}}, 2), true, false, true});
  expectMatches({OpKind::Conv, {2, 5, 7, 6}, {3, 5, 1, 1}, {}});                        // pointwise
  expectMatches({OpKind::Conv, {2, 4, 13}, {6, 2, 3}, attrs({{"pads", {1, 1}}, {"strides", {2}}}, 2), true});  // 1-D
}

// Constant weights are re-laid out or packed at compile time: a blocked
// convolution (the default layout), or the GEMM path's packed panels.
TEST(ConvTrainCpu, ConvWithConstantWeightsIsStillPackedAtCompileTime) {
  const ConvCase c{OpKind::Conv, {2, 4, 9, 8}, {6, 4, 3, 3}, attrs({{"pads", {1, 1, 1, 1}}}), false, true};
  std::string blocked = expectMatches(c);
  EXPECT_EQ(countLines(blocked, "-> blocked conv"), 1) << blocked;
  std::string gemm = expectMatches(c, 1, /*blockedLayout=*/false);
  EXPECT_EQ(countLines(gemm, "weights packed at compile time"), 1) << gemm;
}

TEST(ConvTrainCpu, ConvTranspose2D) {
  std::string d =
      expectMatches({OpKind::ConvTranspose, {2, 4, 5, 6}, {4, 3, 3, 3}, attrs({{"pads", {1, 1, 1, 1}}}), true});
  EXPECT_EQ(countLines(d, "col2im gather"), 1) << d;
  // Stride 2 with output_padding, asymmetric pads, dilation.
  expectMatches({OpKind::ConvTranspose, {2, 4, 5, 4}, {4, 3, 3, 2},
                 attrs({{"pads", {1, 0, 1, 1}}, {"strides", {2, 2}}, {"dilations", {1, 2}}, {"output_padding", {1, 0}}})});
  // Groups, stride 2, bias.
  expectMatches({OpKind::ConvTranspose, {3, 4, 5, 5}, {4, 2, 3, 3},
                 attrs({{"pads", {1, 1, 1, 1}}, {"strides", {2, 2}}, {"output_padding", {1, 1}}}, 2), true});
  // Stride larger than the kernel (columns that reach no output), no pads.
  expectMatches({OpKind::ConvTranspose, {2, 3, 4, 3}, {3, 2, 2, 2}, attrs({{"strides", {3, 3}}})});
  // SAME_UPPER, constant weights (packed at compile time).
  ir::Attributes same = attrs({{"strides", {2, 2}}});
  same.set("auto_pad", std::string("SAME_UPPER"));
  d = expectMatches({OpKind::ConvTranspose, {2, 3, 4, 5}, {3, 2, 3, 3}, same, false, true});
  EXPECT_EQ(countLines(d, "weights packed at compile time"), 1) << d;
}

TEST(ConvTrainCpu, ConvTranspose1D) {
  expectMatches({OpKind::ConvTranspose, {2, 3, 7}, {3, 2, 4},
                 attrs({{"pads", {2, 1}}, {"strides", {3}}, {"output_padding", {1}}}), true});
  expectMatches({OpKind::ConvTranspose, {3, 4, 6}, {4, 1, 3}, attrs({{"dilations", {2}}, {"pads", {1, 1}}}, 2)});
}

namespace {

// Two convolutions (the second strided and grouped, so its input gradient
// is a ConvTranspose), a pool and a linear layer.
ir::Graph twoConvCnn() {
  std::mt19937 rng(7);
  auto scaled = [&](std::vector<int64_t> shape, double scale) {
    ir::Tensor t = randomTensor(shape, rng);
    for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, t.getDouble(i) * scale);
    return t;
  };
  ir::GraphBuilder b("cnn");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{3, 2, 8, 8}));
  Value* c1 = b.op(OpKind::Conv, {x, b.constant("c1.w", scaled({4, 2, 3, 3}, 0.2)), b.constant("c1.b", scaled({4}, 0.1))},
                   attrs({{"pads", {1, 1, 1, 1}}}));
  Value* c2 = b.op(OpKind::Conv,
                   {b.op(OpKind::Relu, {c1}), b.constant("c2.w", scaled({6, 2, 3, 3}, 0.2)),
                    b.constant("c2.b", scaled({6}, 0.1))},
                   attrs({{"pads", {1, 1, 1, 1}}, {"strides", {2, 2}}}, 2));
  Value* f = b.op(OpKind::Flatten, {b.op(OpKind::GlobalAveragePool, {b.op(OpKind::Relu, {c2})})});
  ir::Attributes t;
  t.set("transB", int64_t(1));
  b.output(b.op(OpKind::Gemm, {f, b.constant("fc.w", scaled({5, 6}, 0.3)), b.constant("fc.b", scaled({5}, 0.1))}, t));
  return b.finish();
}

}  // namespace

TEST(ConvTrainCpu, CnnTrainingStepHasNoLibraryCalls) {
  std::vector<std::vector<double>> losses;
  std::string cpuDescribe;
  for (const char* target : {"cpu", "ref"}) {
    ir::Graph g = twoConvCnn();
    TrainerOptions o;
    o.loss = LossSpec::crossEntropy(g.outputs()[0]->name(), "labels");
    o.optimizer = passes::OptimizerSpec::sgd(0.1, 0.9);
    o.target = target;
    o.threads = 2;
    Trainer t(std::move(g), o);
    if (std::string(target) == "cpu") cpuDescribe = t.describe();
    std::mt19937 rng(3);
    losses.emplace_back();
    for (int step = 0; step < 5; ++step) {
      ir::Tensor labels(DType::I64, {3});
      for (int64_t i = 0; i < 3; ++i) labels.setInt(i, (i + step) % 5);
      losses.back().push_back(t.step({{"x", randomTensor({3, 2, 8, 8}, rng)}, {"labels", labels}}));
    }
  }
  for (size_t i = 0; i < losses[0].size(); ++i)
    EXPECT_NEAR(losses[0][i], losses[1][i], 1e-4 * std::abs(losses[1][i])) << "step " << i;
  std::istringstream lines(cpuDescribe);
  int convSteps = 0, transposeSteps = 0;
  for (std::string line; std::getline(lines, line);) {
    // Every op is compiled, the loss's OneHot and the bias gradients
    // (ReduceSum over batch and space) included.
    EXPECT_EQ(line.find("library call"), std::string::npos) << line;
    convSteps += line.find("weights read at run time") != std::string::npos;
    transposeSteps += line.find("conv-transpose as GEMM") != std::string::npos;
  }
  // Forward c1, c2 and the weight gradients of both; the input gradient of c2.
  EXPECT_GE(convSteps, 4) << cpuDescribe;
  EXPECT_EQ(transposeSteps, 1) << cpuDescribe;
}

// MaxPool's gradient (a ScatterElements into the pool's Indices) compiles to
// a gather kernel: with overlapping 3x3 stride-2 windows (ResNet's stem pool)
// and many ties (small integer activations: the first maximum of a window
// takes the gradient), training steps match the interpreter's.
TEST(ConvTrainCpu, MaxPoolGradientIsAGatherKernelAndMatches) {
  auto build = [] {
    ir::GraphBuilder b("pool");
    Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{2, 2, 9, 9}));
    ir::Tensor w(DType::F32, {3, 2, 1, 1});
    for (int64_t i = 0; i < w.numel(); ++i) w.setDouble(i, double((i % 3) - 1));  // -1, 0, 1: exact sums, ties
    Value* c = b.op(OpKind::Conv, {x, b.constant("c.w", w)});
    ir::Attributes pool = attrs({{"kernel_shape", {3, 3}}, {"strides", {2, 2}}, {"pads", {1, 1, 1, 1}}});
    Value* f = b.op(OpKind::Flatten, {b.op(OpKind::MaxPool, {c}, pool)});
    ir::Tensor fw(DType::F32, {4, 3 * 5 * 5});
    for (int64_t i = 0; i < fw.numel(); ++i) fw.setDouble(i, 0.01 * double((i * 7) % 11 - 5));
    ir::Attributes t;
    t.set("transB", int64_t(1));
    b.output(b.op(OpKind::Gemm, {f, b.constant("fc.w", fw), b.constant("fc.b", ir::Tensor(DType::F32, {4}))}, t));
    return b.finish();
  };
  std::vector<std::vector<double>> losses;
  std::vector<ir::Tensor> weights;
  std::string cpuDescribe;
  for (const char* target : {"cpu", "ref"}) {
    ir::Graph g = build();
    TrainerOptions o;
    o.loss = LossSpec::crossEntropy(g.outputs()[0]->name(), "labels");
    o.optimizer = passes::OptimizerSpec::sgd(0.05);
    o.target = target;
    o.threads = 2;
    Trainer t(std::move(g), o);
    if (std::string(target) == "cpu") cpuDescribe = t.describe();
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> level(-2, 2);
    losses.emplace_back();
    for (int step = 0; step < 4; ++step) {
      ir::Tensor x(DType::F32, {2, 2, 9, 9});
      for (int64_t i = 0; i < x.numel(); ++i) x.setDouble(i, double(level(rng)));
      ir::Tensor labels(DType::I64, {2});
      for (int64_t i = 0; i < 2; ++i) labels.setInt(i, (i + step) % 4);
      losses.back().push_back(t.step({{"x", x}, {"labels", labels}}));
    }
    weights.push_back(t.parameter("c.w"));
  }
  for (size_t i = 0; i < losses[0].size(); ++i)
    EXPECT_NEAR(losses[0][i], losses[1][i], 1e-5 * std::abs(losses[1][i])) << "step " << i;
  auto diff = ir::compareTensors(weights[0], weights[1], ir::Tolerance{1e-5, 1e-6});
  EXPECT_FALSE(diff.has_value()) << *diff;
  EXPECT_EQ(cpuDescribe.find("library call"), std::string::npos) << cpuDescribe;
  EXPECT_NE(cpuDescribe.find("(ScatterElements) -> JIT kernel"), std::string::npos) << cpuDescribe;
  // One pooling kernel: the forward pool is the gradient's pool with Indices (CSE).
  size_t pools = 0;
  for (size_t at = cpuDescribe.find("MaxPool) -> JIT kernel"); at != std::string::npos;
       at = cpuDescribe.find("MaxPool) -> JIT kernel", at + 1))
    ++pools;
  EXPECT_EQ(pools, 1u) << cpuDescribe;
}
