// blocked-layout: golden IR, and the interpreter's results before and after
// on CNN-shaped graphs (2 and 4 lanes, so that channel counts that are no
// multiple of the block are covered).
#include <random>

#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/infer.h"
#include "tests/unit/pass_test_util.h"

using namespace dlc;
using dlc::testing::expectPasses;
using ir::DType;
using ir::OpKind;
using ir::Value;

namespace {

const passes::PassContext kLanes2{.channelBlock = 2};

ir::Tensor randomTensor(std::vector<int64_t> shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(-1, 1);
  ir::Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, d(rng));
  return t;
}

ir::Attributes convAttrs(std::vector<int64_t> pads, std::vector<int64_t> strides = {1, 1}, int64_t group = 1) {
  ir::Attributes a;
  a.set("pads", std::move(pads));
  a.set("strides", std::move(strides));
  a.set("group", group);
  return a;
}

// Runs blocked-layout (then dce) on a copy of `g` and checks the
// interpreter's outputs against the original's; returns the blocked graph.
ir::Graph expectSameResultsBlocked(const ir::Graph& g, const ir::NamedTensors& inputs, int64_t lanes,
                                   bool expectChange = true) {
  ir::Graph after = ir::cloneGraph(g);
  passes::PassContext ctx{.channelBlock = lanes};
  EXPECT_EQ(passes::findPass("blocked-layout")->run(after, ctx), expectChange);
  passes::findPass("dce")->run(after, ctx);
  auto problems = ir::verify(after);
  EXPECT_TRUE(problems.empty()) << fmt::format("{}", fmt::join(problems, "\n"));
  auto want = ir::interpret(g, inputs);
  auto got = ir::interpret(after, inputs);
  EXPECT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    EXPECT_EQ(want[i].shape(), got[i].shape());
    for (int64_t k = 0; k < want[i].numel() && want[i].shape() == got[i].shape(); ++k)
      EXPECT_NEAR(want[i].getDouble(k), got[i].getDouble(k), 1e-5 * (1 + std::abs(want[i].getDouble(k))))
          << "output " << i << " element " << k;
  }
  return after;
}

size_t count(const ir::Graph& g, OpKind op) {
  size_t n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op() == op;
  return n;
}

// A ResNet basic block with a stem, pooling and a classifier: every
// BlockedConv reads a blocked value but the stem (plain NCHW input).
ir::Graph residualNet(int64_t channels) {
  ir::GraphBuilder b("net");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape({2, 3, 9, 9})));
  auto conv = [&](Value* in, int64_t cin, int64_t cout, int64_t k, int64_t pad, int64_t stride, uint32_t seed) {
    Value* w = b.constant("w" + std::to_string(seed), randomTensor({cout, cin, k, k}, seed));
    Value* bias = b.constant("b" + std::to_string(seed), randomTensor({cout}, seed + 100));
    return b.op(OpKind::Conv, {in, w, bias}, convAttrs({pad, pad, pad, pad}, {stride, stride}));
  };
  Value* stem = b.unary(OpKind::Relu, conv(x, 3, channels, 3, 1, 2, 1));  // [2, C, 5, 5]
  ir::Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{3, 3});
  pool.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  pool.set("strides", std::vector<int64_t>{1, 1});
  Value* pooled = b.op(OpKind::MaxPool, {stem}, pool);
  Value* y = b.unary(OpKind::Relu, conv(pooled, channels, channels, 3, 1, 1, 2));
  y = conv(y, channels, channels, 1, 0, 1, 3);
  y = b.unary(OpKind::Relu, b.add(y, pooled));
  Value* gap = b.op(OpKind::GlobalAveragePool, {y});
  Value* flat = b.op(OpKind::Flatten, {gap});
  Value* fc = b.constant("fc", randomTensor({channels, 4}, 9));
  b.output(b.op(OpKind::MatMul, {flat, fc}));
  return b.finish();
}

}  // namespace

TEST(BlockedLayout, ConvReluIsBlockedAndConvertedBackOnce) {
  // One 1x1 conv from a plain input (1 channel) to 3 channels: 2 blocks of
  // 2 lanes, the last lane padding; the bias follows as a blocked constant.
  expectPasses({"blocked-layout", "dce"}, R"(graph @g(%x: f32[1,1,1,2]) {
  %w: f32[3,1,1,1] = const [1.0, 2.0, 3.0]
  %b: f32[3] = const [0.5, -0.5, 0.25]
  %y: f32[1,3,1,2] = Conv(%x, %w, %b) loc("conv", "conv")
  %z: f32[1,3,1,2] = Relu(%y) loc("relu", "relu")
  return %z
}
)",
               R"(graph @g(%x: f32[1,1,1,2]) {
  %w.blocked: f32[2,1,1,1,1,2] = const [1.0, 2.0, 3.0, 0.0]
  %b.blocked: f32[1,2,1,1,2] = const [0.5, -0.5, 0.25, 0.0]
  %c: i64[4] = const [1, 4, 1, 2]
  %c.3: i64[1] = const [0]
  %c.4: i64[1] = const [3]
  %c.5: i64[1] = const [1]
  %"conv/blocked": f32[1,2,1,2,2] = BlockedConv(%x, %w.blocked) {depthwise = 0, dilations = [1, 1], pads = [0, 0, 0, 0], strides = [1, 1]} loc("conv/blocked", "conv")
  %"conv/blocked.0": f32[1,2,1,2,2] = Add(%"conv/blocked", %b.blocked) loc("conv/blocked.0", "conv")
  %"relu/blocked": f32[1,2,1,2,2] = Relu(%"conv/blocked.0") loc("relu/blocked", "relu")
  %"relu/blocked.1": f32[1,2,2,1,2] = Transpose(%"relu/blocked") {perm = [0, 1, 4, 2, 3]} loc("relu/blocked.1", "relu")
  %"relu/blocked.2": f32[1,4,1,2] = Reshape(%"relu/blocked.1", %c) loc("relu/blocked.2", "relu")
  %z: f32[1,3,1,2] = Slice(%"relu/blocked.2", %c.3, %c.4, %c.5) loc("relu/blocked.6", "relu")
  return %z
}
)",
               true, kLanes2);
}

TEST(BlockedLayout, DepthwiseConvertsItsInputAndPaddingStopsAtOpsThatMakeItNonZero) {
  // A depthwise conv blocks its plain input (3 channels: padded to 4 with a
  // Pad). Sigmoid(0) = 0.5 would put non-zero values in the padding lane,
  // so it reads the plain tensor again; Relu keeps zeros and stays blocked.
  expectPasses({"blocked-layout", "dce"}, R"(graph @g(%x: f32[1,3,1,1]) {
  %w: f32[3,1,1,1] = const [1.0, 2.0, 3.0]
  %y: f32[1,3,1,1] = Conv(%x, %w) {group = 3} loc("dw", "dw")
  %r: f32[1,3,1,1] = Relu(%y) loc("relu", "relu")
  %s: f32[1,3,1,1] = Sigmoid(%r) loc("sigmoid", "sigmoid")
  return %s
}
)",
               R"(graph @g(%x: f32[1,3,1,1]) {
  %c: i64[8] = const [0, 0, 0, 0, 0, 1, 0, 0]
  %c.0: i64[5] = const [1, 2, 2, 1, 1]
  %w.blocked: f32[2,1,1,2] = const [1.0, 2.0, 3.0, 0.0]
  %c.5: i64[4] = const [1, 4, 1, 1]
  %c.7: i64[1] = const [0]
  %c.8: i64[1] = const [3]
  %c.9: i64[1] = const [1]
  %"dw/blocked": f32[1,4,1,1] = Pad(%x, %c) loc("dw/blocked", "dw")
  %"dw/blocked.1": f32[1,2,2,1,1] = Reshape(%"dw/blocked", %c.0) loc("dw/blocked.1", "dw")
  %"dw/blocked.2": f32[1,2,1,1,2] = Transpose(%"dw/blocked.1") {perm = [0, 1, 3, 4, 2]} loc("dw/blocked.2", "dw")
  %"dw/blocked.3": f32[1,2,1,1,2] = BlockedConv(%"dw/blocked.2", %w.blocked) {depthwise = 1, dilations = [1, 1], pads = [0, 0, 0, 0], strides = [1, 1]} loc("dw/blocked.3", "dw")
  %"relu/blocked": f32[1,2,1,1,2] = Relu(%"dw/blocked.3") loc("relu/blocked", "relu")
  %"relu/blocked.4": f32[1,2,2,1,1] = Transpose(%"relu/blocked") {perm = [0, 1, 4, 2, 3]} loc("relu/blocked.4", "relu")
  %"relu/blocked.6": f32[1,4,1,1] = Reshape(%"relu/blocked.4", %c.5) loc("relu/blocked.6", "relu")
  %"relu/blocked.10": f32[1,3,1,1] = Slice(%"relu/blocked.6", %c.7, %c.8, %c.9) loc("relu/blocked.10", "relu")
  %s: f32[1,3,1,1] = Sigmoid(%"relu/blocked.10") loc("sigmoid", "sigmoid")
  return %s
}
)",
               true, kLanes2);
}

TEST(BlockedLayout, NoChangeWhenOffOrWithoutConvolutions) {
  const char* conv = R"(graph @g(%x: f32[1,1,1,2]) {
  %w: f32[1,1,1,1] = const [2.0]
  %y: f32[1,1,1,2] = Conv(%x, %w)
  return %y
}
)";
  expectPasses({"blocked-layout"}, conv, conv, false);  // channelBlock 0: the reference and CUDA targets
  const char* noConv = R"(graph @g(%x: f32[1,2,1,2]) {
  %y: f32[1,2,1,2] = Relu(%x)
  %z: f32[1,2,1,2] = MaxPool(%y) {kernel_shape = [1, 1]}
  return %z
}
)";
  expectPasses({"blocked-layout"}, noConv, noConv, false, kLanes2);
}

TEST(BlockedLayout, ResidualNetMatchesTheInterpreter) {
  for (int64_t lanes : {2, 4})
    for (int64_t channels : {4, 5, 8}) {
      SCOPED_TRACE(::testing::Message() << "lanes " << lanes << " channels " << channels);
      ir::Graph g = residualNet(channels);
      ir::Graph after = expectSameResultsBlocked(g, {{"x", randomTensor({2, 3, 9, 9}, 7)}}, lanes);
      EXPECT_EQ(count(after, OpKind::BlockedConv), 3u);
      EXPECT_EQ(count(after, OpKind::Conv), 0u);
      // One conversion back, before Flatten: the pool, the residual add and
      // the global pool stay blocked.
      EXPECT_EQ(count(after, OpKind::Transpose), 1u) << ir::printGraph(after);
    }
}

namespace {

// Depthwise and strided convs, padded channel counts, a squeeze-and-excite
// product with a computed [N, C, 1, 1] gate, a per-channel constant, a
// non-zero-preserving op, average pooling and a channel concat.
ir::Graph mixedNet(int64_t channels) {
  ir::GraphBuilder b("mixed");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape({1, channels, 8, 7})));
  Value* w = b.constant("dw", randomTensor({channels, 1, 3, 3}, 1));
  ir::Attributes dw = convAttrs({1, 0, 1, 2}, {2, 1}, channels);
  dw.set("dilations", std::vector<int64_t>{1, 2});
  Value* y = b.op(OpKind::Conv, {x, w, b.constant("db", randomTensor({channels}, 2))}, dw);  // [1, C, 4, 5]
  Value* six = b.scalar(6.0, DType::F32), *zero = b.scalar(0.0, DType::F32);
  y = b.op(OpKind::Clip, {y, zero, six});
  Value* gate = b.unary(OpKind::Sigmoid, b.op(OpKind::GlobalAveragePool, {y}));  // [1, C, 1, 1]
  y = b.mul(y, gate);
  y = b.add(y, b.constant("perchannel", randomTensor({channels, 1, 1}, 3)));
  Value* e = b.unary(OpKind::Exp, y);  // exp(0) = 1: not zero-preserving
  Value* pw = b.op(OpKind::Conv, {e, b.constant("pw", randomTensor({8, channels, 1, 1}, 4))}, convAttrs({0, 0, 0, 0}));
  ir::Attributes avg;
  avg.set("kernel_shape", std::vector<int64_t>{2, 2});
  avg.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  avg.set("count_include_pad", int64_t(1));
  Value* pooled = b.op(OpKind::AveragePool, {pw}, avg);  // [1, 8, 5, 6]
  Value* other = b.op(OpKind::Conv, {pooled, b.constant("c2", randomTensor({8, 8, 1, 1}, 5))}, convAttrs({0, 0, 0, 0}));
  ir::Attributes cat;
  cat.set("axis", int64_t(1));
  b.output(b.op(OpKind::Concat, {pooled, other}, cat));
  b.output(y);
  return b.finish();
}

}  // namespace

TEST(BlockedLayout, MixedNetMatchesTheInterpreter) {
  for (int64_t lanes : {2, 4})
    for (int64_t channels : {3, 4, 6}) {
      SCOPED_TRACE(::testing::Message() << "lanes " << lanes << " channels " << channels);
      ir::Graph g = mixedNet(channels);
      ir::Graph after = expectSameResultsBlocked(g, {{"x", randomTensor({1, channels, 8, 7}, 7)}}, lanes);
      EXPECT_EQ(count(after, OpKind::BlockedConv), 3u);
    }
}
