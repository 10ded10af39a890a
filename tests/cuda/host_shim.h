// Host emulation of generated CUDA source (tests only): with this header
// included first, a program from codegen/cuda/cuda_emitter compiles as plain
// C++ (c++ -std=c++17 -ffp-contract=off) and a kernel runs on the CPU when a
// caller sets gridDim/blockDim and calls it once per (blockIdx, threadIdx).
// The kernels never synchronise threads, so running the threads one after
// another is exact. Math functions are the host libm's (<math.h>), which
// differ from CUDA's by a few ulp at most for the transcendental ones.
#pragma once

#include <math.h>
#include <string.h>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)

struct DlcDim3 {
  unsigned x = 0, y = 1, z = 1;
};
static DlcDim3 blockIdx, threadIdx, blockDim, gridDim;

static inline float __uint_as_float(unsigned int b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}
static inline unsigned int __float_as_uint(float f) {
  unsigned int b;
  memcpy(&b, &f, 4);
  return b;
}
static inline double __longlong_as_double(long long b) {
  double d;
  memcpy(&d, &b, 8);
  return d;
}
static inline long long __double_as_longlong(double d) {
  long long b;
  memcpy(&b, &d, 8);
  return b;
}
