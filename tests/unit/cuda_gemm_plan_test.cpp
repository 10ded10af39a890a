// The CUDA backend's GEMM and convolution plans without a GPU: row-major
// GEMMs (transposes, batches, broadcast batches) mapped onto column-major
// cuBLAS calls, convolutions as the im2col kernel (JIT-compiled for the CPU
// from the same kernel IR the GPU gets) + one GEMM per group, and
// ConvTransposes as one GEMM per group + the col2im kernel, each run through
// a reference column-major GEMM and compared with direct loops.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "codegen/cuda/conv_kernels.h"
#include "codegen/llvm/cpu_jit.h"
#include "runtime/cuda/blas_gemm.h"

using namespace dlc;
using runtime::cuda::BlasGemm;

namespace {

std::vector<float> randomVector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct GemmCase {
  int64_t batch, M, N, K;
  bool transA, transB, broadcastA, broadcastB;
};

}  // namespace

TEST(CudaGemmPlan, RowMajorGemmsAsColumnMajorCublasCalls) {
  std::mt19937 rng(3);
  const GemmCase cases[] = {{1, 5, 7, 3, false, false, false, false}, {1, 5, 7, 3, true, false, false, false},
                            {1, 5, 7, 3, false, true, false, false},  {1, 5, 7, 3, true, true, false, false},
                            {3, 4, 6, 5, false, false, false, false}, {3, 4, 6, 5, false, false, false, true},
                            {3, 4, 6, 5, false, false, true, false},  {2, 1, 9, 4, false, false, false, false},
                            {2, 6, 1, 4, false, true, false, false},  {1, 1, 1, 8, true, true, false, false},
                            {2, 3, 4, 1, false, false, false, false}};
  for (const GemmCase& c : cases) {
    runtime::GemmArgs s;
    s.batch = c.batch;
    s.M = c.M;
    s.N = c.N;
    s.K = c.K;
    s.aRowStride = c.transA ? 1 : c.K;
    s.aColStride = c.transA ? c.M : 1;
    s.bRowStride = c.transB ? 1 : c.N;
    s.bColStride = c.transB ? c.K : 1;
    s.aBatchStride = c.broadcastA ? 0 : c.M * c.K;
    s.bBatchStride = c.broadcastB ? 0 : c.K * c.N;
    s.ldc = c.N;
    s.cBatchStride = c.M * c.N;
    std::vector<float> a = randomVector(size_t(c.batch * c.M * c.K), rng);
    std::vector<float> b = randomVector(size_t(c.batch * c.K * c.N), rng);
    std::vector<float> expected(size_t(c.batch * c.M * c.N)), actual(expected.size(), -99.0f);
    for (int64_t t = 0; t < c.batch; ++t)
      for (int64_t m = 0; m < c.M; ++m)
        for (int64_t n = 0; n < c.N; ++n) {
          double sum = 0;
          for (int64_t k = 0; k < c.K; ++k)
            sum += double(a[size_t(t * s.aBatchStride + m * s.aRowStride + k * s.aColStride)]) *
                   double(b[size_t(t * s.bBatchStride + k * s.bRowStride + n * s.bColStride)]);
          expected[size_t(t * s.cBatchStride + m * s.ldc + n)] = float(sum);
        }
    std::optional<BlasGemm> g = runtime::cuda::planBlasGemm(s);
    ASSERT_TRUE(g.has_value()) << c.M << "x" << c.N << "x" << c.K;
    // cuBLAS's A is our B.
    runtime::cuda::referenceBlasGemm(*g, b.data(), a.data(), actual.data());
    for (size_t i = 0; i < expected.size(); ++i)
      ASSERT_NEAR(actual[i], expected[i], 1e-5) << "case " << c.batch << "x" << c.M << "x" << c.N << "x" << c.K
                                                << " transA " << c.transA << " transB " << c.transB << " at " << i;
  }
  // Neither stride is 1: not expressible.
  runtime::GemmArgs odd;
  odd.M = odd.N = odd.K = 4;
  odd.aRowStride = 8;
  odd.aColStride = 2;
  odd.bRowStride = 4;
  odd.bColStride = 1;
  odd.ldc = 4;
  EXPECT_FALSE(runtime::cuda::planBlasGemm(odd).has_value());
}

namespace {
struct ConvCase {
  int64_t n, ic, h, w, oc, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
};
const ConvCase kConvCases[] = {
    {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 4, 9, 8, 6, 3, 2, 2, 2, 1, 1, 2, 1, 0, 2, 1},
    {2, 8, 5, 5, 4, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, {1, 6, 4, 4, 6, 1, 1, 3, 1, 1, 1, 1, 0, 0, 0, 0},
    {1, 2, 1, 12, 3, 1, 5, 1, 1, 2, 1, 1, 0, 2, 0, 2}, {2, 4, 8, 8, 6, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1}};

runtime::ConvShape shapeOf(const ConvCase& c) {
  runtime::ConvShape s;
  s.batch = c.n;
  s.inChannels = c.ic;
  s.inH = c.h;
  s.inW = c.w;
  s.outChannels = c.oc;
  s.kernelH = c.kh;
  s.kernelW = c.kw;
  s.group = c.group;
  s.strideH = c.sh;
  s.strideW = c.sw;
  s.dilationH = c.dh;
  s.dilationW = c.dw;
  s.padTop = c.pt;
  s.padLeft = c.pl;
  s.padBottom = c.pb;
  s.padRight = c.pr;
  return s;
}
}  // namespace

TEST(CudaGemmPlan, ConvolutionsAsIm2colAndGroupGemms) {
  std::mt19937 rng(5);
  for (size_t i = 0; i < std::size(kConvCases); ++i) {
    const ConvCase& c = kConvCases[i];
    runtime::ConvShape s = shapeOf(c);
    runtime::cuda::ConvPlan plan = runtime::cuda::planConv(s);
    EXPECT_EQ(plan.pointwise, s.isPointwise());
    std::vector<float> x = randomVector(size_t(c.n * c.ic * c.h * c.w), rng);
    std::vector<float> w = randomVector(size_t(c.oc * (c.ic / c.group) * c.kh * c.kw), rng);
    int64_t oh = s.outH(), ow = s.outW();
    std::vector<float> col(size_t(plan.colElements));
    if (!plan.pointwise) {
      codegen::kir::Kernel k = codegen::cuda::im2colKernel(s, "im2col");
      auto jit = codegen::cpu::jitCompile({k}, codegen::cpu::CpuTargetOptions{"host"});
      void* buffers[] = {x.data(), col.data()};
      int64_t range[] = {0, k.extent0, 0, k.extent1};
      jit->kernel("im2col")(buffers, range);
    }
    const float* bBase = plan.pointwise ? x.data() : col.data();
    std::vector<float> y(size_t(c.n * c.oc * oh * ow), -99.0f);
    for (const runtime::cuda::ConvGemm& cg : plan.gemms)
      runtime::cuda::referenceBlasGemm(cg.gemm, bBase + cg.colOffset, w.data() + cg.weightsOffset,
                                       y.data() + cg.outputOffset);
    int64_t icg = c.ic / c.group, ocg = c.oc / c.group;
    for (int64_t n = 0; n < c.n; ++n)
      for (int64_t o = 0; o < c.oc; ++o)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            double sum = 0;
            int64_t g = o / ocg;
            for (int64_t ci = 0; ci < icg; ++ci)
              for (int64_t ky = 0; ky < c.kh; ++ky)
                for (int64_t kx = 0; kx < c.kw; ++kx) {
                  int64_t iy = oy * c.sh - c.pt + ky * c.dh, ix = ox * c.sw - c.pl + kx * c.dw;
                  if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                  sum += double(x[size_t(((n * c.ic + g * icg + ci) * c.h + iy) * c.w + ix)]) *
                         double(w[size_t(((o * icg + ci) * c.kh + ky) * c.kw + kx)]);
                }
            ASSERT_NEAR(y[size_t(((n * c.oc + o) * oh + oy) * ow + ox)], sum, 1e-5)
                << "case " << i << " at n=" << n << " o=" << o << " oy=" << oy << " ox=" << ox;
          }
  }
}

// ConvTranspose (the adjoint of each convolution above, as autodiff makes it
// for an input gradient): y[n][ic][h][w] = bias[ic] + sum of x[n][oc][oy][ox]
// * w[oc][ic % icg][ky][kx] over the output positions whose window puts
// (ky, kx) on (h, w).
TEST(CudaGemmPlan, ConvTransposesAsGroupGemmsAndCol2im) {
  std::mt19937 rng(7);
  for (size_t i = 0; i < std::size(kConvCases); ++i)
    for (bool hasBias : {false, true}) {
      const ConvCase& c = kConvCases[i];
      runtime::ConvShape s = shapeOf(c);
      int64_t oh = s.outH(), ow = s.outW(), icg = c.ic / c.group, ocg = c.oc / c.group;
      std::vector<float> x = randomVector(size_t(c.n * c.oc * oh * ow), rng);
      std::vector<float> w = randomVector(size_t(c.oc * icg * c.kh * c.kw), rng);
      std::vector<float> bias = randomVector(size_t(c.ic), rng);
      std::vector<float> cols(size_t(runtime::convTransposeColumnBytes(s) / 4), -77.0f);
      for (const runtime::cuda::ConvTransposeGemm& g : runtime::cuda::planConvTranspose(s))
        runtime::cuda::referenceBlasGemm(g.gemm, x.data() + g.inputOffset, w.data() + g.weightsOffset,
                                         cols.data() + g.columnsOffset);
      codegen::kir::Kernel k = codegen::cuda::col2imKernel(s, hasBias, "col2im");
      auto jit = codegen::cpu::jitCompile({k}, codegen::cpu::CpuTargetOptions{"host"});
      std::vector<float> y(size_t(c.n * c.ic * c.h * c.w), -99.0f);
      void* buffers[] = {cols.data(), y.data(), bias.data()};
      int64_t range[] = {0, k.extent0, 0, k.extent1};
      jit->kernel("col2im")(buffers, range);
      std::vector<double> expected(y.size(), 0.0);
      for (int64_t n = 0; n < c.n; ++n)
        for (int64_t o = 0; o < c.oc; ++o)
          for (int64_t oy = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox)
              for (int64_t ci = 0; ci < icg; ++ci)
                for (int64_t ky = 0; ky < c.kh; ++ky)
                  for (int64_t kx = 0; kx < c.kw; ++kx) {
                    int64_t iy = oy * c.sh - c.pt + ky * c.dh, ix = ox * c.sw - c.pl + kx * c.dw;
                    if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                    int64_t ic = (o / ocg) * icg + ci;
                    expected[size_t(((n * c.ic + ic) * c.h + iy) * c.w + ix)] +=
                        double(x[size_t(((n * c.oc + o) * oh + oy) * ow + ox)]) *
                        double(w[size_t(((o * icg + ci) * c.kh + ky) * c.kw + kx)]);
                  }
      for (size_t e = 0; e < y.size(); ++e) {
        double want = expected[e] + (hasBias ? bias[(e / size_t(c.h * c.w)) % size_t(c.ic)] : 0.0);
        ASSERT_NEAR(y[e], want, 1e-5) << "case " << i << (hasBias ? " with bias" : "") << " at " << e;
      }
    }
}
