// fold-batchnorm: golden IR and numeric equivalence on the interpreter.
#include "tests/unit/pass_test_util.h"

using namespace dlc;
using dlc::testing::expectPasses;
using dlc::testing::expectSameResults;

namespace {

// s = scale / sqrt(var) = [4, 0.5]; t = bias - mean * s = [-1, -0.5].
const char* kParams = R"(
  %scale: f32[2] = const [2.0, 0.5]
  %bias: f32[2] = const [1.0, 0.0]
  %mean: f32[2] = const [0.5, 1.0]
  %var: f32[2] = const [0.25, 1.0])";

std::string graphWith(const std::string& signature, const std::string& constants, const std::string& nodes) {
  return "graph @g(" + signature + ") {" + kParams + "\n" + constants + nodes + "}\n";
}

ir::Tensor ramp(std::vector<int64_t> shape, double step) {
  ir::Tensor t(ir::DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, (i % 7 - 3) * step);
  return t;
}

}  // namespace

TEST(FoldBatchNorm, IntoConvWeightAndBias) {
  expectPasses({"fold-batchnorm", "dce"},
               graphWith("%x: f32[1,2,3,3]",
                         "  %w: f32[2,2,1,1] = const [1.0, 2.0, 3.0, 4.0]\n  %b: f32[2] = const [0.5, -0.5]\n",
                         "  %y: f32[1,2,3,3] = Conv(%x, %w, %b) loc(\"conv\", \"conv\")\n"
                         "  %z: f32[1,2,3,3] = BatchNormalization(%y, %scale, %bias, %mean, %var) {epsilon = 0.0} "
                         "loc(\"bn\", \"bn\")\n  return %z\n"),
               R"(graph @g(%x: f32[1,2,3,3]) {
  %w.bn: f32[2,2,1,1] = const [4.0, 8.0, 1.5, 2.0]
  %y.bias.bn: f32[2] = const [1.0, -0.75]
  %z: f32[1,2,3,3] = Conv(%x, %w.bn, %y.bias.bn) loc("conv", "conv", "bn")
  return %z
}
)");
}

TEST(FoldBatchNorm, IntoGemmWithTransposedWeightAndBeta) {
  // B^T columns scale by s; C' = beta * C * s + t = 0.5 * [2, 4] * [4, 0.5] + [-1, -0.5] = [3, 0.5].
  expectPasses({"fold-batchnorm", "dce"},
               graphWith("%x: f32[3,2]",
                         "  %w: f32[2,2] = const [1.0, 2.0, 3.0, 4.0]\n  %c: f32[1,2] = const [2.0, 4.0]\n",
                         "  %y: f32[3,2] = Gemm(%x, %w, %c) {beta = 0.5, transB = 1}\n"
                         "  %z: f32[3,2] = BatchNormalization(%y, %scale, %bias, %mean, %var) {epsilon = 0.0}\n"
                         "  return %z\n"),
               R"(graph @g(%x: f32[3,2]) {
  %w.bn: f32[2,2] = const [4.0, 8.0, 1.5, 2.0]
  %y.bias.bn: f32[2] = const [3.0, 0.5]
  %z: f32[3,2] = Gemm(%x, %w.bn, %y.bias.bn) {beta = 1.0, transB = 1}
  return %z
}
)");
}

TEST(FoldBatchNorm, MatMulBecomesGemm) {
  expectPasses({"fold-batchnorm", "dce"},
               graphWith("%x: f32[3,2]", "  %w: f32[2,2] = const [1.0, 2.0, 3.0, 4.0]\n",
                         "  %y: f32[3,2] = MatMul(%x, %w) loc(\"mm\", \"mm\")\n"
                         "  %z: f32[3,2] = BatchNormalization(%y, %scale, %bias, %mean, %var) {epsilon = 0.0}\n"
                         "  return %z\n"),
               R"(graph @g(%x: f32[3,2]) {
  %w.bn: f32[2,2] = const [4.0, 1.0, 12.0, 2.0]
  %y.bias.bn: f32[2] = const [-1.0, -0.5]
  %z: f32[3,2] = Gemm(%x, %w.bn, %y.bias.bn) loc("mm", "mm")
  return %z
}
)");
}

TEST(FoldBatchNorm, LoneBatchNormBecomesMulAdd) {
  expectPasses({"fold-batchnorm", "dce"},
               graphWith("%x: f32[1,2,3,3]", "",
                         "  %z: f32[1,2,3,3] = BatchNormalization(%x, %scale, %bias, %mean, %var) {epsilon = 0.0} "
                         "loc(\"bn\", \"bn\")\n  return %z\n"),
               R"(graph @g(%x: f32[1,2,3,3]) {
  %z.scale: f32[2,1,1] = const [4.0, 0.5]
  %z.shift: f32[2,1,1] = const [-1.0, -0.5]
  %bn: f32[1,2,3,3] = Mul(%x, %z.scale) loc("bn", "bn")
  %z: f32[1,2,3,3] = Add(%bn, %z.shift) loc("bn", "bn")
  return %z
}
)");
}

TEST(FoldBatchNorm, ConvReadTwiceKeepsItsWeights) {
  // The Conv's result is also returned: folding would change it, so the BN
  // becomes Mul+Add instead.
  expectPasses({"fold-batchnorm", "dce"},
               graphWith("%x: f32[1,2,1,1]", "  %w: f32[2,2,1,1] = const [1.0, 2.0, 3.0, 4.0]\n",
                         "  %y: f32[1,2,1,1] = Conv(%x, %w)\n"
                         "  %z: f32[1,2,1,1] = BatchNormalization(%y, %scale, %bias, %mean, %var) {epsilon = 0.0}\n"
                         "  return %z, %y\n"),
               R"(graph @g(%x: f32[1,2,1,1]) {
  %w: f32[2,2,1,1] = const [1.0, 2.0, 3.0, 4.0]
  %z.scale: f32[2,1,1] = const [4.0, 0.5]
  %z.shift: f32[2,1,1] = const [-1.0, -0.5]
  %y: f32[1,2,1,1] = Conv(%x, %w)
  %t: f32[1,2,1,1] = Mul(%y, %z.scale)
  %z: f32[1,2,1,1] = Add(%t, %z.shift)
  return %z, %y
}
)");
}

TEST(FoldBatchNorm, LeavesNonConstantStatisticsAlone) {
  const char* text = R"(graph @g(%x: f32[1,2,3], %m: f32[2]) {
  %s: f32[2] = const [1.0, 1.0]
  %z: f32[1,2,3] = BatchNormalization(%x, %s, %s, %m, %s)
  return %z
}
)";
  expectPasses({"fold-batchnorm"}, text, text, false);
}

TEST(FoldBatchNorm, InterpreterResultsAgree) {
  std::string conv = graphWith(
      "%x: f32[2,2,4,4]", "  %w: f32[2,2,3,3] = const [" +
                              [] {
                                std::string s;
                                for (int i = 0; i < 36; ++i) s += (i ? ", " : "") + std::to_string((i % 5) - 2) + ".5";
                                return s;
                              }() +
                              "]\n  %b: f32[2] = const [0.25, -1.0]\n",
      "  %y: f32[2,2,4,4] = Conv(%x, %w, %b) {pads = [1, 1, 1, 1]}\n"
      "  %z: f32[2,2,4,4] = BatchNormalization(%y, %scale, %bias, %mean, %var)\n  return %z\n");
  expectSameResults({"fold-batchnorm", "dce"}, conv, {{"x", ramp({2, 2, 4, 4}, 0.3)}});
  std::string gemm = graphWith("%x: f32[3,4]",
                               "  %w: f32[2,4] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5, -1.0, 2.0]\n"
                               "  %c: f32[3,1] = const [1.0, 2.0, 3.0]\n",
                               "  %y: f32[3,2] = Gemm(%x, %w, %c) {alpha = 1.5, beta = 0.5, transB = 1}\n"
                               "  %z: f32[3,2] = BatchNormalization(%y, %scale, %bias, %mean, %var)\n  return %z\n");
  expectSameResults({"fold-batchnorm", "dce"}, gemm, {{"x", ramp({3, 4}, 0.7)}});
  std::string matmul = graphWith("%x: f32[3,4]", "  %w: f32[4,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5, -1.0, 2.0]\n",
                                 "  %y: f32[3,2] = MatMul(%x, %w)\n"
                                 "  %z: f32[3,2] = BatchNormalization(%y, %scale, %bias, %mean, %var)\n  return %z\n");
  expectSameResults({"fold-batchnorm", "dce"}, matmul, {{"x", ramp({3, 4}, 0.7)}});
  std::string lone = graphWith("%x: f32[2,2,3]", "",
                               "  %z: f32[2,2,3] = BatchNormalization(%x, %scale, %bias, %mean, %var)\n  return %z\n");
  expectSameResults({"fold-batchnorm", "dce"}, lone, {{"x", ramp({2, 2, 3}, 0.9)}});
}
