// runtime::gemm against a naive triple loop, with the portable C++
// micro-kernel and the JIT's micro-kernel for the host, 1 and 4 threads.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <vector>

#include "codegen/llvm/cpu_jit.h"
#include "runtime/gemm.h"
#include "support/error.h"

using namespace dlc;
using namespace dlc::runtime;

namespace {

struct Shape {
  int64_t batch, M, N, K;
};

std::vector<float> randomVector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

const GemmMicroKernel& jitMicroKernel() {
  static std::unique_ptr<codegen::cpu::JitProgram> program = codegen::cpu::jitCompile({}, {});
  return program->gemmMicroKernel();
}

// Counts epilogue calls per element of C through the epilogue buffers.
std::vector<std::atomic<int>>* gHits = nullptr;
int64_t gHitsWidth = 0;
void countEpilogue(void* const*, const int64_t* range) {
  for (int64_t r = range[0]; r < range[1]; ++r)
    for (int64_t c = range[2]; c < range[3]; ++c) ++(*gHits)[size_t(r * gHitsWidth + c)];
}

enum class Layout { Plain, TransposedA, TransposedB, BroadcastA, PackedA, PackedB, PackedBoth };

void checkGemm(const GemmMicroKernel& uk, int threads, Shape s, Layout layout) {
  SCOPED_TRACE(testing::Message() << "batch " << s.batch << " M " << s.M << " N " << s.N << " K " << s.K
                                  << " layout " << int(layout) << " threads " << threads << " uk " << uk.mr << "x"
                                  << uk.nr);
  bool broadcastA = layout == Layout::BroadcastA || layout == Layout::PackedA || layout == Layout::PackedBoth;
  bool sharedB = layout == Layout::PackedB || layout == Layout::PackedBoth;
  int64_t aBatches = broadcastA ? 1 : s.batch, bBatches = sharedB ? 1 : s.batch;
  std::vector<float> a = randomVector(size_t(aBatches * s.M * s.K), 1);
  std::vector<float> b = randomVector(size_t(bBatches * s.K * s.N), 2);
  GemmArgs g;
  g.batch = s.batch, g.M = s.M, g.N = s.N, g.K = s.K;
  g.a = a.data(), g.aBatchStride = broadcastA ? 0 : s.M * s.K;
  g.b = b.data(), g.bBatchStride = sharedB ? 0 : s.K * s.N;
  // A stored [m][k] or transposed [k][m]; B stored [k][n] or transposed [n][k].
  bool ta = layout == Layout::TransposedA, tb = layout == Layout::TransposedB;
  g.aRowStride = ta ? 1 : s.K, g.aColStride = ta ? s.M : 1;
  g.bRowStride = tb ? 1 : s.N, g.bColStride = tb ? s.K : 1;
  PackedMatrix pa, pb;
  if (layout == Layout::PackedA || layout == Layout::PackedBoth) {
    pa = packA(uk, a.data(), s.M, s.K, g.aRowStride, g.aColStride);
    g.packedA = &pa;
    g.a = nullptr;
  }
  if (sharedB) {
    pb = packB(uk, b.data(), s.K, s.N, g.bRowStride, g.bColStride);
    g.packedB = &pb;
    g.b = nullptr;
  }
  int64_t ldc = s.N + 3;  // a row pitch wider than N
  std::vector<float> c(size_t(s.batch * s.M * ldc), 12345.0f);
  g.c = c.data(), g.cBatchStride = s.M * ldc, g.ldc = ldc;
  std::vector<std::atomic<int>> hits(size_t(s.batch * s.M * s.N));
  gHits = &hits;
  gHitsWidth = s.N;
  g.epilogue = countEpilogue;

  ThreadPool pool(threads);
  gemm(pool, uk, g);

  for (int64_t bi = 0; bi < s.batch; ++bi)
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t n = 0; n < s.N; ++n) {
        double ref = 0;
        for (int64_t k = 0; k < s.K; ++k) {
          double av = a[size_t((broadcastA ? 0 : bi * s.M * s.K) + m * g.aRowStride + k * g.aColStride)];
          double bv = b[size_t((sharedB ? 0 : bi * s.K * s.N) + k * g.bRowStride + n * g.bColStride)];
          ref += av * bv;
        }
        float got = c[size_t(bi * s.M * ldc + m * ldc + n)];
        ASSERT_NEAR(got, ref, 1e-5 * (1 + double(s.K))) << "at " << bi << "," << m << "," << n;
        ASSERT_EQ(hits[size_t((bi * s.M + m) * s.N + n)].load(), 1) << "epilogue at " << bi << "," << m << "," << n;
      }
  // The padding of each C row is untouched.
  for (int64_t r = 0; r < s.batch * s.M; ++r)
    for (int64_t n = s.N; n < ldc; ++n) ASSERT_EQ(c[size_t(r * ldc + n)], 12345.0f);
}

const std::vector<Shape> kShapes = {
    {1, 1, 1, 1},   {1, 1, 300, 70},  {1, 70, 1, 33},  {1, 13, 37, 1},   {1, 17, 45, 259}, {1, 64, 64, 64},
    {3, 5, 33, 20}, {2, 25, 70, 300}, {1, 100, 2100, 9}, {1, 1, 4100, 40}, {1, 0, 5, 5},    {1, 4, 5, 0},
};

void runAll(const GemmMicroKernel& uk) {
  for (int threads : {1, 4})
    for (const Shape& s : kShapes)
      for (Layout l : {Layout::Plain, Layout::TransposedA, Layout::TransposedB, Layout::BroadcastA, Layout::PackedA,
                       Layout::PackedB, Layout::PackedBoth})
        checkGemm(uk, threads, s, l);
}

// Rows of A that are equal give bit-equal rows of C, whichever kernel
// computes their tile: full micro-kernel tiles, edge tiles through the
// temporary, and edge panels of a few rows through the row kernel
// (light_squeezenet: 1000 channels with equal weights, 1000 = 83 * 12 + 4;
// a last-bit difference became a Softmax of 0s and a 1).
void checkEqualRowsBitEqual(const GemmMicroKernel& uk) {
  for (int64_t M : {int64_t(1), int64_t(uk.mr / 2 + 1), int64_t(uk.mr + 1), int64_t(uk.mr + 4), int64_t(1000)})
    for (bool packed : {false, true}) {
      SCOPED_TRACE(testing::Message() << "M " << M << (packed ? " packed A" : "") << " uk " << uk.mr << "x" << uk.nr);
      const int64_t N = 70, K = 300;  // K spans two KC blocks; N an edge panel
      std::vector<float> row = randomVector(size_t(K), 3), b = randomVector(size_t(K * N), 4);
      std::vector<float> a;
      for (int64_t m = 0; m < M; ++m) a.insert(a.end(), row.begin(), row.end());
      GemmArgs g;
      g.M = M, g.N = N, g.K = K;
      g.a = a.data(), g.aRowStride = K, g.aColStride = 1;
      g.b = b.data(), g.bRowStride = N, g.bColStride = 1;
      PackedMatrix pa;
      if (packed) {
        pa = packA(uk, a.data(), M, K, K, 1);
        g.packedA = &pa;
        g.a = nullptr;
      }
      std::vector<float> c(size_t(M * N));
      g.c = c.data(), g.ldc = N;
      ThreadPool pool(2);
      gemm(pool, uk, g);
      for (int64_t m = 1; m < M; ++m)
        for (int64_t n = 0; n < N; ++n)
          ASSERT_EQ(c[size_t(m * N + n)], c[size_t(n)]) << "row " << m << " column " << n;
    }
}

}  // namespace

TEST(Gemm, EqualRowsGiveBitEqualResults) {
  checkEqualRowsBitEqual(portableGemmMicroKernel());
  checkEqualRowsBitEqual(jitMicroKernel());
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    auto program = codegen::cpu::jitCompile({}, {"x86-64-v3"});
    checkEqualRowsBitEqual(program->gemmMicroKernel());
  }
#endif
}

TEST(Gemm, PortableMicroKernelMatchesNaive) { runAll(portableGemmMicroKernel()); }

TEST(Gemm, JitMicroKernelMatchesNaive) {
  const GemmMicroKernel& uk = jitMicroKernel();
  EXPECT_GT(uk.mr, 0);
  EXPECT_EQ(uk.nr % 4, 0);
  runAll(uk);
}

#if defined(__x86_64__)
// The AVX2 micro-kernel (6x16), where this host can run it.
TEST(Gemm, Avx2MicroKernelMatchesNaive) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "no AVX2/FMA";
  auto program = codegen::cpu::jitCompile({}, {"x86-64-v3"});
  EXPECT_EQ(program->gemmMicroKernel().mr, 6);
  EXPECT_EQ(program->gemmMicroKernel().nr, 16);
  runAll(program->gemmMicroKernel());
}
#endif

TEST(Gemm, PackedOperandOfAnotherShapeIsRejected) {
  const GemmMicroKernel& uk = portableGemmMicroKernel();
  std::vector<float> a(12, 1.0f), b(12, 1.0f), c(9);
  PackedMatrix pa = packA(uk, a.data(), 3, 4, 4, 1);
  GemmArgs g;
  g.M = 4, g.N = 3, g.K = 3;  // A should be 4x3
  g.packedA = &pa;
  g.b = b.data(), g.bRowStride = 3, g.bColStride = 1;
  g.c = c.data(), g.ldc = 3;
  ThreadPool pool(1);
  EXPECT_THROW(gemm(pool, uk, g), InternalError);
}

// Streaming stores (a large graph output) write the same bits as plain ones,
// including the edge tiles (which go through the plain path) and batches;
// a C that is not 64-byte aligned, or K over one block, takes the plain
// path.
TEST(Gemm, StreamedOutputGivesTheSameBits) {
  const GemmMicroKernel& uk = jitMicroKernel();
  for (Shape s : {Shape{1, 50, 96, 40}, Shape{2, 37, 160, 256}, Shape{1, 24, 64, 300}}) {
    SCOPED_TRACE(testing::Message() << "batch " << s.batch << " M " << s.M << " N " << s.N << " K " << s.K);
    std::vector<float> a = randomVector(size_t(s.batch * s.M * s.K), 3);
    std::vector<float> b = randomVector(size_t(s.batch * s.K * s.N), 4);
    for (int64_t misalign : {0, 1}) {
      // One element past a 64-byte boundary where misaligned.
      std::vector<float> plain(size_t(s.batch * s.M * s.N + 32)),
          streamed(size_t(s.batch * s.M * s.N + 32));
      auto aligned = [&](std::vector<float>& v) {
        auto p = reinterpret_cast<uintptr_t>(v.data());
        return v.data() + ((64 - p % 64) % 64) / 4 + misalign;
      };
      GemmArgs g;
      g.batch = s.batch, g.M = s.M, g.N = s.N, g.K = s.K;
      g.a = a.data(), g.aBatchStride = s.M * s.K, g.aRowStride = s.K, g.aColStride = 1;
      g.b = b.data(), g.bBatchStride = s.K * s.N, g.bRowStride = s.N, g.bColStride = 1;
      g.cBatchStride = s.M * s.N, g.ldc = s.N;
      ThreadPool pool(2);
      g.c = aligned(plain);
      gemm(pool, uk, g);
      g.c = aligned(streamed);
      g.streamC = true;
      gemm(pool, uk, g);
      const float* p = aligned(plain);
      const float* q = aligned(streamed);
      for (int64_t i = 0; i < s.batch * s.M * s.N; ++i) ASSERT_EQ(p[i], q[i]) << "element " << i;
    }
  }
}
