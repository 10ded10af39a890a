// Tests only: the reference GEMM of the fake cuBLAS and cuBLASLt
// (fake_cublas.cpp, fake_cublas_lt.cpp): column-major strided batched
// C = alpha op(A) op(B) + beta C over f32, f16 or bf16 data with f32
// accumulation and one rounding to C's type, every operand's extent checked
// against the live allocations of the fake device.
#pragma once

#include <cuda.h>
#include <library_types.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "tests/cuda/fake_cuda/fake_device.h"

namespace dlc::testing::fake_cuda {

// f16 and bf16 elements as cuBLAS reads and writes them (round to nearest
// even on the way out).
inline float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) bits = sign | 0x7f800000 | (mant << 13);
  else if (exp != 0) bits = sign | ((exp + 112) << 23) | (mant << 13);
  else if (mant == 0) bits = sign;
  else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400));
    bits = sign | uint32_t(112 - e) << 23 | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffff;
  if (ax >= 0x7f800000) return uint16_t(sign | 0x7c00 | (ax > 0x7f800000 ? 0x200 : 0));
  if (ax >= 0x477ff000) return uint16_t(sign | 0x7c00);  // rounds past 65504
  if (ax < 0x38800000) {  // subnormal or zero in f16
    float magnitude;
    std::memcpy(&magnitude, &ax, 4);
    return uint16_t(sign | uint16_t(std::nearbyint(magnitude * 16777216.0f)));  // units of 2^-24
  }
  uint32_t rounded = ax + 0xfff + ((ax >> 13) & 1);
  return uint16_t(sign | ((rounded - 0x38000000) >> 13));
}
inline float bf16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 0x40);
  return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

inline size_t elementBytes(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }

// One operand of a strided batched GEMM: a rows x cols column-major matrix
// with leading dimension ld, `batch` of them `stride` elements apart.
struct Operand {
  const char* name;
  CUdeviceptr p;
  long long rows, cols, ld, stride;
  cudaDataType type = CUDA_R_32F;
  size_t bytes(long long batch) const {
    if (rows == 0 || cols == 0 || batch == 0) return 0;
    return size_t((batch - 1) * stride + (cols - 1) * ld + rows) * elementBytes(type);
  }
  float load(long long i) const {
    if (type == CUDA_R_32F) return reinterpret_cast<const float*>(p)[i];
    uint16_t v = reinterpret_cast<const uint16_t*>(p)[i];
    return type == CUDA_R_16F ? halfToFloat(v) : bf16ToFloat(v);
  }
  void store(long long i, float v) const {
    if (type == CUDA_R_32F) reinterpret_cast<float*>(p)[i] = v;
    else reinterpret_cast<uint16_t*>(p)[i] = type == CUDA_R_16F ? floatToHalf(v) : floatToBf16(v);
  }
};

struct Gemm {
  bool transA, transB;
  long long m, n, k;
  float alpha, beta;
  Operand a, b, c;
  long long batch;
  // cuBLASLt: beta * C read from `cIn` (laid out as c) when set, else from
  // c; + bias[i] (f32) per row i of C; then ReLU.
  CUdeviceptr cIn = 0;
  CUdeviceptr bias = 0;
  bool relu = false;
  const char* call = "cublasGemmStridedBatchedEx";

  CUresult checkOperands() const {
    for (const Operand* o : {&a, &b, &c})
      if (CUresult r = checkRange(o->p, o->bytes(batch), std::string(call) + " operand " + o->name)) return r;
    if (bias && m > 0)
      if (CUresult r = checkRange(bias, size_t(m) * 4, std::string(call) + " bias")) return r;
    if (cIn)
      if (CUresult r = checkRange(cIn, c.bytes(batch), std::string(call) + " C")) return r;
    return CUDA_SUCCESS;
  }

  CUresult run() const {
    if (CUresult r = checkOperands()) return r;
    // f32 accumulation (CUBLAS_COMPUTE_32F), one rounding to C's type.
    for (long long q = 0; q < batch; ++q)
      for (long long j = 0; j < n; ++j)
        for (long long i = 0; i < m; ++i) {
          float sum = 0;
          for (long long l = 0; l < k; ++l) {
            float x = a.load(transA ? q * a.stride + i * a.ld + l : q * a.stride + l * a.ld + i);
            float y = b.load(transB ? q * b.stride + l * b.ld + j : q * b.stride + j * b.ld + l);
            sum += x * y;
          }
          long long at = q * c.stride + j * c.ld + i;
          // beta == 0: C is not read (it may hold NaN), as BLAS specifies.
          Operand source = c;
          if (cIn) source.p = cIn;
          float v = beta == 0 ? alpha * sum : alpha * sum + beta * source.load(at);
          if (bias) v += reinterpret_cast<const float*>(bias)[i];
          if (relu) v = v > 0 ? v : 0;
          c.store(at, v);
        }
    return CUDA_SUCCESS;
  }
};

inline bool overlaps(const Operand& x, const Operand& y, long long batch) {
  size_t bx = x.bytes(batch), by = y.bytes(batch);
  return bx && by && x.p < y.p + by && y.p < x.p + bx;
}

}  // namespace dlc::testing::fake_cuda
