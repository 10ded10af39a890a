// The blocked (NCHWc) convolution on the cpu target against the reference
// interpreter: dense convolutions from plain and blocked inputs, depthwise
// ones, strides, dilations, asymmetric padding (rows and columns at the
// edges with part of the kernel outside), kernels wider than the input,
// channel counts that are no multiple of the block, tiles of every width and
// block count, several images, and a fused epilogue; with the host's vector
// width and with AVX2's (8 lanes) where the host has it. Also the tile
// choice and the tiles the driver calls.
#include <gtest/gtest.h>

#include <random>

#include "codegen/cpu/cpu_model.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/tensor_compare.h"
#include "runtime/conv_blocked.h"

using namespace dlc;
using codegen::cpu::CpuModel;
using codegen::cpu::CpuOptions;
using ir::DType;
using ir::OpKind;
using ir::Value;

namespace {

ir::Tensor randomTensor(std::vector<int64_t> shape, std::mt19937& rng) {
  std::uniform_real_distribution<double> d(-1, 1);
  ir::Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, d(rng));
  return t;
}

int countLines(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// Conv attributes for a 3x3 kernel's "same" output: pads 1 on every side.
ir::Attributes padOne() {
  ir::Attributes a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  return a;
}

// Runs g on the cpu target (2 threads) and expects its single output to
// match the interpreter's; returns the program's description.
std::string expectCpuMatchesInterpreter(const ir::Graph& g, const ir::NamedTensors& inputs,
                                        const std::string& cpu = "host") {
  std::vector<ir::Tensor> expected = ir::interpret(g, inputs);
  CpuModel model(ir::cloneGraph(g), CpuOptions{.cpu = cpu, .threads = 2});
  std::vector<ir::Tensor> actual = model.run(inputs);
  std::string d = model.describe();
  EXPECT_EQ(actual.size(), 1u) << d;
  auto diff = ir::compareTensors(actual.at(0), expected.at(0), ir::Tolerance{1e-4, 1e-5});
  EXPECT_FALSE(diff.has_value()) << diff.value_or("") << "\n" << d;
  return d;
}

// The activation after the conv's bias (and residual): Relu and Clip run
// in the micro-kernels' registers, Sigmoid in an epilogue kernel.
enum class Activation { None, Relu, Clip, Sigmoid };

struct Case {
  int64_t batch, inChannels, h, w, outChannels, kernelH, kernelW;
  std::vector<int64_t> strides{1, 1}, pads{0, 0, 0, 0}, dilations{1, 1};
  bool depthwise = false;
  Activation activation = Activation::None;
};

// x -> conv1 (from plain NCHW) -> ReLU -> conv2 (blocked input, the case's
// geometry) + bias + the first conv's result when the shapes allow (a
// residual) -> outputs; compared with the interpreter.
void expectBlockedConvMatches(const Case& c, const std::string& cpu) {
  SCOPED_TRACE(::testing::Message() << "N" << c.batch << " C" << c.inChannels << " " << c.h << "x" << c.w << " -> "
                                    << c.outChannels << " kernel " << c.kernelH << "x" << c.kernelW << " stride "
                                    << c.strides[0] << "x" << c.strides[1] << (c.depthwise ? " depthwise" : "")
                                    << " cpu " << cpu);
  std::mt19937 rng(11);
  ir::GraphBuilder b("g");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape({c.batch, 3, c.h, c.w})));
  const ir::Attributes same = padOne();
  Value* first = b.op(OpKind::Conv, {x, b.constant("w1", randomTensor({c.inChannels, 3, 3, 3}, rng))}, same);
  Value* relu = b.unary(OpKind::Relu, first);
  ir::Attributes a;
  a.set("strides", c.strides);
  a.set("pads", c.pads);
  a.set("dilations", c.dilations);
  int64_t group = c.depthwise ? c.inChannels : 1;
  a.set("group", group);
  Value* w2 = b.constant("w2", randomTensor({c.outChannels, c.inChannels / group, c.kernelH, c.kernelW}, rng));
  Value* y = b.op(OpKind::Conv, {relu, w2, b.constant("b2", randomTensor({c.outChannels}, rng))}, a);
  const bool residual = y->type().shape->extents() == first->type().shape->extents();
  if (residual) y = b.add(y, first);
  switch (c.activation) {
    case Activation::None: break;
    case Activation::Relu: y = b.unary(OpKind::Relu, y); break;
    case Activation::Clip: y = b.op(OpKind::Clip, {y, b.scalar(-0.5, DType::F32), b.scalar(0.75, DType::F32)}); break;
    case Activation::Sigmoid: y = b.unary(OpKind::Sigmoid, y); break;
  }
  b.output(y);
  ir::Graph g = b.finish();
  std::string d = expectCpuMatchesInterpreter(g, {{"x", randomTensor({c.batch, 3, c.h, c.w}, rng)}}, cpu);
  // The case's conv (the one not from plain NCHW) runs its epilogue in
  // registers unless it has a Sigmoid.
  bool inRegisters = false;
  for (size_t start = 0, end; start < d.size(); start = end + 1) {
    end = std::min(d.find('\n', start), d.size());
    std::string line = d.substr(start, end - start);
    if (line.find("-> blocked ") != std::string::npos && line.find("from plain NCHW") == std::string::npos)
      inRegisters = line.find("in the micro-kernels") != std::string::npos;
  }
  EXPECT_EQ(inRegisters, c.activation != Activation::Sigmoid) << d;
  // The residual dies at the conv: the conv accumulates onto it in place
  // (with the epilogue in registers).
  EXPECT_EQ(countLines(d, "accumulated onto the residual in place"), residual && inRegisters ? 1 : 0) << d;
  EXPECT_EQ(countLines(d, "-> blocked conv from plain NCHW"), 1) << d;
  EXPECT_EQ(countLines(d, "-> blocked depthwise conv"), c.depthwise ? 1 : 0) << d;
  EXPECT_EQ(countLines(d, "-> blocked conv"), c.depthwise ? 1 : 2) << d;
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
}

using A = Activation;
const std::vector<Case> kCases = {
    {1, 16, 9, 9, 16, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, false, A::Relu},     // one block in and out
    {2, 48, 10, 11, 48, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, false, A::Clip},   // residual in place over 3 chunks
    {2, 32, 14, 13, 48, 3, 3, {1, 1}, {1, 1, 1, 1}},                           // 2 -> 3 blocks, two images
    {1, 20, 11, 17, 37, 3, 3, {2, 2}, {1, 0, 2, 1}, {1, 1}, false, A::Clip},   // padded channels, stride 2, asymmetric pads
    {1, 16, 12, 12, 80, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, false, A::Relu},   // pointwise: one long row per image
    {2, 24, 7, 7, 48, 1, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}, false, A::Sigmoid},  // strided pointwise
    {1, 64, 5, 9, 40, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, false, A::Clip},     // pointwise over several blocks
    {1, 24, 6, 7, 32, 1, 1, {1, 1}, {1, 1, 0, 0}, {1, 1}, false, A::Relu},     // a padded 1x1: no tap in row/col 0
    {1, 16, 10, 23, 64, 5, 3, {1, 2}, {2, 1, 2, 1}, {2, 1}},                   // dilated rows, strided columns
    {1, 8, 3, 4, 16, 5, 5, {1, 1}, {2, 2, 2, 2}, {1, 1}, false, A::Clip},      // a kernel wider than the input
    {1, 16, 30, 29, 64, 7, 7, {2, 2}, {3, 3, 3, 3}, {1, 1}, false, A::Relu},   // a stem-like 7x7
    {1, 32, 9, 9, 32, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, true, A::Clip},      // depthwise
    {2, 24, 11, 8, 24, 3, 3, {2, 2}, {1, 1, 0, 0}, {1, 1}, true},              // depthwise, padded channels, strided
    {1, 16, 12, 9, 16, 5, 3, {1, 1}, {2, 1, 2, 1}, {2, 1}, true, A::Sigmoid},  // depthwise, dilated rows, 5x3
    // Rows of several full tiles, each row's in one micro-kernel call, with
    // the residual at each tile's own offset (a depthwise conv reads it
    // through its pointer even in place).
    {1, 16, 5, 40, 16, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, false, A::Clip},
    {1, 16, 6, 37, 16, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, false, A::Relu},  // pointwise
    {1, 32, 5, 41, 32, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, true, A::Clip},   // depthwise
};

}  // namespace

TEST(BlockedConv, MatchesTheInterpreterOnTheHost) {
  for (const Case& c : kCases) expectBlockedConvMatches(c, "host");
}

#if defined(__x86_64__)
TEST(BlockedConv, MatchesTheInterpreterWithAvx2) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "no AVX2/FMA";
  for (const Case& c : kCases) expectBlockedConvMatches(c, "x86-64-v3");
}
#endif

TEST(BlockedConv, TileChoiceFitsTheRegistersAndCoversTheRows) {
  runtime::BlockedConvShape s;
  s.inBlocks = 4, s.channelsPerBlock = 16, s.lanes = 16, s.outBlocks = 4;
  s.kernelH = s.kernelW = 3, s.padTop = s.padLeft = 1;
  for (int64_t width : {2, 7, 14, 28, 56}) {
    s.inH = s.inW = s.outH = s.outW = width;
    for (int registers : {16, 32}) {
      runtime::ConvTile t = runtime::chooseConvTile(s, registers);
      EXPECT_LE(t.pixels * t.blocks + t.blocks + 4, registers) << width;
      std::vector<runtime::ConvTile> used = runtime::convTilesUsed(s, t);
      EXPECT_FALSE(used.empty());
      for (runtime::ConvTile u : used) {
        if (!u.column) {
          EXPECT_LE(u.pixels, t.pixels);
        }
        EXPECT_LE(u.blocks, t.blocks);
      }
    }
  }
  // 56 x 56, pad 1: 54 columns inside in tiles of 6 for 4 blocks; the edge
  // columns of the 54 inside rows in column tiles of a task's rows (4, or 3
  // in the tasks at the image's top and bottom edges; 2 and 1 in the splits
  // of fewer rows per task that even out the threads' work); the corners
  // one at a time.
  s.inH = s.inW = s.outH = s.outW = 56;
  std::vector<runtime::ConvTile> used = runtime::convTilesUsed(s, {6, 4});
  EXPECT_EQ(used, (std::vector<runtime::ConvTile>{
                      {6, 4}, {1, 4, false, true}, {3, 4, true}, {4, 4, true}, {2, 4, true}, {1, 4}}));
}

// A residual that outlives the conv (the next conv adds it too) is read
// through its own pointer, at each tile's offset along rows of many tiles.
TEST(BlockedConv, ResidualThatStaysLiveIsReadAtEachTilesOffset) {
  std::mt19937 rng(3);
  ir::GraphBuilder b("g");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape({1, 3, 5, 40})));
  const ir::Attributes same = padOne();
  Value* r = b.unary(OpKind::Relu, b.op(OpKind::Conv, {x, b.constant("w1", randomTensor({16, 3, 3, 3}, rng))}, same));
  Value* y = b.op(OpKind::Conv, {r, b.constant("w2", randomTensor({16, 16, 3, 3}, rng)),
                                 b.constant("b2", randomTensor({16}, rng))}, same);
  y = b.op(OpKind::Clip, {b.add(y, r), b.scalar(-0.5, DType::F32), b.scalar(0.75, DType::F32)});
  Value* z = b.op(OpKind::Conv, {y, b.constant("w3", randomTensor({16, 16, 1, 1}, rng))});
  b.output(b.add(z, r));
  ir::Graph g = b.finish();
  std::string d = expectCpuMatchesInterpreter(g, {{"x", randomTensor({1, 3, 5, 40}, rng)}});
  // Only the last conv accumulates in place (onto r, which dies there).
  EXPECT_EQ(countLines(d, "accumulated onto the residual in place"), 1) << d;
  EXPECT_EQ(countLines(d, "[Add Add Clip] in the micro-kernels ["), 1) << d;
}

// The thread count picks how rows are split into tasks (a 28 x 28 output in
// 4 tasks of 9, 9, 9 and 1 rows left one of 2 threads idle for a fifth of
// the time), never an output's arithmetic: the same bits on 1, 2 and 3
// threads, and the interpreter's values.
TEST(BlockedConv, EveryThreadCountGivesTheSameBits) {
  std::mt19937 rng(5);
  ir::GraphBuilder b("g");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape({1, 3, 28, 28})));
  const ir::Attributes same = padOne();
  Value* first = b.op(OpKind::Conv, {x, b.constant("w1", randomTensor({128, 3, 3, 3}, rng))}, same);
  Value* y = b.op(OpKind::Conv, {b.unary(OpKind::Relu, first), b.constant("w2", randomTensor({128, 128, 3, 3}, rng))},
                  same);
  b.output(b.unary(OpKind::Relu, y));
  ir::Graph g = b.finish();
  ir::NamedTensors inputs{{"x", randomTensor({1, 3, 28, 28}, rng)}};
  std::vector<ir::Tensor> expected = ir::interpret(g, inputs);
  std::vector<ir::Tensor> single;
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    CpuModel model(ir::cloneGraph(g), CpuOptions{.threads = threads});
    std::vector<ir::Tensor> actual = model.run(inputs);
    // Sums of 1152 products: near-cancelling ones carry float rounding.
    auto diff = ir::compareTensors(actual[0], expected[0], ir::Tolerance{1e-4, 1e-4});
    EXPECT_FALSE(diff.has_value()) << diff.value_or("");
    if (single.empty()) {
      single = actual;
      continue;
    }
    auto bits = ir::compareTensors(actual[0], single[0], ir::Tolerance{0, 0});
    EXPECT_FALSE(bits.has_value()) << bits.value_or("");
  }
}

// Pooling between blocked convolutions runs on the blocked tensor (a window
// over (H, W, lanes) that does not move along the lanes): padded and
// strided MaxPool, and an AveragePool that counts the padding, against the
// interpreter.
TEST(BlockedConv, PoolingOnBlockedTensorsMatchesTheInterpreter) {
  std::mt19937 rng(9);
  ir::GraphBuilder b("g");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape({2, 3, 15, 14})));
  const ir::Attributes same = padOne();
  Value* c1 = b.unary(OpKind::Relu, b.op(OpKind::Conv, {x, b.constant("w1", randomTensor({40, 3, 3, 3}, rng))}, same));
  ir::Attributes maxAttrs;
  maxAttrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  maxAttrs.set("strides", std::vector<int64_t>{2, 2});
  maxAttrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* pooled = b.op(OpKind::MaxPool, {c1}, maxAttrs);  // [2, 40, 8, 7]
  Value* c2 = b.op(OpKind::Conv, {pooled, b.constant("w2", randomTensor({24, 40, 3, 3}, rng))}, same);
  ir::Attributes avgAttrs;
  avgAttrs.set("kernel_shape", std::vector<int64_t>{2, 3});
  avgAttrs.set("pads", std::vector<int64_t>{1, 0, 0, 1});
  avgAttrs.set("count_include_pad", int64_t(1));
  b.output(b.op(OpKind::AveragePool, {c2}, avgAttrs));
  ir::Graph g = b.finish();
  std::string d = expectCpuMatchesInterpreter(g, {{"x", randomTensor({2, 3, 15, 14}, rng)}});
  // Both pools are nodes the blocked-layout pass made (named .../blocked*).
  EXPECT_NE(d.find("blocked.1' (MaxPool) -> JIT kernel"), std::string::npos) << d;
  EXPECT_NE(d.find("blocked.3' (AveragePool) -> JIT kernel"), std::string::npos) << d;
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
}

// End pads past a kernel's reach leave whole output rows and columns with no
// tap inside: such a conv is not blocked (BlockedConvShape::check refuses
// it), and runs right as it is.
TEST(BlockedConv, EndPadsPastTheKernelLeaveTheConvUnblocked) {
  std::mt19937 rng(5);
  ir::GraphBuilder b("g");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape({1, 16, 6, 7})));
  ir::Attributes pointwise, wide;
  pointwise.set("pads", std::vector<int64_t>{0, 0, 2, 1});
  wide.set("pads", std::vector<int64_t>{1, 1, 5, 1});
  Value* y = b.op(OpKind::Conv, {x, b.constant("w1", randomTensor({16, 16, 1, 1}, rng))}, pointwise);
  y = b.op(OpKind::Conv, {y, b.constant("w2", randomTensor({16, 16, 3, 3}, rng))}, wide);
  b.output(y);
  std::string d = expectCpuMatchesInterpreter(b.finish(), {{"x", randomTensor({1, 16, 6, 7}, rng)}});
  EXPECT_EQ(countLines(d, "-> blocked conv"), 0) << d;
}
