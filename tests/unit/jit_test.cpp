// The LLVM CPU backend: kernel IR compiled with the JIT against C++
// references with the kernel IR's semantics (NaN/Inf, integer division by
// zero, saturating casts, round-half-even), the accuracy of the inline f32
// math, vectorisation of elementwise and reassociable reduction kernels, the
// 2-D tile loops, and target selection.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "codegen/kernel/kernel_ir.h"
#include "codegen/llvm/cpu_jit.h"
#include "ir/dtype.h"
#include "runtime/kernel.h"

using namespace dlc;
using namespace dlc::codegen;
using namespace dlc::codegen::kir;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// out[v0] = op(x[v0]) over extent0 = n.
Kernel unaryKernel(const std::string& name, UnaryOp op, DType t, int64_t n) {
  Kernel k;
  k.name = name;
  k.extent0 = n;
  int x = addBuffer(k, "x", t, n, false);
  Expr e = unary(op, load(k, x, var(k.iter0)));
  int out = addBuffer(k, "out", e->dtype, n, true);
  k.body = {store(k, out, var(k.iter0), e)};
  return k;
}

Kernel binaryKernel(const std::string& name, BinaryOp op, DType t, int64_t n) {
  Kernel k;
  k.name = name;
  k.extent0 = n;
  int x = addBuffer(k, "x", t, n, false);
  int y = addBuffer(k, "y", t, n, false);
  Expr e = binary(op, load(k, x, var(k.iter0)), load(k, y, var(k.iter0)));
  int out = addBuffer(k, "out", e->dtype, n, true);
  k.body = {store(k, out, var(k.iter0), e)};
  return k;
}

Kernel castKernel(const std::string& name, DType from, DType to, int64_t n) {
  Kernel k;
  k.name = name;
  k.extent0 = n;
  int x = addBuffer(k, "x", from, n, false);
  int out = addBuffer(k, "out", to, n, true);
  k.body = {store(k, out, var(k.iter0), cast(to, load(k, x, var(k.iter0))))};
  return k;
}

void run(const codegen::cpu::JitProgram& p, const std::string& name, std::vector<void*> buffers, int64_t n) {
  int64_t range[4] = {0, n, 0, 1};
  p.kernel(name)(buffers.data(), range);
}

bool sameFloat(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// ulps between two floats (both finite or equal).
int64_t ulpDistance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  if (a == b) return 0;
  auto key = [](float f) {
    int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? int64_t(INT32_MIN) - i : int64_t(i);
  };
  return std::abs(key(a) - key(b));
}

const std::vector<double> kFloatValues = {0.0,  -0.0, 1.0,    -1.0,  0.5,   -0.5,   1.5,    2.5,  -2.5, 3.7,
                                          -3.7, 1e-3, -1e-30, 1e30,  -1e30, 100.0,  -100.0, 0.1,  7.0,  -7.25,
                                          kInf, -kInf, kNaN,  1e-40, 2.0,   88.0,   -88.0,  0.75, 3.0,  -3.0};

// ---------------------------------------------------------------- float unary

template <typename T>
std::optional<T> unaryRef(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Sign: return x > 0 ? T(1) : x < 0 ? T(-1) : x;
    case UnaryOp::Reciprocal: return T(1) / x;
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Rsqrt: return T(1) / std::sqrt(x);
    case UnaryOp::Floor: return std::floor(x);
    case UnaryOp::Ceil: return std::ceil(x);
    case UnaryOp::Round: return std::nearbyint(x);
    case UnaryOp::Sin: return std::sin(x);
    case UnaryOp::Cos: return std::cos(x);
    case UnaryOp::Tan: return std::tan(x);
    case UnaryOp::Asin: return std::asin(x);
    case UnaryOp::Acos: return std::acos(x);
    case UnaryOp::Atan: return std::atan(x);
    case UnaryOp::Sinh: return std::sinh(x);
    case UnaryOp::Cosh: return std::cosh(x);
    case UnaryOp::Asinh: return std::asinh(x);
    case UnaryOp::Acosh: return std::acosh(x);
    case UnaryOp::Atanh: return std::atanh(x);
    // Approximated for f32 (checked in MathAccuracy); libm for f64.
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Erf: return std::erf(x);
    case UnaryOp::Sigmoid: return T(1.0 / (1.0 + std::exp(-double(x))));
    case UnaryOp::Not:
    case UnaryOp::BitNot:
    case UnaryOp::IsNaN:
    case UnaryOp::IsInf: return std::nullopt;
  }
  return std::nullopt;
}

const std::vector<UnaryOp> kFloatUnary = {
    UnaryOp::Neg,  UnaryOp::Abs,  UnaryOp::Sign,  UnaryOp::Reciprocal, UnaryOp::Sqrt,  UnaryOp::Rsqrt,
    UnaryOp::Floor, UnaryOp::Ceil, UnaryOp::Round, UnaryOp::Sin,       UnaryOp::Cos,   UnaryOp::Tan,
    UnaryOp::Asin, UnaryOp::Acos, UnaryOp::Atan,  UnaryOp::Sinh,       UnaryOp::Cosh,  UnaryOp::Asinh,
    UnaryOp::Acosh, UnaryOp::Atanh, UnaryOp::Exp, UnaryOp::Log,        UnaryOp::Tanh,  UnaryOp::Erf,
    UnaryOp::Sigmoid};

bool isApproximated(UnaryOp op) {
  return op == UnaryOp::Exp || op == UnaryOp::Log || op == UnaryOp::Tanh || op == UnaryOp::Erf ||
         op == UnaryOp::Sigmoid;
}

template <typename T>
void checkFloatUnary() {
  DType t = ir::dtypeOf<T>();
  int64_t n = int64_t(kFloatValues.size());
  std::vector<Kernel> kernels;
  for (UnaryOp op : kFloatUnary) kernels.push_back(unaryKernel(fmt::format("u{}", int(op)), op, t, n));
  kernels.push_back(unaryKernel("isnan", UnaryOp::IsNaN, t, n));
  kernels.push_back(unaryKernel("isinf", UnaryOp::IsInf, t, n));
  auto program = cpu::jitCompile(kernels, {});
  std::vector<T> x(kFloatValues.begin(), kFloatValues.end());
  for (UnaryOp op : kFloatUnary) {
    std::vector<T> out(static_cast<size_t>(n));
    run(*program, fmt::format("u{}", int(op)), {x.data(), out.data()}, n);
    for (size_t i = 0; i < x.size(); ++i) {
      T ref = *unaryRef(op, x[i]);
      if (isApproximated(op) && t == DType::F32) {
        EXPECT_LE(ulpDistance(float(out[i]), float(ref)), 5)
            << "op " << int(op) << " x=" << x[i] << " got " << out[i] << " want " << ref;
      } else {
        EXPECT_TRUE(sameFloat(out[i], ref)) << "op " << int(op) << " x=" << x[i] << " got " << out[i] << " want " << ref;
      }
    }
  }
  std::vector<uint8_t> nan(static_cast<size_t>(n)), inf(static_cast<size_t>(n));
  run(*program, "isnan", {x.data(), nan.data()}, n);
  run(*program, "isinf", {x.data(), inf.data()}, n);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(nan[i], std::isnan(x[i]) ? 1 : 0) << x[i];
    EXPECT_EQ(inf[i], std::isinf(x[i]) ? 1 : 0) << x[i];
  }
}

}  // namespace

TEST(Jit, FloatUnaryF32) { checkFloatUnary<float>(); }
TEST(Jit, FloatUnaryF64) { checkFloatUnary<double>(); }

// ---------------------------------------------------------------- float binary

namespace {

template <typename T>
double binaryRefF(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Rem: return std::fmod(a, b);
    case BinaryOp::Pow: return std::pow(a, b);
    case BinaryOp::Min:
    case BinaryOp::Max: {
      if (std::isnan(a) || std::isnan(b)) return kNaN;
      if (a == b) return (op == BinaryOp::Min) == std::signbit(a) ? a : b;  // -0 < +0
      return (op == BinaryOp::Min) == (a < b) ? a : b;
    }
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::And:
    case BinaryOp::Or:
    case BinaryOp::Xor:
    case BinaryOp::Shl:
    case BinaryOp::Shr: break;
  }
  return kNaN;
}

template <typename T>
void checkFloatBinary() {
  DType t = ir::dtypeOf<T>();
  std::vector<double> vals = {0.0, -0.0, 1.0, -1.5, 2.5, 3.0, -7.0, 0.5, kInf, -kInf, kNaN, 1e30};
  std::vector<T> x, y;
  for (double a : vals)
    for (double b : vals) x.push_back(T(a)), y.push_back(T(b));
  int64_t n = int64_t(x.size());
  std::vector<BinaryOp> ops = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Rem,
                               BinaryOp::Pow, BinaryOp::Min, BinaryOp::Max, BinaryOp::Eq,  BinaryOp::Ne,
                               BinaryOp::Lt,  BinaryOp::Le,  BinaryOp::Gt,  BinaryOp::Ge};
  std::vector<Kernel> kernels;
  for (BinaryOp op : ops) kernels.push_back(binaryKernel(fmt::format("b{}", int(op)), op, t, n));
  auto program = cpu::jitCompile(kernels, {});
  for (BinaryOp op : ops) {
    bool cmp = op >= BinaryOp::Eq;
    std::vector<T> out(static_cast<size_t>(n));
    std::vector<uint8_t> outB(static_cast<size_t>(n));
    run(*program, fmt::format("b{}", int(op)), {x.data(), y.data(), cmp ? (void*)outB.data() : (void*)out.data()}, n);
    for (size_t i = 0; i < x.size(); ++i) {
      double ref = binaryRefF<T>(op, x[i], y[i]);
      double got = cmp ? double(outB[i]) : double(out[i]);
      bool ok = sameFloat(got, ref) && (ref != 0 || std::signbit(got) == std::signbit(ref));
      EXPECT_TRUE(ok) << "op " << int(op) << " " << x[i] << ", " << y[i] << " got " << got << " want " << ref;
    }
  }
}

}  // namespace

TEST(Jit, FloatBinaryF32) { checkFloatBinary<float>(); }
TEST(Jit, FloatBinaryF64) { checkFloatBinary<double>(); }

// ---------------------------------------------------------------- integers and bool

namespace {

template <typename T>
std::optional<T> intBinaryRef(BinaryOp op, T a, T b) {
  // Small types promote to int, whose product can overflow: compute in a
  // wide unsigned type and truncate.
  using U = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
  constexpr int bits = int(sizeof(T)) * 8;
  bool badDiv = b == 0 || (std::is_signed_v<T> && a == std::numeric_limits<T>::min() && b == T(-1));
  switch (op) {
    case BinaryOp::Add: return T(U(a) + U(b));
    case BinaryOp::Sub: return T(U(a) - U(b));
    case BinaryOp::Mul: return T(U(a) * U(b));
    case BinaryOp::Div: return badDiv ? T(0) : T(a / b);
    case BinaryOp::Rem: return badDiv ? T(0) : T(a % b);
    case BinaryOp::Min: return std::min(a, b);
    case BinaryOp::Max: return std::max(a, b);
    case BinaryOp::And: return T(a & b);
    case BinaryOp::Or: return T(a | b);
    case BinaryOp::Xor: return T(a ^ b);
    case BinaryOp::Shl: return U(b) >= U(bits) ? T(0) : T(U(a) << U(b));
    case BinaryOp::Shr: return U(b) >= U(bits) ? T(0) : T(U(a) >> U(b));
    case BinaryOp::Pow: {
      double p = std::pow(double(a), double(b));
      if (std::isnan(p)) return T(0);
      if (p >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
      if (p <= double(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
      return T(std::trunc(p));
    }
    case BinaryOp::Eq: return T(a == b);
    case BinaryOp::Ne: return T(a != b);
    case BinaryOp::Lt: return T(a < b);
    case BinaryOp::Le: return T(a <= b);
    case BinaryOp::Gt: return T(a > b);
    case BinaryOp::Ge: return T(a >= b);
  }
  return std::nullopt;
}

template <typename T>
void checkIntegers() {
  DType t = ir::dtypeOf<T>();
  using L = std::numeric_limits<T>;
  std::vector<T> vals = {T(0), T(1), T(2), T(3), T(7), T(100), L::max(), L::min(), T(L::max() - 1)};
  if constexpr (std::is_signed_v<T>) {
    for (T v : {T(-1), T(-7), T(-3), T(L::min() + 1)}) vals.push_back(v);
  } else {
    for (T v : {T(8), T(31), T(63), T(64)}) vals.push_back(v);  // shift amounts around the width
  }
  std::vector<T> x, y;
  for (T a : vals)
    for (T b : vals) x.push_back(a), y.push_back(b);
  int64_t n = int64_t(x.size());
  std::vector<BinaryOp> ops = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Rem,
                               BinaryOp::Min, BinaryOp::Max, BinaryOp::And, BinaryOp::Or,  BinaryOp::Xor,
                               BinaryOp::Pow, BinaryOp::Eq,  BinaryOp::Ne,  BinaryOp::Lt,  BinaryOp::Le,
                               BinaryOp::Gt,  BinaryOp::Ge};
  if (!std::is_signed_v<T>) ops.push_back(BinaryOp::Shl), ops.push_back(BinaryOp::Shr);
  std::vector<Kernel> kernels;
  for (BinaryOp op : ops) kernels.push_back(binaryKernel(fmt::format("b{}", int(op)), op, t, n));
  std::vector<UnaryOp> uops = {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::BitNot, UnaryOp::Sign};
  for (UnaryOp op : uops) kernels.push_back(unaryKernel(fmt::format("u{}", int(op)), op, t, n));
  auto program = cpu::jitCompile(kernels, {});
  for (BinaryOp op : ops) {
    bool cmp = op >= BinaryOp::Eq;
    std::vector<T> out(static_cast<size_t>(n));
    std::vector<uint8_t> outB(static_cast<size_t>(n));
    run(*program, fmt::format("b{}", int(op)), {x.data(), y.data(), cmp ? (void*)outB.data() : (void*)out.data()}, n);
    for (size_t i = 0; i < x.size(); ++i) {
      T ref = *intBinaryRef<T>(op, x[i], y[i]);
      T got = cmp ? T(outB[i]) : out[i];
      EXPECT_EQ(int64_t(got), int64_t(ref)) << "op " << int(op) << " " << int64_t(x[i]) << ", " << int64_t(y[i]);
    }
  }
  for (UnaryOp op : uops) {
    std::vector<T> out(static_cast<size_t>(n));
    run(*program, fmt::format("u{}", int(op)), {x.data(), out.data()}, n);
    for (size_t i = 0; i < x.size(); ++i) {
      using U = std::make_unsigned_t<T>;
      T a = x[i];
      T ref = op == UnaryOp::Neg      ? T(U(0) - U(a))
              : op == UnaryOp::Abs    ? (a < 0 ? T(U(0) - U(a)) : a)
              : op == UnaryOp::BitNot ? T(~a)
                                      : T(a > 0 ? 1 : a < 0 ? -1 : 0);
      EXPECT_EQ(int64_t(out[i]), int64_t(ref)) << "op " << int(op) << " " << int64_t(a);
    }
  }
}

}  // namespace

TEST(Jit, IntegersI8) { checkIntegers<int8_t>(); }
TEST(Jit, IntegersI16) { checkIntegers<int16_t>(); }
TEST(Jit, IntegersI32) { checkIntegers<int32_t>(); }
TEST(Jit, IntegersI64) { checkIntegers<int64_t>(); }
TEST(Jit, IntegersU8) { checkIntegers<uint8_t>(); }
TEST(Jit, IntegersU16) { checkIntegers<uint16_t>(); }
TEST(Jit, IntegersU32) { checkIntegers<uint32_t>(); }
TEST(Jit, IntegersU64) { checkIntegers<uint64_t>(); }

TEST(Jit, BoolLogic) {
  std::vector<Kernel> kernels;
  for (BinaryOp op : {BinaryOp::And, BinaryOp::Or, BinaryOp::Xor, BinaryOp::Eq, BinaryOp::Ne, BinaryOp::Lt})
    kernels.push_back(binaryKernel(fmt::format("b{}", int(op)), op, DType::Bool, 4));
  kernels.push_back(unaryKernel("not", UnaryOp::Not, DType::Bool, 4));
  auto program = cpu::jitCompile(kernels, {});
  uint8_t x[4] = {0, 0, 1, 1}, y[4] = {0, 1, 0, 1}, out[4];
  auto check = [&](BinaryOp op, std::array<int, 4> want) {
    run(*program, fmt::format("b{}", int(op)), {x, y, out}, 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], want[size_t(i)]) << int(op) << " " << i;
  };
  check(BinaryOp::And, {0, 0, 0, 1});
  check(BinaryOp::Or, {0, 1, 1, 1});
  check(BinaryOp::Xor, {0, 1, 1, 0});
  check(BinaryOp::Eq, {1, 0, 0, 1});
  check(BinaryOp::Ne, {0, 1, 1, 0});
  check(BinaryOp::Lt, {0, 1, 0, 0});
  run(*program, "not", {x, out}, 4);
  EXPECT_EQ(std::vector<int>(out, out + 4), (std::vector<int>{1, 1, 0, 0}));
}

// ---------------------------------------------------------------- casts

namespace {

// Reads element i of a buffer of dtype t as double (F16/BF16 decoded).
double readAsDouble(DType t, const std::vector<uint8_t>& buf, size_t i) {
  return ir::dispatchDType(t, [&](auto tag) -> double {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, buf.data() + i * sizeof(T), sizeof(T));
    if constexpr (std::is_same_v<T, ir::Half>) return ir::halfToFloat(v.bits);
    else if constexpr (std::is_same_v<T, ir::BFloat16>) return ir::bf16ToFloat(v.bits);
    else return double(v);
  });
}

std::vector<uint8_t> encode(DType t, const std::vector<double>& vals) {
  std::vector<uint8_t> buf(vals.size() * ir::dtypeSize(t));
  for (size_t i = 0; i < vals.size(); ++i)
    ir::dispatchDType(t, [&](auto tag) {
      using T = decltype(tag);
      T v;
      if constexpr (std::is_same_v<T, ir::Half>) v.bits = ir::floatToHalf(float(vals[i]));
      else if constexpr (std::is_same_v<T, ir::BFloat16>) v.bits = ir::floatToBf16(float(vals[i]));
      else if constexpr (std::is_same_v<T, bool>) v = vals[i] != 0;
      else v = T(vals[i]);
      std::memcpy(buf.data() + i * sizeof(T), &v, sizeof(T));
    });
  return buf;
}

// The kernel IR's cast of a value (already exactly representable in `from`).
double castRef(double v, DType from, DType to) {
  if (to == DType::Bool) return v != 0 || std::isnan(v);
  if (ir::isFloat(to)) {
    if (to == DType::F32) return float(v);
    if (to == DType::F64) return v;
    float f = float(v);  // F16/BF16 are converted through f32
    return to == DType::F16 ? ir::halfToFloat(ir::floatToHalf(f)) : ir::bf16ToFloat(ir::floatToBf16(f));
  }
  return ir::dispatchDType(to, [&](auto tag) -> double {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (ir::isFloat(from)) {  // truncate toward zero, saturate, NaN -> 0
        if (std::isnan(v)) return 0;
        double tr = std::trunc(v);
        if (tr <= double(std::numeric_limits<T>::min())) return double(std::numeric_limits<T>::min());
        if (tr >= double(std::numeric_limits<T>::max())) return double(std::numeric_limits<T>::max());
        return tr;
      }
      // Integer -> integer wraps (two's complement); v is exact here.
      if (v < 0) return double(T(int64_t(v)));
      return double(T(uint64_t(v)));
    }
    return kNaN;
  });
}

}  // namespace

TEST(Jit, CastsSaturateTruncateAndRound) {
  std::vector<DType> types = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I8,  DType::I16, DType::I32,
                              DType::I64, DType::U8,  DType::U16, DType::U32, DType::U64,  DType::Bool};
  // Values exactly representable in every float type and in range for the
  // integer sources where used.
  std::vector<double> floatVals = {0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 3.75, -3.75, 127.0, 128.0, 255.0,
                                   256.0, -129.0, 1e10, -1e10, 65504.0, 1e30, -1e30, kInf, -kInf, kNaN, 0.5, -0.5};
  std::vector<double> intVals = {0, 1, 2, 100, 127, 255};
  std::vector<double> signedVals = {0, 1, -1, 100, -100, 127, -128};
  std::vector<Kernel> kernels;
  for (DType from : types)
    for (DType to : types) kernels.push_back(castKernel(fmt::format("c_{}_{}", ir::dtypeName(from), ir::dtypeName(to)), from, to, 0));
  auto program = cpu::jitCompile(kernels, {});
  for (DType from : types) {
    std::vector<double> vals = ir::isFloat(from)       ? floatVals
                               : from == DType::Bool   ? std::vector<double>{0, 1}
                               : ir::isSigned(from)    ? signedVals
                                                       : intVals;
    // Values as stored in `from`.
    std::vector<uint8_t> in = encode(from, vals);
    for (DType to : types) {
      std::vector<uint8_t> out(vals.size() * ir::dtypeSize(to));
      run(*program, fmt::format("c_{}_{}", ir::dtypeName(from), ir::dtypeName(to)), {in.data(), out.data()},
          int64_t(vals.size()));
      for (size_t i = 0; i < vals.size(); ++i) {
        double src = readAsDouble(from, in, i);
        double want = castRef(src, from, to);
        double got = readAsDouble(to, out, i);
        EXPECT_TRUE(sameFloat(got, want)) << ir::dtypeName(from) << " " << src << " -> " << ir::dtypeName(to)
                                          << ": got " << got << " want " << want;
      }
    }
  }
}

TEST(Jit, RoundIsHalfToEven) {
  auto program = cpu::jitCompile({unaryKernel("round", UnaryOp::Round, DType::F32, 8)}, {});
  float x[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4999998f, 3.5f}, out[8];
  run(*program, "round", {x, out}, 8);
  EXPECT_EQ(std::vector<float>(out, out + 8), (std::vector<float>{0, 2, 2, -0.0f, -2, -2, 2, 4}));
  EXPECT_TRUE(std::signbit(out[3]));
}

// ---------------------------------------------------------------- f32 math accuracy

TEST(Jit, MathAccuracyF32) {
  std::vector<float> x;
  for (int i = -200000; i <= 200000; ++i) x.push_back(float(i) * 0.00052f);  // [-104, 104]
  for (int e = -45; e <= 38; ++e)
    for (float m : {1.0f, 1.37f, 3.3f, 7.9f}) x.push_back(m * std::pow(10.0f, float(e))), x.push_back(-x.back());
  for (float v : {0.0f, -0.0f, 1e-45f, -1e-45f, 1.17549435e-38f, 3.4e38f, -3.4e38f, 88.72f, 88.73f, -87.3f, -103.9f,
                  -104.5f, 9.0f, 9.2f, -9.2f, 3.99f, 4.01f, 0.625f, -0.625f, 0.6249f})
    x.push_back(v);
  x.push_back(float(kInf)), x.push_back(float(-kInf)), x.push_back(float(kNaN));
  int64_t n = int64_t(x.size());
  struct Fn {
    UnaryOp op;
    double (*ref)(double);
    int64_t maxUlp;
  };
  std::vector<Fn> fns = {
      {UnaryOp::Exp, [](double v) { return std::exp(v); }, 2},
      {UnaryOp::Log, [](double v) { return std::log(v); }, 2},
      {UnaryOp::Tanh, [](double v) { return std::tanh(v); }, 2},
      {UnaryOp::Sigmoid, [](double v) { return 1.0 / (1.0 + std::exp(-v)); }, 3},
      {UnaryOp::Erf, [](double v) { return std::erf(v); }, 5},
  };
  std::vector<Kernel> kernels;
  for (const Fn& f : fns) kernels.push_back(unaryKernel(fmt::format("m{}", int(f.op)), f.op, DType::F32, n));
  auto program = cpu::jitCompile(kernels, {});
  for (const Fn& f : fns) {
    std::vector<float> out(static_cast<size_t>(n));
    run(*program, fmt::format("m{}", int(f.op)), {x.data(), out.data()}, n);
    int64_t worst = 0;
    float worstX = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      float want = float(f.ref(double(x[i])));
      int64_t d = ulpDistance(out[i], want);
      // Subnormal results: an absolute error of one subnormal step counts as 1 ulp.
      if (std::fabs(want) < 1.17549435e-38f && std::fabs(out[i] - want) <= 1.5e-45f) d = std::min<int64_t>(d, 1);
      if (d > worst) worst = d, worstX = x[i];
    }
    EXPECT_LE(worst, f.maxUlp) << "op " << int(f.op) << " worst at x=" << worstX;
    std::printf("op %d: max error %lld ulp (at x = %g)\n", int(f.op), (long long)worst, double(worstX));
  }
}

// ---------------------------------------------------------------- vectorisation, aliasing, reductions

namespace {

// The text of one function in a printed module.
std::string functionText(const std::string& module, const std::string& name) {
  size_t start = module.find("@" + name + "(");
  start = module.rfind("define", start);
  size_t end = module.find("\n}\n", start);
  return module.substr(start, end - start);
}

// out[v] = exp(x[v]) * 2 + y[v] (+ in-place friendly: out may be x).
Kernel elementwiseKernel(int64_t n) {
  Kernel k;
  k.name = "ew";
  k.extent0 = 1;
  k.extent1 = n;
  int x = addBuffer(k, "x", DType::F32, n, false);
  int y = addBuffer(k, "y", DType::F32, n, false);
  int out = addBuffer(k, "out", DType::F32, n, true);
  Expr e = binary(BinaryOp::Add,
                  binary(BinaryOp::Mul, unary(UnaryOp::Exp, load(k, x, var(k.iter1))), constant(DType::F32, 2)),
                  load(k, y, var(k.iter1)));
  k.body = {store(k, out, var(k.iter1), e)};
  return k;
}

// out[row] = sum_j x[row*n + j] in a serial loop.
Kernel rowSumKernel(int64_t rows, int64_t n, bool reassoc) {
  Kernel k;
  k.name = reassoc ? "rowsum_fast" : "rowsum_exact";
  k.extent0 = rows;
  int x = addBuffer(k, "x", DType::F32, rows * n, false);
  int out = addBuffer(k, "out", DType::F32, rows, true);
  Var acc = newVar(k, DType::F32), j = newVar(k);
  Expr idx = binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(n)), var(j));
  k.body = {declare(acc, constant(DType::F32, 0)),
            forLoop(j, intConstant(0), intConstant(n), {assign(acc, binary(BinaryOp::Add, var(acc), load(k, x, idx)))}),
            store(k, out, var(k.iter0), var(acc))};
  k.allowReassociation = reassoc;
  return k;
}

}  // namespace

TEST(Jit, ElementwiseKernelVectorisesAndRunsInPlace) {
  const int64_t n = 1003;
  Kernel k = elementwiseKernel(n);
  std::string ir = functionText(cpu::optimizedLlvmIR({k}, {}), "ew");
  EXPECT_NE(ir.find("x float>"), std::string::npos) << ir;  // vector arithmetic in the kernel
  EXPECT_EQ(ir.find("@expf"), std::string::npos) << "exp must be inline: " << ir;
  auto program = cpu::jitCompile({k}, {});
  std::vector<float> x(n), y(n), out(n);
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(i % 17) * 0.25f - 2, y[size_t(i)] = float(i);
  std::vector<float> want(n);
  for (size_t i = 0; i < size_t(n); ++i) want[i] = std::exp(x[i]) * 2 + y[i];
  int64_t range[4] = {0, 1, 0, n};
  void* separate[3] = {x.data(), y.data(), out.data()};
  program->kernel("ew")(separate, range);
  for (size_t i = 0; i < size_t(n); ++i) ASSERT_NEAR(out[i], want[i], 1e-5 * std::fabs(want[i])) << i;
  // In place: out is x (element i read before element i is written).
  void* inPlace[3] = {x.data(), y.data(), x.data()};
  program->kernel("ew")(inPlace, range);
  for (size_t i = 0; i < size_t(n); ++i) ASSERT_NEAR(x[i], want[i], 1e-5 * std::fabs(want[i])) << i;
}

TEST(Jit, ReassociableReductionVectorises) {
  const int64_t rows = 5, n = 1000;
  Kernel fast = rowSumKernel(rows, n, true), exact = rowSumKernel(rows, n, false);
  std::string ir = cpu::optimizedLlvmIR({fast, exact}, {});
  std::string fastIR = functionText(ir, fast.name), exactIR = functionText(ir, exact.name);
  EXPECT_NE(fastIR.find("fadd reassoc contract <"), std::string::npos) << fastIR;
  EXPECT_EQ(exactIR.find("fadd <"), std::string::npos) << "an exact sum must stay in order: " << exactIR;
  auto program = cpu::jitCompile({fast, exact}, {});
  std::vector<float> x(size_t(rows * n));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1, 1);
  for (float& v : x) v = d(rng);
  for (const char* name : {"rowsum_fast", "rowsum_exact"}) {
    std::vector<float> out(rows);
    int64_t range[4] = {0, rows, 0, 1};
    void* buffers[2] = {x.data(), out.data()};
    program->kernel(name)(buffers, range);
    for (int64_t r = 0; r < rows; ++r) {
      double want = 0;
      float inOrder = 0;
      for (int64_t j = 0; j < n; ++j) want += x[size_t(r * n + j)], inOrder += x[size_t(r * n + j)];
      if (std::string(name) == "rowsum_exact")
        EXPECT_EQ(out[size_t(r)], inOrder);
      else
        EXPECT_NEAR(out[size_t(r)], want, 1e-3);
    }
  }
}

TEST(Jit, TwoDimensionalKernelThroughLaunchKernel) {
  // out[v0 * 53 + v1] = a[v0] * 10 + b[v1], with an If and a select.
  const int64_t e0 = 37, e1 = 53;
  Kernel k;
  k.name = "outer";
  k.extent0 = e0, k.extent1 = e1;
  int a = addBuffer(k, "a", DType::F32, e0, false);
  int b = addBuffer(k, "b", DType::F32, e1, false);
  int out = addBuffer(k, "out", DType::F32, e0 * e1, true);
  Expr idx = binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(e1)), var(k.iter1));
  Expr v = binary(BinaryOp::Add, binary(BinaryOp::Mul, load(k, a, var(k.iter0)), constant(DType::F32, 10)),
                  load(k, b, var(k.iter1)));
  k.body = {ifThen(binary(BinaryOp::Lt, var(k.iter1), intConstant(50)), {store(k, out, idx, v)},
                   {store(k, out, idx, constant(DType::F32, -1))})};
  auto program = cpu::jitCompile({k}, {});
  std::vector<float> av(e0), bv(e1), o(size_t(e0 * e1), 0);
  for (int64_t i = 0; i < e0; ++i) av[size_t(i)] = float(i);
  for (int64_t j = 0; j < e1; ++j) bv[size_t(j)] = float(j) * 0.5f;
  runtime::ThreadPool pool(4);
  void* buffers[3] = {av.data(), bv.data(), o.data()};
  runtime::launchKernel(pool, program->kernel("outer"), buffers, e0, e1, 1);
  for (int64_t i = 0; i < e0; ++i)
    for (int64_t j = 0; j < e1; ++j)
      ASSERT_EQ(o[size_t(i * e1 + j)], j < 50 ? float(i) * 10 + float(j) * 0.5f : -1.0f) << i << "," << j;
}

// ---------------------------------------------------------------- targets

TEST(Jit, NamedCpusAndUnknownCpu) {
  auto v3 = cpu::jitCompile({}, {"x86-64-v3"});
  EXPECT_NE(v3->targetDescription().find("x86-64-v3, 256-bit vectors, micro-kernel 6x16"), std::string::npos)
      << v3->targetDescription();
  EXPECT_EQ(v3->gemmMicroKernel().nr, 16);
  try {
    cpu::jitCompile({}, {"pentium-9000"});
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown CPU 'pentium-9000'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("-mcpu=help"), std::string::npos) << e.what();
  }
  EXPECT_THROW(v3->kernel("missing"), InternalError);
}

// The baseline x86-64 CPU has no F16C: half conversions become libgcc calls
// that the JIT resolves in this process.
TEST(Jit, HalfConversionsOnBaselineCpu) {
  auto program = cpu::jitCompile({castKernel("to_half", DType::F32, DType::F16, 4),
                                  castKernel("from_half", DType::F16, DType::F32, 4),
                                  unaryKernel("expf", UnaryOp::Exp, DType::F32, 4)},
                                 {"x86-64"});
  EXPECT_NE(program->targetDescription().find("x86-64, 128-bit vectors"), std::string::npos)
      << program->targetDescription();
  float x[4] = {1.0f, -2.5f, 65504.0f, 1e-3f}, back[4], e[4];
  uint16_t h[4];
  run(*program, "to_half", {x, h}, 4);
  run(*program, "from_half", {h, back}, 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(h[i], ir::floatToHalf(x[i])) << x[i];
    EXPECT_EQ(back[i], ir::halfToFloat(ir::floatToHalf(x[i]))) << x[i];
  }
  run(*program, "expf", {x, e}, 4);
  EXPECT_LE(ulpDistance(e[0], std::exp(1.0f)), 1);
}

TEST(Jit, InvalidKernelIsAnInternalError) {
  Kernel k = unaryKernel("bad name", UnaryOp::Neg, DType::F32, 4);
  EXPECT_THROW(cpu::jitCompile({k}, {}), InternalError);
  Kernel a = unaryKernel("same", UnaryOp::Neg, DType::F32, 4), b = unaryKernel("same", UnaryOp::Abs, DType::F32, 4);
  EXPECT_THROW(cpu::jitCompile({a, b}, {}), InternalError);
}

// A kernel writes exactly its extent: guard elements around the buffers stay
// untouched (a vectorised loop must not store past the end of a small
// output).
TEST(Jit, KernelsWriteOnlyTheirExtent) {
  for (int64_t n : {1, 3, 8, 15, 17, 40}) {
    SCOPED_TRACE(n);
    auto program = cpu::jitCompile({unaryKernel("round", UnaryOp::Round, DType::F32, n)}, {});
    std::vector<float> in(size_t(n + 64), 1.5f), out(size_t(n + 64), -7.0f);
    run(*program, "round", {in.data() + 32, out.data() + 32}, n);
    for (int64_t i = 0; i < n + 64; ++i) {
      bool inside = i >= 32 && i < 32 + n;
      EXPECT_EQ(out[size_t(i)], inside ? 2.0f : -7.0f) << "element " << i - 32;
    }
  }
}
