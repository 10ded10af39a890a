// Single-thread SGEMM throughput with the JIT's micro-kernel (and the
// portable one for comparison), plus the core's FMA peak measured with
// independent FMA chains. Run: build/gemm_bench
#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <random>
#include <string>
#include <vector>

#include "codegen/llvm/cpu_jit.h"
#include "runtime/gemm.h"

using namespace dlc;

namespace {

const codegen::cpu::JitProgram& jit() {
  static std::unique_ptr<codegen::cpu::JitProgram> program = codegen::cpu::jitCompile({}, {});
  return *program;
}
const runtime::GemmMicroKernel& jitKernel() { return jit().gemmMicroKernel(); }
std::string jitDescription() { return jit().targetDescription(); }

std::vector<float> randomFloats(int64_t n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

void countGflops(benchmark::State& state, int64_t M, int64_t N, int64_t K) {
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * double(M) * double(N) * double(K),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// C = A * B with A [M, K] row-major and B packed at compile time, as the cpu
// target runs a MatMul by constant weights.
runtime::GemmArgs packedBGemm(int64_t M, int64_t N, int64_t K, const float* a, const runtime::PackedMatrix& b) {
  runtime::GemmArgs g;
  g.M = M, g.N = N, g.K = K;
  g.a = a, g.aRowStride = K, g.aColStride = 1;
  g.packedB = &b;
  g.ldc = N;
  return g;
}

void runGemm(benchmark::State& state, const runtime::GemmMicroKernel& uk, int threads, const std::string& label) {
  int64_t n = state.range(0);
  std::vector<float> a = randomFloats(n * n), b = randomFloats(n * n), c(size_t(n * n));
  runtime::ThreadPool pool(threads);
  runtime::GemmArgs g;
  g.M = g.N = g.K = n;
  g.a = a.data(), g.aRowStride = n, g.aColStride = 1;
  g.b = b.data(), g.bRowStride = n, g.bColStride = 1;
  g.c = c.data(), g.ldc = n;
  for (auto _ : state) {
    runtime::gemm(pool, uk, g);
    benchmark::DoNotOptimize(c.data());
  }
  countGflops(state, n, n, n);
  state.SetLabel(label);
}

void BM_GemmJit(benchmark::State& state) { runGemm(state, jitKernel(), 1, jitDescription()); }
void BM_GemmPortable(benchmark::State& state) {
  runGemm(state, runtime::portableGemmMicroKernel(), 1, "portable C++ 6x16");
}
BENCHMARK(BM_GemmJit)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmPortable)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond);

// The bench models' GEMM shapes (M, N, K, threads) with B packed at compile
// time, as the cpu target runs them: GPT's lm_head (128 x 8000 x 256), a
// transformer FFN (128 x 1024 x 256 and back), the MLP at batch 256,
// MobileNetV2's classifier at batch 1 (a GEMV over 5 MB of weights).
void BM_GemmModelShape(benchmark::State& state) {
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const runtime::GemmMicroKernel& uk = jitKernel();
  std::vector<float> a = randomFloats(M * K), b = randomFloats(K * N), c(size_t(M * N));
  runtime::PackedMatrix packed = runtime::packB(uk, b.data(), K, N, N, 1);
  runtime::ThreadPool pool(int(state.range(3)));
  runtime::GemmArgs g = packedBGemm(M, N, K, a.data(), packed);
  g.c = c.data();
  for (auto _ : state) {
    runtime::gemm(pool, uk, g);
    benchmark::DoNotOptimize(c.data());
  }
  countGflops(state, M, N, K);
}
BENCHMARK(BM_GemmModelShape)
    ->ArgNames({"M", "N", "K", "threads"})
    ->Args({128, 8000, 256, 1})
    ->Args({128, 8000, 256, 2})
    ->Args({128, 1024, 256, 2})
    ->Args({128, 256, 1024, 2})
    ->Args({256, 1024, 784, 2})
    ->Args({256, 1024, 1024, 2})
    ->Args({1, 1000, 1280, 1})
    ->Args({1, 1000, 1280, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// GPT's logits as the program writes them: a graph output, cold in cache
// (8 buffers in turn), with plain and with streaming stores.
void runColdOutput(benchmark::State& state, bool stream) {
  const int64_t M = 128, N = 8000, K = 256;
  const runtime::GemmMicroKernel& uk = jitKernel();
  std::vector<float> a = randomFloats(M * K), b = randomFloats(K * N);
  std::vector<std::vector<float>> outputs(8, std::vector<float>(size_t(M * N)));
  runtime::PackedMatrix packed = runtime::packB(uk, b.data(), K, N, N, 1);
  runtime::ThreadPool pool(2);
  runtime::GemmArgs g = packedBGemm(M, N, K, a.data(), packed);
  g.streamC = stream;
  size_t i = 0;
  for (auto _ : state) {
    g.c = outputs[i++ % outputs.size()].data();
    runtime::gemm(pool, uk, g);
    benchmark::DoNotOptimize(g.c);
  }
  countGflops(state, M, N, K);
}
void BM_GemmColdOutput(benchmark::State& state) { runColdOutput(state, false); }
void BM_GemmColdOutputStreamed(benchmark::State& state) { runColdOutput(state, true); }
BENCHMARK(BM_GemmColdOutput)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemmColdOutputStreamed)->UseRealTime()->Unit(benchmark::kMicrosecond);

// GEMV (M = 1, an MLP layer at batch 1) on pre-packed weights, with the row
// kernel and, for comparison, with the full micro-kernel on a padded panel.
void runGemv(benchmark::State& state, bool rowKernel) {
  const int64_t K = 1024, N = 4096;
  runtime::GemmMicroKernel uk = jitKernel();
  if (!rowKernel) uk.rowFn = nullptr;
  std::vector<float> a(size_t(K), 0.5f), b(size_t(K * N), 0.25f), c(size_t(N), 0.0f);
  runtime::PackedMatrix packed = runtime::packB(uk, b.data(), K, N, N, 1);
  runtime::ThreadPool pool(1);
  runtime::GemmArgs g;
  g.M = 1, g.N = N, g.K = K;
  g.a = a.data(), g.aRowStride = K, g.aColStride = 1;
  g.packedB = &packed;
  g.c = c.data(), g.ldc = N;
  for (auto _ : state) {
    runtime::gemm(pool, uk, g);
    benchmark::DoNotOptimize(c.data());
  }
  countGflops(state, 1, N, K);
  state.counters["GB/s"] = benchmark::Counter(4e-9 * double(K) * double(N), benchmark::Counter::kIsIterationInvariantRate);
}
void BM_GemvRowKernel(benchmark::State& state) { runGemv(state, true); }
void BM_GemvFullMicroKernel(benchmark::State& state) { runGemv(state, false); }
BENCHMARK(BM_GemvRowKernel)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvFullMicroKernel)->Unit(benchmark::kMicrosecond);

// The micro-kernel alone on L1-resident panels: its ceiling inside GEMM.
void BM_MicroKernelL1(benchmark::State& state) {
  const runtime::GemmMicroKernel& uk = jitKernel();
  const int64_t kc = 256;
  std::vector<float> a(size_t(uk.mr * kc), 0.5f), b(size_t(uk.nr * kc), 0.25f), c(size_t(uk.mr * uk.nr));
  for (auto _ : state) {
    for (int r = 0; r < 100; ++r) uk.fn(kc, a.data(), b.data(), c.data(), uk.nr, 0);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * uk.mr * uk.nr * kc * 100,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MicroKernelL1);

#if defined(__x86_64__)
// The core's FMA peak: 24 independent chains of 512-bit (or 256-bit) FMAs,
// no memory traffic; 2 FLOP per lane per FMA.
__attribute__((target("avx512f"))) void fmaChains512(int64_t iters, float* out) {
  __m512 acc[24];
  for (int j = 0; j < 24; ++j) acc[j] = _mm512_set1_ps(float(j));
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 24
    for (int j = 0; j < 24; ++j) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
  }
  __m512 s = acc[0];
  for (int j = 1; j < 24; ++j) s = _mm512_add_ps(s, acc[j]);
  _mm512_storeu_ps(out, s);
}
__attribute__((target("avx2,fma"))) void fmaChains256(int64_t iters, float* out) {
  __m256 acc[12];
  for (int j = 0; j < 12; ++j) acc[j] = _mm256_set1_ps(float(j));
  const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.001f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_fmadd_ps(acc[j], x, y);
  }
  __m256 s = acc[0];
  for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, acc[j]);
  _mm256_storeu_ps(out, s);
}
void BM_FmaPeak(benchmark::State& state) {
  bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !__builtin_cpu_supports("fma")) return state.SkipWithError("no FMA");
  const int64_t iters = 1 << 16;
  float out[16];
  for (auto _ : state) {
    if (avx512)
      fmaChains512(iters, out);
    else
      fmaChains256(iters, out);
    benchmark::DoNotOptimize(out);
  }
  double flops = avx512 ? 2.0 * 16 * 24 * iters : 2.0 * 8 * 12 * iters;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(avx512 ? "AVX-512, 24 chains" : "AVX2, 12 chains");
}
BENCHMARK(BM_FmaPeak);
#endif


}  // namespace

BENCHMARK_MAIN();
