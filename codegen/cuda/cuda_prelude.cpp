// The prelude every generated CUDA program starts with. It holds the kernel
// IR's exact scalar semantics (codegen/kernel/kernel_ir.h) as small device
// functions, so that the emitted kernels stay readable expressions:
//  - short type names (i8 ... u64, f32, f64; f16/bf16 values are u16 bits);
//  - f16 and bf16 <-> f32 conversions in explicit bit code (round to nearest
//    even, NaN kept quiet), the same code on the GPU and in host emulation;
//  - NaN-propagating float min/max (-0 < +0, like LLVM's minimum/maximum);
//  - wrapping integer add/sub/mul/neg, division and remainder that give 0 for
//    a zero divisor and for INT_MIN / -1, shifts that give 0 past the width;
//  - saturating float -> integer casts (NaN -> 0);
//  - group reductions and barriers for cooperative (row-loop) kernels.
// It uses only __float_as_uint and friends, __shfl_xor_sync, __syncwarp and
// __syncthreads from CUDA (no headers), which the host-emulation shim
// (tests/cuda/host_shim.h) also defines.
#include "codegen/cuda/cuda_emitter.h"

namespace dlc::codegen::cuda {

std::string_view prelude() {
  return R"PRELUDE(// ---- dlc CUDA prelude (kernel IR semantics, see codegen/kernel/kernel_ir.h)
typedef signed char i8;
typedef short i16;
typedef int i32;
typedef long long i64;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef float f32;
typedef double f64;
#define DLC_FN static __device__ __forceinline__

DLC_FN f32 dlc_f16_to_f32(u16 h) {
  u32 sign = (u32)(h & 0x8000u) << 16;
  u32 e = (h >> 10) & 0x1fu;
  u32 m = h & 0x3ffu;
  if (e == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (m << 13));
  if (e == 0) {
    f32 v = (f32)m * 5.9604644775390625e-08f;  // subnormal: m * 2^-24
    return sign ? -v : v;
  }
  return __uint_as_float(sign | ((e + 112u) << 23) | (m << 13));
}
DLC_FN u16 dlc_f32_to_f16(f32 f) {
  u32 x = __float_as_uint(f);
  u32 sign = (x >> 16) & 0x8000u;
  u32 ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return (u16)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // NaN
  if (ax >= 0x477ff000u) return (u16)(sign | 0x7c00u);  // rounds to infinity
  if (ax < 0x38800000u) return (u16)(sign | (u32)rintf(__uint_as_float(ax) * 16777216.0f));  // subnormal
  u32 r = ax - 0x38000000u;
  r += 0xfffu + ((r >> 13) & 1u);
  return (u16)(sign | (r >> 13));
}
DLC_FN f32 dlc_bf16_to_f32(u16 h) { return __uint_as_float((u32)h << 16); }
DLC_FN u16 dlc_f32_to_bf16(f32 f) {
  u32 x = __float_as_uint(f);
  if (f != f) return (u16)((x >> 16) | 0x40u);
  return (u16)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

DLC_FN f32 dlc_min(f32 a, f32 b) {
  if (a != a || b != b) return a + b;
  if (a == b) return (__float_as_uint(a) >> 31) ? a : b;
  return a < b ? a : b;
}
DLC_FN f32 dlc_max(f32 a, f32 b) {
  if (a != a || b != b) return a + b;
  if (a == b) return (__float_as_uint(a) >> 31) ? b : a;
  return a < b ? b : a;
}
DLC_FN f64 dlc_min(f64 a, f64 b) {
  if (a != a || b != b) return a + b;
  if (a == b) return ((u64)__double_as_longlong(a) >> 63) ? a : b;
  return a < b ? a : b;
}
DLC_FN f64 dlc_max(f64 a, f64 b) {
  if (a != a || b != b) return a + b;
  if (a == b) return ((u64)__double_as_longlong(a) >> 63) ? b : a;
  return a < b ? b : a;
}
DLC_FN f32 dlc_sign(f32 x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }
DLC_FN f64 dlc_sign(f64 x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x); }
DLC_FN f32 dlc_sigmoid(f32 x) { return 1.0f / (1.0f + expf(-x)); }
DLC_FN f64 dlc_sigmoid(f64 x) { return 1.0 / (1.0 + exp(-x)); }
DLC_FN bool dlc_isinf(f32 x) { return (__float_as_uint(x) & 0x7fffffffu) == 0x7f800000u; }
DLC_FN bool dlc_isinf(f64 x) { return ((u64)__double_as_longlong(x) & 0x7fffffffffffffffull) == 0x7ff0000000000000ull; }

// T: the type; UT: the unsigned type of T's width; W: the type arithmetic
// wraps in (u32 or u64); BITS: the width.
#define DLC_INT_OPS(T, UT, W, BITS) \
  DLC_FN T dlc_add(T a, T b) { return (T)((W)a + (W)b); } \
  DLC_FN T dlc_sub(T a, T b) { return (T)((W)a - (W)b); } \
  DLC_FN T dlc_mul(T a, T b) { return (T)((W)a * (W)b); } \
  DLC_FN T dlc_neg(T a) { return (T)((W)0 - (W)a); } \
  DLC_FN T dlc_abs(T a) { return a < (T)0 ? dlc_neg(a) : a; } \
  DLC_FN T dlc_min(T a, T b) { return a < b ? a : b; } \
  DLC_FN T dlc_max(T a, T b) { return a < b ? b : a; } \
  DLC_FN T dlc_sign(T a) { return (T)((a > (T)0) - (a < (T)0)); } \
  DLC_FN bool dlc_div_bad(T x, T y) { \
    return y == (T)0 || ((T)-1 < (T)0 && y == (T)-1 && x == (T)((UT)1 << (BITS - 1))); \
  } \
  DLC_FN T dlc_div(T x, T y) { return dlc_div_bad(x, y) ? (T)0 : (T)(x / y); } \
  DLC_FN T dlc_rem(T x, T y) { return dlc_div_bad(x, y) ? (T)0 : (T)(x % y); } \
  DLC_FN T dlc_shl(T x, T y) { return (W)(UT)y >= (W)BITS ? (T)0 : (T)((W)(UT)x << (W)(UT)y); } \
  DLC_FN T dlc_shr(T x, T y) { return (W)(UT)y >= (W)BITS ? (T)0 : (T)((W)(UT)x >> (W)(UT)y); }
DLC_INT_OPS(i8, u8, u32, 8)
DLC_INT_OPS(i16, u16, u32, 16)
DLC_INT_OPS(i32, u32, u32, 32)
DLC_INT_OPS(i64, u64, u64, 64)
DLC_INT_OPS(u8, u8, u32, 8)
DLC_INT_OPS(u16, u16, u32, 16)
DLC_INT_OPS(u32, u32, u32, 32)
DLC_INT_OPS(u64, u64, u64, 64)

// Float -> integer: truncate toward zero, saturate, NaN -> 0. HI is 2^(BITS-1)
// (signed) or 2^BITS (unsigned), exact in f64.
#define DLC_SAT_SIGNED(T, LO, HI, TMIN, TMAX) \
  DLC_FN T dlc_sat_##T(f64 d) { \
    if (d != d) return (T)0; \
    if (d <= LO) return TMIN; \
    if (d >= HI) return TMAX; \
    return (T)d; \
  }
#define DLC_SAT_UNSIGNED(T, HI) \
  DLC_FN T dlc_sat_##T(f64 d) { \
    if (!(d > 0.0)) return (T)0; \
    if (d >= HI) return (T)~(T)0; \
    return (T)d; \
  }
DLC_SAT_SIGNED(i8, -128.0, 128.0, (i8)-128, (i8)127)
DLC_SAT_SIGNED(i16, -32768.0, 32768.0, (i16)-32768, (i16)32767)
DLC_SAT_SIGNED(i32, -2147483648.0, 2147483648.0, (i32)(-2147483647 - 1), (i32)2147483647)
DLC_SAT_SIGNED(i64, -9223372036854775808.0, 9223372036854775808.0, (i64)(-9223372036854775807LL - 1), (i64)9223372036854775807LL)
DLC_SAT_UNSIGNED(u8, 256.0)
DLC_SAT_UNSIGNED(u16, 65536.0)
DLC_SAT_UNSIGNED(u32, 4294967296.0)
DLC_SAT_UNSIGNED(u64, 18446744073709551616.0)

// 16 bytes of 4-byte elements, moved with one vector load or store (the
// vectorised elementwise kernels check the alignment before using it).
template <class T> struct alignas(16) dlc_vec4 { T v[4]; };

// Row groups (cooperative kernels): RT threads run one point; RT is 32 (a
// warp, several rows per block) or a multiple of 32 equal to the block size.
// dlc_group_reduce combines one value per thread with Op over the group and
// returns the result to every thread: a butterfly of warp shuffles, then
// (RT > 32) one partial per warp through shared memory, read back in warp
// order by every thread, between two barriers (so that the next call may
// reuse the partials).
struct dlc_op_add { template <class T> static __device__ __forceinline__ T f(T a, T b) { return a + b; } };
struct dlc_op_mul { template <class T> static __device__ __forceinline__ T f(T a, T b) { return a * b; } };
struct dlc_op_max { template <class T> static __device__ __forceinline__ T f(T a, T b) { return dlc_max(a, b); } };
struct dlc_op_min { template <class T> static __device__ __forceinline__ T f(T a, T b) { return dlc_min(a, b); } };
template <int RT> static __device__ __forceinline__ void dlc_group_sync() {
  if (RT <= 32) __syncwarp();
  else __syncthreads();
}
template <class Op, int RT, class T> static __device__ __forceinline__ T dlc_group_reduce(T v) {
  for (int o = (RT < 32 ? RT : 32) / 2; o > 0; o /= 2) v = Op::f(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (RT > 32) {
    __shared__ T dlc_partial[RT > 32 ? RT / 32 : 1];
    if (threadIdx.x % 32u == 0) dlc_partial[threadIdx.x / 32u] = v;
    __syncthreads();
    v = dlc_partial[0];
    for (int w = 1; w < RT / 32; ++w) v = Op::f(v, dlc_partial[w]);
    __syncthreads();
  }
  return v;
}
// ---- end of prelude
)PRELUDE";
}

}  // namespace dlc::codegen::cuda
