// fma_peak: the single-core FP32 fused-multiply-add peak of this CPU, in
// GFLOP/s, so that GEMM efficiency can be stated as a fraction of it.
//
// Each kernel runs kChains independent FMA dependency chains (enough to cover
// FMA latency times the FMA ports), so throughput, not latency, bounds it. An
// FMA counts as 2 FLOPs per lane. Time is this thread's CPU time, so that
// other processes sharing the core do not count, and the best of several
// repetitions is kept. The ISA is chosen at run time (AVX-512 when the CPU
// has it; AVX2+FMA is measured too, since some CPUs run 512-bit FMAs on fewer
// ports).
#include <immintrin.h>

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int kChains = 16;
constexpr long kIterations = 20'000'000;

__attribute__((target("avx512f"))) float fmaAvx512(long iterations) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(float(c));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  float lanes[16];
  _mm512_storeu_ps(lanes, sum);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

__attribute__((target("avx2,fma"))) float fmaAvx2(long iterations) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(float(c));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

double threadSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Best GFLOP/s over `repetitions` runs of kernel(kIterations).
double measure(float (*kernel)(long), int lanes, int repetitions) {
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < repetitions; ++r) {
    double start = threadSeconds();
    sink = sink + kernel(kIterations);
    double seconds = threadSeconds() - start;
    double gflops = 2.0 * lanes * kChains * double(kIterations) / seconds / 1e9;
    if (gflops > best) best = gflops;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int repetitions = 10;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) json = true;
    else if (!std::strcmp(argv[i], "--repetitions") && i + 1 < argc) repetitions = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: fma_peak [--repetitions N] [--json]\n");
      return 1;
    }
  }
  if (repetitions < 1) repetitions = 1;
  __builtin_cpu_init();
  bool hasAvx512 = __builtin_cpu_supports("avx512f");
  bool hasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!hasAvx2) {
    std::fprintf(stderr, "fma_peak: this CPU has neither AVX-512 nor AVX2+FMA\n");
    return 1;
  }
  double avx2 = measure(fmaAvx2, 8, repetitions);
  double avx512 = hasAvx512 ? measure(fmaAvx512, 16, repetitions) : 0;
  double peak = avx512 > avx2 ? avx512 : avx2;
  const char* isa = avx512 > avx2 ? "avx512" : "avx2";
  if (json) {
    std::printf("{\"peak_gflops\": %.2f, \"isa\": \"%s\", \"avx2_gflops\": %.2f, \"avx512_gflops\": %.2f}\n", peak, isa,
                avx2, avx512);
  } else {
    std::printf("single-core FP32 FMA peak: %.2f GFLOP/s (%s)\n", peak, isa);
    std::printf("  avx2+fma (8 lanes):  %.2f GFLOP/s\n", avx2);
    if (hasAvx512) std::printf("  avx512f (16 lanes): %.2f GFLOP/s\n", avx512);
  }
  return 0;
}
