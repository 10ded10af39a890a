// autocastMatrixProducts (passes/autocast.cpp), golden IR in and out: the
// matrix products and ungrouped convolutions compute in the half type
// between casts, a constant weight's cast folds into a half constant,
// everything else stays f32, and a graph without f32 products is left alone.
#include "tests/unit/pass_test_util.h"

namespace dlc {
namespace {

std::string autocastThen(const std::string& text, ir::DType half, bool* changed) {
  ir::Graph g = ir::parseGraph(text);
  *changed = passes::autocastMatrixProducts(g, half);
  EXPECT_TRUE(ir::verify(g).empty()) << fmt::format("{}", fmt::join(ir::verify(g), "\n"));
  for (const char* name : {"constant-folding", "dce"}) passes::findPass(name)->run(g, {});
  EXPECT_TRUE(ir::verify(g).empty());
  return ir::printGraph(g);
}

TEST(Autocast, MatrixProductsRunInHalfBetweenCasts) {
  bool changed = false;
  std::string out = autocastThen(R"(graph @g(%x: f32[2,3], %y: f32[4,2]) {
  %w: f32[3,4] = const [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
  %b: f32[2] = const [0.5, -1]
  %m: f32[2,4] = MatMul(%x, %w) loc("mm", "mm")
  %r: f32[2,4] = Relu(%m)
  %s: f32[2,4] = Softmax(%r) {axis = -1}
  %g: f32[2,2] = Gemm(%s, %y, %b) {transB = 0}
  return %g
}
)",
                                 ir::DType::F16, &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(out, R"(graph @g(%x: f32[2,3], %y: f32[4,2]) {
  %w.f16.folded: f16[3,4] = const [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
  %b.f16.folded: f16[2] = const [0.5, -1.0]
  %x.f16: f16[2,3] = Cast(%x) {to = "f16"} loc("mm", "mm")
  %m.f16: f16[2,4] = MatMul(%x.f16, %w.f16.folded) loc("mm", "mm")
  %m: f32[2,4] = Cast(%m.f16) {to = "f32"} loc("mm", "mm")
  %r: f32[2,4] = Relu(%m)
  %s: f32[2,4] = Softmax(%r) {axis = -1}
  %s.f16: f16[2,4] = Cast(%s) {to = "f16"}
  %y.f16: f16[4,2] = Cast(%y) {to = "f16"}
  %g.f16: f16[2,2] = Gemm(%s.f16, %y.f16, %b.f16.folded) {transB = 0}
  %g: f32[2,2] = Cast(%g.f16) {to = "f32"}
  return %g
}
)");
}

// A plain convolution computes in half; a depthwise one (group > 1) stays
// f32, a memory-bound kernel of its own.
TEST(Autocast, UngroupedConvolutionsOnly) {
  bool changed = false;
  std::string out = autocastThen(R"(graph @g(%x: f32[1,2,3,3], %w: f32[2,2,1,1], %d: f32[2,1,1,1]) {
  %c: f32[1,2,3,3] = Conv(%x, %w)
  %e: f32[1,2,3,3] = Conv(%c, %d) {group = 2}
  return %e
}
)",
                                 ir::DType::BF16, &changed);
  EXPECT_TRUE(changed);
  EXPECT_EQ(out, R"(graph @g(%x: f32[1,2,3,3], %w: f32[2,2,1,1], %d: f32[2,1,1,1]) {
  %x.bf16: bf16[1,2,3,3] = Cast(%x) {to = "bf16"}
  %w.bf16: bf16[2,2,1,1] = Cast(%w) {to = "bf16"}
  %c.bf16: bf16[1,2,3,3] = Conv(%x.bf16, %w.bf16)
  %c: f32[1,2,3,3] = Cast(%c.bf16) {to = "f32"}
  %e: f32[1,2,3,3] = Conv(%c, %d) {group = 2}
  return %e
}
)");
}

TEST(Autocast, NoF32ProductsNoChange) {
  bool changed = true;
  const std::string text = R"(graph @g(%x: f32[2,3]) {
  %r: f32[2,3] = Relu(%x)
  return %r
}
)";
  EXPECT_EQ(autocastThen(text, ir::DType::BF16, &changed), text);
  EXPECT_FALSE(changed);
}

}  // namespace
}  // namespace dlc
