// The Fused op and the fusion pass: golden IR, interpreter equivalence, the
// printer/parser round trip, and kernel counts of the real test models.
#include "frontend/onnx/importer.h"
#include "ir/infer.h"
#include "tests/unit/pass_test_util.h"

using namespace dlc;
using dlc::testing::expectPasses;
using dlc::testing::expectSameResults;

namespace {

ir::Tensor ramp(std::vector<int64_t> shape, double step) {
  ir::Tensor t(ir::DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, (i % 7 - 3) * step);
  return t;
}

const char* kMatMulBiasRelu = R"(graph @g(%x: f32[2,3]) {
  %w: f32[3,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5]
  %b: f32[2] = const [0.5, -0.5]
  %m: f32[2,2] = MatMul(%x, %w) loc("mm", "mm")
  %a: f32[2,2] = Add(%m, %b) loc("add", "add")
  %y: f32[2,2] = Relu(%a) loc("relu", "relu")
  return %y
}
)";

const char* kConvResidual = R"(graph @g(%x: f32[1,2,3,3]) {
  %w: f32[2,2,1,1] = const [1.0, 2.0, -3.0, 4.0]
  %b: f32[2,1,1] = const [0.5, -0.5]
  %c: f32[1,2,3,3] = Conv(%x, %w) loc("conv", "conv")
  %cb: f32[1,2,3,3] = Add(%c, %b) loc("bias", "bias")
  %r: f32[1,2,3,3] = Add(%cb, %x) loc("residual", "residual")
  %y: f32[1,2,3,3] = Relu(%r) loc("relu", "relu")
  return %y
}
)";

const char* kGelu = R"(graph @g(%x: f32[2,3]) {
  %w: f32[3,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5]
  %b: f32[2] = const [0.5, -0.5]
  %sqrt2: f32[] = const [1.4142135]
  %one: f32[] = const [1.0]
  %half: f32[] = const [0.5]
  %m: f32[2,2] = MatMul(%x, %w)
  %h: f32[2,2] = Add(%m, %b)
  %d: f32[2,2] = Div(%h, %sqrt2)
  %e: f32[2,2] = Erf(%d)
  %p: f32[2,2] = Add(%e, %one)
  %q: f32[2,2] = Mul(%h, %p)
  %y: f32[2,2] = Mul(%q, %half)
  return %y
}
)";

const char* kMaskedSoftmax = R"(graph @g(%x: f32[2,4], %mask: f32[2,4]) {
  %scale: f32[] = const [0.5]
  %s: f32[2,4] = Mul(%x, %scale)
  %a: f32[2,4] = Add(%s, %mask)
  %y: f32[2,4] = Softmax(%a) {axis = -1}
  return %y
}
)";

const char* kLayerNorm = R"(graph @g(%x: f32[2,4]) {
  %gamma: f32[4] = const [1.0, 2.0, 0.5, 1.0]
  %beta: f32[4] = const [0.0, 0.1, 0.2, 0.3]
  %n: f32[2,4] = LayerNormalization(%x, %gamma, %beta) {axis = -1}
  %y: f32[2,4] = Add(%n, %x)
  return %y
}
)";

// %t depends on the MatMul, so the Add cannot join it (MatMul -> Transpose ->
// Add would be a cycle through the kernel).
const char* kDiamond = R"(graph @g(%x: f32[2,2]) {
  %w: f32[2,2] = const [1.0, 2.0, 3.0, 4.0]
  %m: f32[2,2] = MatMul(%x, %w)
  %n: f32[2,2] = Neg(%m)
  %t: f32[2,2] = Transpose(%m)
  %y: f32[2,2] = Add(%n, %t)
  return %y
}
)";

const char* kIntermediateOut = R"(graph @g(%x: f32[2,3]) {
  %w: f32[3,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5]
  %b: f32[2] = const [0.5, -0.5]
  %m: f32[2,2] = MatMul(%x, %w)
  %a: f32[2,2] = Add(%m, %b)
  %y: f32[2,2] = Relu(%a)
  %z: f32[2,2] = Transpose(%a)
  return %y, %z
}
)";

const char* kReduce = R"(graph @g(%x: f32[2,4]) {
  %axes: i64[1] = const [1]
  %r: f32[2,1] = ReduceSumSquare(%x, %axes)
  %y: f32[2,1] = Sqrt(%r)
  return %y
}
)";

}  // namespace

TEST(Fusion, MatMulBiasRelu) {
  expectPasses({"fusion"}, kMatMulBiasRelu, R"(graph @g(%x: f32[2,3]) {
  %w: f32[3,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5]
  %b: f32[2] = const [0.5, -0.5]
  %y: f32[2,2] = Fused(%x, %w, %b) {body = graph @mm(%x: f32[2,3], %w: f32[3,2], %b: f32[2]) {
      %m: f32[2,2] = MatMul(%x, %w) loc("mm", "mm")
      %a: f32[2,2] = Add(%m, %b) loc("add", "add")
      %y: f32[2,2] = Relu(%a) loc("relu", "relu")
      return %y
    }, kind = "matmul"} loc("mm", "mm", "add", "relu")
  return %y
}
)");
}
TEST(Fusion, ConvBiasResidualRelu) {
  expectPasses({"fusion"}, kConvResidual, R"(graph @g(%x: f32[1,2,3,3]) {
  %w: f32[2,2,1,1] = const [1.0, 2.0, -3.0, 4.0]
  %b: f32[2,1,1] = const [0.5, -0.5]
  %y: f32[1,2,3,3] = Fused(%x, %w, %b) {body = graph @conv(%x: f32[1,2,3,3], %w: f32[2,2,1,1], %b: f32[2,1,1]) {
      %c: f32[1,2,3,3] = Conv(%x, %w) loc("conv", "conv")
      %cb: f32[1,2,3,3] = Add(%c, %b) loc("bias", "bias")
      %r: f32[1,2,3,3] = Add(%cb, %x) loc("residual", "residual")
      %y: f32[1,2,3,3] = Relu(%r) loc("relu", "relu")
      return %y
    }, kind = "conv"} loc("conv", "conv", "bias", "residual", "relu")
  return %y
}
)");
}
TEST(Fusion, DecomposedGeluAfterMatMulBias) {
  expectPasses({"fusion"}, kGelu, R"(graph @g(%x: f32[2,3]) {
  %w: f32[3,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5]
  %b: f32[2] = const [0.5, -0.5]
  %y: f32[2,2] = Fused(%x, %w, %b) {body = graph @matmul(%x: f32[2,3], %w: f32[3,2], %b: f32[2]) {
      %sqrt2: f32[] = const [1.4142135381698608]
      %one: f32[] = const [1.0]
      %half: f32[] = const [0.5]
      %m: f32[2,2] = MatMul(%x, %w)
      %h: f32[2,2] = Add(%m, %b)
      %d: f32[2,2] = Div(%h, %sqrt2)
      %e: f32[2,2] = Erf(%d)
      %p: f32[2,2] = Add(%e, %one)
      %q: f32[2,2] = Mul(%h, %p)
      %y: f32[2,2] = Mul(%q, %half)
      return %y
    }, kind = "matmul"}
  return %y
}
)");
}
TEST(Fusion, SoftmaxAfterScaleAndMask) {
  expectPasses({"fusion"}, kMaskedSoftmax, R"(graph @g(%x: f32[2,4], %mask: f32[2,4]) {
  %a: f32[2,4] = Fused(%x, %mask) {body = graph @elementwise(%x: f32[2,4], %mask: f32[2,4]) {
      %scale: f32[] = const [0.5]
      %s: f32[2,4] = Mul(%x, %scale)
      %a: f32[2,4] = Add(%s, %mask)
      return %a
    }, kind = "elementwise"}
  %y: f32[2,4] = Fused(%a) {body = graph @softmax(%a: f32[2,4]) {
      %y: f32[2,4] = Softmax(%a) {axis = -1}
      return %y
    }, kind = "softmax"}
  return %y
}
)");
}
TEST(Fusion, LayerNormWithResidual) {
  expectPasses({"fusion"}, kLayerNorm, R"(graph @g(%x: f32[2,4]) {
  %gamma: f32[4] = const [1.0, 2.0, 0.5, 1.0]
  %beta: f32[4] = const [0.0, 0.10000000149011612, 0.20000000298023224, 0.30000001192092896]
  %y: f32[2,4] = Fused(%x, %gamma, %beta) {body = graph @layernorm(%x: f32[2,4], %gamma: f32[4], %beta: f32[4]) {
      %n: f32[2,4] = LayerNormalization(%x, %gamma, %beta) {axis = -1}
      %y: f32[2,4] = Add(%n, %x)
      return %y
    }, kind = "layernorm"}
  return %y
}
)");
}
TEST(Fusion, DiamondDoesNotFuseIntoACycle) {
  expectPasses({"fusion"}, kDiamond, R"(graph @g(%x: f32[2,2]) {
  %w: f32[2,2] = const [1.0, 2.0, 3.0, 4.0]
  %m: f32[2,2], %n: f32[2,2] = Fused(%x, %w) {body = graph @matmul(%x: f32[2,2], %w: f32[2,2]) {
      %m: f32[2,2] = MatMul(%x, %w)
      %n: f32[2,2] = Neg(%m)
      return %m, %n
    }, kind = "matmul"}
  %t: f32[2,2] = Transpose(%m)
  %y: f32[2,2] = Fused(%n, %t) {body = graph @elementwise(%n: f32[2,2], %t: f32[2,2]) {
      %y: f32[2,2] = Add(%n, %t)
      return %y
    }, kind = "elementwise"}
  return %y
}
)");
}
TEST(Fusion, IntermediateReadOutsideIsAResult) {
  expectPasses({"fusion"}, kIntermediateOut, R"(graph @g(%x: f32[2,3]) {
  %w: f32[3,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5]
  %b: f32[2] = const [0.5, -0.5]
  %a: f32[2,2], %y: f32[2,2] = Fused(%x, %w, %b) {body = graph @matmul(%x: f32[2,3], %w: f32[3,2], %b: f32[2]) {
      %m: f32[2,2] = MatMul(%x, %w)
      %a: f32[2,2] = Add(%m, %b)
      %y: f32[2,2] = Relu(%a)
      return %a, %y
    }, kind = "matmul"}
  %z: f32[2,2] = Transpose(%a)
  return %y, %z
}
)");
}
TEST(Fusion, ReductionWithEpilogue) {
  expectPasses({"fusion"}, kReduce, R"(graph @g(%x: f32[2,4]) {
  %y: f32[2,1] = Fused(%x) {body = graph @reduce(%x: f32[2,4]) {
      %axes: i64[1] = const [1]
      %r: f32[2,1] = ReduceSumSquare(%x, %axes)
      %y: f32[2,1] = Sqrt(%r)
      return %y
    }, kind = "reduce"}
  return %y
}
)");
}

TEST(Fusion, InterpreterResultsAgree) {
  expectSameResults({"fusion"}, kMatMulBiasRelu, {{"x", ramp({2, 3}, 0.5)}});
  expectSameResults({"fusion"}, kConvResidual, {{"x", ramp({1, 2, 3, 3}, 0.5)}});
  expectSameResults({"fusion"}, kGelu, {{"x", ramp({2, 3}, 0.5)}});
  expectSameResults({"fusion"}, kMaskedSoftmax, {{"x", ramp({2, 4}, 0.5)}, {"mask", ramp({2, 4}, -2.0)}});
  expectSameResults({"fusion"}, kLayerNorm, {{"x", ramp({2, 4}, 0.5)}});
  expectSameResults({"fusion"}, kDiamond, {{"x", ramp({2, 2}, 0.5)}});
  expectSameResults({"fusion"}, kIntermediateOut, {{"x", ramp({2, 3}, 0.5)}});
  expectSameResults({"fusion"}, kReduce, {{"x", ramp({2, 4}, 0.5)}});
}

TEST(Fusion, SymbolicShapesAreLeftAlone) {
  const char* text = R"(graph @g(%x: f32[N,3]) {
  %w: f32[3,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5]
  %m: f32[N,2] = MatMul(%x, %w)
  %y: f32[N,2] = Relu(%m)
  return %y
}
)";
  expectPasses({"fusion"}, text, text, false);
}

TEST(Fusion, FusedGraphRoundTripsThroughText) {
  for (const char* text : {kGelu, kIntermediateOut, kReduce}) {
    ir::Graph g = ir::parseGraph(text);
    passes::findPass("fusion")->run(g, {});
    std::string printed = ir::printGraph(g);
    ir::Graph again = ir::parseGraph(printed);
    ir::inferTypes(again);
    EXPECT_TRUE(ir::verify(again).empty());
    EXPECT_EQ(ir::printGraph(again), printed);
  }
}

TEST(FusedOp, InferenceRejectsABodyThatBreaksItsKind) {
  // A matmul kernel must start with MatMul.
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[2,2]) {
  %y: f32[2,2] = Fused(%x) {body = graph @b(%x: f32[2,2]) {
      %r: f32[2,2] = Relu(%x)
      return %r
    }, kind = "matmul"}
  return %y
}
)");
  EXPECT_THROW(ir::inferTypes(g), UserError);
  // Operand types must match the body's inputs.
  ir::Graph h = ir::parseGraph(R"(graph @g(%x: f32[2,3]) {
  %y: f32[2,2] = Fused(%x) {body = graph @b(%x: f32[2,2]) {
      %r: f32[2,2] = Relu(%x)
      return %r
    }, kind = "elementwise"}
  return %y
}
)");
  EXPECT_THROW(ir::inferTypes(h), UserError);
}

// Kernel counts of the real models after the default pipeline (static
// shapes: the symbolic batch N is bound to 2), as tinygrad's
// assert_kernel_count: {nodes, of which Fused}.
namespace {
std::pair<size_t, size_t> countsAfterPipeline(const std::string& model, bool optimize) {
  frontend::onnx::ImportOptions options;
  options.dimBindings = {{"N", 2}};
  ir::Graph g =
      frontend::onnx::importOnnxFile(std::string(DLC_TEST_MODELS_DIR) + "/" + model + "/model.onnx", options).graph;
  if (optimize) passes::defaultPipeline().run(g);
  size_t fused = 0;
  for (const ir::Node* n : g.nodes()) fused += n->op() == ir::OpKind::Fused;
  return {g.numNodes(), fused};
}
using Counts = std::pair<size_t, size_t>;
}  // namespace

TEST(Fusion, RealModelKernelCounts) {
  EXPECT_EQ(countsAfterPipeline("bert_tiny", false), Counts(163, 0));
  EXPECT_EQ(countsAfterPipeline("bert_tiny", true), Counts(75, 29));
  EXPECT_EQ(countsAfterPipeline("resnet_tiny", false), Counts(49, 0));
  EXPECT_EQ(countsAfterPipeline("resnet_tiny", true), Counts(24, 21));
  EXPECT_EQ(countsAfterPipeline("mobilenet_tiny", false), Counts(21, 0));
  EXPECT_EQ(countsAfterPipeline("mobilenet_tiny", true), Counts(12, 12));
  EXPECT_EQ(countsAfterPipeline("lstm_tiny", false), Counts(28, 0));
  EXPECT_EQ(countsAfterPipeline("lstm_tiny", true), Counts(8, 1));
}
