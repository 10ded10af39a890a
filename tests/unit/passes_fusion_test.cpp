// The Fused op and the fusion pass: golden IR, interpreter equivalence, the
// printer/parser round trip, and kernel counts of the real test models.
#include "frontend/onnx/importer.h"
#include "ir/builder.h"
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

// The MatMul's kernel takes %q, which reads %s. %c may not join %s's kernel:
// %t reads the MatMul's kernel, which reads %s's kernel, so the two kernels
// would read each other.
const char* kCrossKernel = R"(graph @g(%x: f32[2,2], %y: f32[2,2]) {
  %w: f32[2,2] = const [1.0, 2.0, 3.0, 4.0]
  %m: f32[2,2] = MatMul(%x, %w)
  %s: f32[2,2] = Neg(%y)
  %q: f32[2,2] = Add(%m, %s)
  %t: f32[2,2] = Transpose(%m)
  %c: f32[2,2] = Mul(%s, %t)
  return %q, %c
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

const passes::PassContext kWithAttention{.fuseAttention = true};

// Scaled, masked dot-product attention over 2 heads: one attention kernel.
const char* kAttention = R"(graph @g(%q: f32[1,2,3,4], %kt: f32[1,2,4,5], %v: f32[1,2,5,4], %mask: f32[1,1,1,5]) {
  %scale: f32[] = const [2.0]
  %s: f32[1,2,3,5] = MatMul(%q, %kt)
  %d: f32[1,2,3,5] = Div(%s, %scale)
  %m: f32[1,2,3,5] = Add(%d, %mask)
  %p: f32[1,2,3,5] = Softmax(%m) {axis = -1}
  %y: f32[1,2,3,4] = MatMul(%p, %v)
  return %y
}
)";

// The probabilities are also a result (as the backward pass of a training
// graph reads them): no attention kernel, the usual kernels instead.
const char* kAttentionProbabilitiesRead = R"(graph @g(%q: f32[2,3,4], %kt: f32[2,4,5], %v: f32[2,5,4]) {
  %s: f32[2,3,5] = MatMul(%q, %kt)
  %p: f32[2,3,5] = Softmax(%s) {axis = -1}
  %y: f32[2,3,4] = MatMul(%p, %v)
  return %y, %p
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
TEST(Fusion, KernelsDoNotReadEachOther) {
  expectPasses({"fusion"}, kCrossKernel, R"(graph @g(%x: f32[2,2], %y: f32[2,2]) {
  %w: f32[2,2] = const [1.0, 2.0, 3.0, 4.0]
  %s: f32[2,2] = Fused(%y) {body = graph @elementwise(%y: f32[2,2]) {
      %s: f32[2,2] = Neg(%y)
      return %s
    }, kind = "elementwise"}
  %m: f32[2,2], %q: f32[2,2] = Fused(%x, %w, %s) {body = graph @matmul(%x: f32[2,2], %w: f32[2,2], %s: f32[2,2]) {
      %m: f32[2,2] = MatMul(%x, %w)
      %q: f32[2,2] = Add(%m, %s)
      return %m, %q
    }, kind = "matmul"}
  %t: f32[2,2] = Transpose(%m)
  %c: f32[2,2] = Fused(%s, %t) {body = graph @elementwise(%s: f32[2,2], %t: f32[2,2]) {
      %c: f32[2,2] = Mul(%s, %t)
      return %c
    }, kind = "elementwise"}
  return %q, %c
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

TEST(Fusion, ScaledMaskedAttentionIsOneKernel) {
  expectPasses({"fusion"}, kAttention,
               R"(graph @g(%q: f32[1,2,3,4], %kt: f32[1,2,4,5], %v: f32[1,2,5,4], %mask: f32[1,1,1,5]) {
  %y: f32[1,2,3,4] = Fused(%q, %kt, %mask, %v) {body = graph @attention(%q: f32[1,2,3,4], %kt: f32[1,2,4,5], %mask: f32[1,1,1,5], %v: f32[1,2,5,4]) {
      %scale: f32[] = const [2.0]
      %s: f32[1,2,3,5] = MatMul(%q, %kt)
      %d: f32[1,2,3,5] = Div(%s, %scale)
      %m: f32[1,2,3,5] = Add(%d, %mask)
      %p: f32[1,2,3,5] = Softmax(%m) {axis = -1}
      %y: f32[1,2,3,4] = MatMul(%p, %v)
      return %y
    }, kind = "attention"}
  return %y
}
)",
               true, kWithAttention);
  // Not asked for (the CPU's default): the usual kernels.
  ir::Graph g = ir::parseGraph(kAttention);
  passes::findPass("fusion")->run(g, {});
  EXPECT_EQ(ir::printGraph(g).find("attention"), std::string::npos) << ir::printGraph(g);
}
TEST(Fusion, AttentionWhoseProbabilitiesAreReadIsNotOneKernel) {
  expectPasses({"fusion"}, kAttentionProbabilitiesRead, R"(graph @g(%q: f32[2,3,4], %kt: f32[2,4,5], %v: f32[2,5,4]) {
  %s: f32[2,3,5] = Fused(%q, %kt) {body = graph @matmul(%q: f32[2,3,4], %kt: f32[2,4,5]) {
      %s: f32[2,3,5] = MatMul(%q, %kt)
      return %s
    }, kind = "matmul"}
  %p: f32[2,3,5] = Fused(%s) {body = graph @softmax(%s: f32[2,3,5]) {
      %p: f32[2,3,5] = Softmax(%s) {axis = -1}
      return %p
    }, kind = "softmax"}
  %y: f32[2,3,4] = Fused(%p, %v) {body = graph @matmul(%p: f32[2,3,5], %v: f32[2,5,4]) {
      %y: f32[2,3,4] = MatMul(%p, %v)
      return %y
    }, kind = "matmul"}
  return %y, %p
}
)",
               true, kWithAttention);
}

TEST(Fusion, InterpreterResultsAgree) {
  expectSameResults({"fusion"}, kMatMulBiasRelu, {{"x", ramp({2, 3}, 0.5)}});
  expectSameResults({"fusion"}, kConvResidual, {{"x", ramp({1, 2, 3, 3}, 0.5)}});
  expectSameResults({"fusion"}, kGelu, {{"x", ramp({2, 3}, 0.5)}});
  expectSameResults({"fusion"}, kMaskedSoftmax, {{"x", ramp({2, 4}, 0.5)}, {"mask", ramp({2, 4}, -2.0)}});
  expectSameResults({"fusion"}, kLayerNorm, {{"x", ramp({2, 4}, 0.5)}});
  expectSameResults({"fusion"}, kDiamond, {{"x", ramp({2, 2}, 0.5)}});
  expectSameResults({"fusion"}, kIntermediateOut, {{"x", ramp({2, 3}, 0.5)}});
  expectSameResults({"fusion"}, kCrossKernel, {{"x", ramp({2, 2}, 0.5)}, {"y", ramp({2, 2}, 0.25)}});
  expectSameResults({"fusion"}, kReduce, {{"x", ramp({2, 4}, 0.5)}});
  expectSameResults({"fusion"}, kAttention,
                    {{"q", ramp({1, 2, 3, 4}, 0.5)},
                     {"kt", ramp({1, 2, 4, 5}, 0.25)},
                     {"v", ramp({1, 2, 5, 4}, 1.0)},
                     {"mask", ramp({1, 1, 1, 5}, -3.0)}},
                    1e-5, kWithAttention);
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
  // An attention kernel's Softmax must be over the keys (the last axis).
  ir::Graph a = ir::parseGraph(R"(graph @g(%q: f32[3,4], %kt: f32[4,5], %v: f32[5,4]) {
  %y: f32[3,4] = Fused(%q, %kt, %v) {body = graph @b(%q: f32[3,4], %kt: f32[4,5], %v: f32[5,4]) {
      %s: f32[3,5] = MatMul(%q, %kt)
      %p: f32[3,5] = Softmax(%s) {axis = 0}
      %y: f32[3,4] = MatMul(%p, %v)
      return %y
    }, kind = "attention"}
  return %y
}
)");
  EXPECT_THROW(ir::inferTypes(a), UserError);
}

// Kernel counts of the real models after the default pipeline (static
// shapes: the symbolic batch N is bound to 2), as tinygrad's
// assert_kernel_count: {nodes, of which Fused}.
namespace {
std::pair<size_t, size_t> countsAfterPipeline(const std::string& model, bool optimize,
                                              const passes::PassContext& ctx = {}) {
  frontend::onnx::ImportOptions options;
  options.dimBindings = {{"N", 2}};
  ir::Graph g =
      frontend::onnx::importOnnxFile(std::string(DLC_TEST_MODELS_DIR) + "/" + model + "/model.onnx", options).graph;
  if (optimize) passes::defaultPipeline(ctx).run(g);
  size_t fused = 0;
  for (const ir::Node* n : g.nodes()) fused += n->op() == ir::OpKind::Fused;
  return {g.numNodes(), fused};
}
using Counts = std::pair<size_t, size_t>;
}  // namespace

TEST(Fusion, RealModelKernelCounts) {
  EXPECT_EQ(countsAfterPipeline("bert_tiny", false), Counts(163, 0));
  EXPECT_EQ(countsAfterPipeline("bert_tiny", true), Counts(75, 29));
  // Each layer's attention: 1 kernel instead of 3 (MatMul with its scale and
  // mask, Softmax, MatMul).
  EXPECT_EQ(countsAfterPipeline("bert_tiny", true, kWithAttention), Counts(71, 25));
  EXPECT_EQ(countsAfterPipeline("gpt_tiny", true), Counts(40, 21));
  EXPECT_EQ(countsAfterPipeline("gpt_tiny", true, kWithAttention), Counts(36, 17));
  EXPECT_EQ(countsAfterPipeline("resnet_tiny", false), Counts(49, 0));
  EXPECT_EQ(countsAfterPipeline("resnet_tiny", true), Counts(24, 21));
  EXPECT_EQ(countsAfterPipeline("mobilenet_tiny", false), Counts(21, 0));
  EXPECT_EQ(countsAfterPipeline("mobilenet_tiny", true), Counts(12, 12));
  EXPECT_EQ(countsAfterPipeline("lstm_tiny", false), Counts(28, 0));
  EXPECT_EQ(countsAfterPipeline("lstm_tiny", true), Counts(8, 1));
}

TEST(Fusion, RunningItAgainChangesNothing) {
  ir::Graph g = ir::parseGraph(kGelu);
  EXPECT_TRUE(passes::findPass("fusion")->run(g, {}));
  std::string once = ir::printGraph(g);
  EXPECT_FALSE(passes::findPass("fusion")->run(g, {}));
  EXPECT_EQ(ir::printGraph(g), once);
}

// Random DAGs of anchors, elementwise ops and layout ops on [4,4] values
// (many diamonds and values read by several kernels): after the default
// pipeline the graph is valid (so kernels form no cycle) and computes the same.
TEST(Fusion, RandomGraphsStayAcyclicAndEquivalent) {
  uint64_t state = 12345;
  auto next = [&](uint64_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % n;
  };
  const ir::OpKind binary[] = {ir::OpKind::MatMul, ir::OpKind::Add, ir::OpKind::Mul, ir::OpKind::Sub};
  const ir::OpKind unary[] = {ir::OpKind::Relu, ir::OpKind::Neg, ir::OpKind::Transpose, ir::OpKind::Softmax,
                              ir::OpKind::Tanh, ir::OpKind::Identity};
  int fusedTotal = 0;
  for (int trial = 0; trial < 200; ++trial) {
    ir::GraphBuilder b("random");
    ir::TensorType t(ir::DType::F32, ir::Shape{4, 4});
    std::vector<ir::Value*> values = {b.input("x", t), b.input("y", t), b.constant("c", ramp({4, 4}, 0.1))};
    int numNodes = 4 + int(next(12));
    for (int i = 0; i < numNodes; ++i) {
      ir::Value* a = values[next(values.size())];
      if (next(2) == 0) {
        ir::Value* c = values[next(values.size())];
        values.push_back(b.op(binary[next(4)], {a, c}));
      } else {
        values.push_back(b.op(unary[next(6)], {a}));
      }
    }
    b.output(values.back());
    if (values.size() > 5) b.output(values[3 + next(values.size() - 4)]);
    ir::Graph g = b.finish();
    std::string text = ir::printGraph(g);
    ir::Graph after = ir::parseGraph(text);
    passes::defaultPipeline().run(after);  // verifies after each pass
    for (const ir::Node* n : after.nodes()) fusedTotal += n->op() == ir::OpKind::Fused;
    ir::NamedTensors inputs = {{"x", ramp({4, 4}, 0.3)}, {"y", ramp({4, 4}, -0.2)}};
    auto want = ir::interpret(g, inputs);
    auto got = ir::interpret(after, inputs);
    ASSERT_EQ(want.size(), got.size()) << text;
    for (size_t i = 0; i < want.size(); ++i)
      for (int64_t k = 0; k < want[i].numel(); ++k)
        ASSERT_NEAR(want[i].getDouble(k), got[i].getDouble(k), 1e-4 * (1 + std::abs(want[i].getDouble(k)))) << text;
  }
  EXPECT_GT(fusedTotal, 200);  // the graphs did fuse
}

TEST(DefaultPipeline, ConvBatchNormReluIsOneKernel) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[1,2,3,3]) {
  %w: f32[2,2,1,1] = const [1.0, 2.0, 3.0, 4.0]
  %scale: f32[2] = const [2.0, 0.5]
  %bias: f32[2] = const [1.0, 0.0]
  %mean: f32[2] = const [0.5, 1.0]
  %var: f32[2] = const [0.25, 1.0]
  %c: f32[1,2,3,3] = Conv(%x, %w) loc("conv", "conv")
  %n: f32[1,2,3,3] = BatchNormalization(%c, %scale, %bias, %mean, %var) {epsilon = 0.0} loc("bn", "bn")
  %y: f32[1,2,3,3] = Relu(%n) loc("relu", "relu")
  return %y
}
)");
  passes::defaultPipeline().run(g);
  EXPECT_EQ(ir::printGraph(g), R"(graph @g(%x: f32[1,2,3,3]) {
  %w.bn: f32[2,2,1,1] = const [4.0, 8.0, 1.5, 2.0]
  %c.bias.bn: f32[2] = const [-1.0, -0.5]
  %y: f32[1,2,3,3] = Fused(%x, %w.bn, %c.bias.bn) {body = graph @conv(%x: f32[1,2,3,3], %w.bn: f32[2,2,1,1], %c.bias.bn: f32[2]) {
      %c: f32[1,2,3,3] = Conv(%x, %w.bn, %c.bias.bn) loc("conv", "conv", "bn")
      %y: f32[1,2,3,3] = Relu(%c) loc("relu", "relu")
      return %y
    }, kind = "conv"} loc("conv", "conv", "bn", "relu")
  return %y
}
)");
}
