// Building blocks for elementwise op definitions: a unary or binary op is
// described by its scalar function; these helpers supply inference (with
// broadcasting) and the reference kernel.
#pragma once

#include <limits>
#include <string>

#include "ir/ops/op_util.h"

namespace dlc::ir::ops {

// Which input dtypes an op accepts.
enum class TypeSet { Float, Numeric, SignedNumeric, Integer, Bool, Any };
bool inTypeSet(DType t, TypeSet set);
const char* typeSetName(TypeSet set);  // "a floating-point type", ...

// Fails unless input i of the node has a dtype in `accepted`; `what` names
// the operand in the message (e.g. "input", "slope").
void checkInputType(const InferContext& ctx, size_t i, TypeSet accepted, const char* what = "input");

// ---- Well-defined scalar arithmetic -------------------------------------
// Reference kernels must not have undefined behaviour, so integer
// add/sub/mul/neg wrap (two's complement, as numpy does) instead of
// overflowing, and float -> integer conversion saturates.

// The unsigned type that integer T is computed in without promotion to int
// (uint16 * uint16 would otherwise overflow a signed int).
template <typename T>
using WrapType = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

template <typename T>
inline constexpr bool kIsWrappingInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <typename T>
T wrappingAdd(T a, T b) {
  if constexpr (kIsWrappingInt<T>) return T(WrapType<T>(a) + WrapType<T>(b));
  else return a + b;
}
template <typename T>
T wrappingSub(T a, T b) {
  if constexpr (kIsWrappingInt<T>) return T(WrapType<T>(a) - WrapType<T>(b));
  else return a - b;
}
template <typename T>
T wrappingMul(T a, T b) {
  if constexpr (kIsWrappingInt<T>) return T(WrapType<T>(a) * WrapType<T>(b));
  else if constexpr (std::is_same_v<T, bool>) return a && b;
  else return a * b;
}
template <typename T>
T wrappingNeg(T a) {
  if constexpr (kIsWrappingInt<T>) return T(WrapType<T>(0) - WrapType<T>(a));
  else return -a;
}

// Float -> integer conversion that is defined everywhere: truncates toward
// zero, saturates at the type's limits, NaN becomes 0.
template <typename I>
I saturatingFloatToInt(double x) {
  static_assert(std::is_integral_v<I>);
  if (std::isnan(x)) return I(0);
  constexpr double lo = double(std::numeric_limits<I>::min());
  constexpr double hi = double(std::numeric_limits<I>::max());  // rounds up to 2^bits for 64-bit types
  if (x <= lo) return std::numeric_limits<I>::min();
  if (x >= hi) return std::numeric_limits<I>::max();
  return static_cast<I>(x);
}

// Converts a value between storage types (Half/BFloat16 included): to bool
// is `!= 0` (NaN is true), float to integer saturates, integer to integer
// wraps, everything else is the C++ conversion.
template <typename To, typename From>
To convertValue(From in) {
  auto v = toCompute(in);
  using V = decltype(v);
  using C = ComputeType<To>;
  if constexpr (std::is_same_v<C, bool>) return v != V(0);
  else if constexpr (std::is_floating_point_v<V> && std::is_integral_v<C>)
    return saturatingFloatToInt<C>(double(v));
  else return fromCompute<To>(static_cast<C>(v));
}

// ---- Kernels -------------------------------------------------------------

// Applies out[i] = f(in[i]) (computed in double for floats, in the integer
// type for integers) to input 0.
void evalUnaryDouble(EvalContext& ctx, double (*f)(double));

// Applies out[i] = f(x) to input 0 where f is a generic callable taking
// ComputeType<T> (float for half types); the result is converted with
// convertValue to the input's dtype, or to `outType` (e.g. Bool).
template <typename F>
void evalUnary(EvalContext& ctx, F f, DType outType = DType::Undefined) {
  const Tensor& in = ctx.input(0);
  DType resultType = outType == DType::Undefined ? in.dtype() : outType;
  Tensor out(resultType, in.shape());
  dispatchDType(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto pi = in.data<T>();
    dispatchDType(resultType, [&](auto otag) {
      using O = decltype(otag);
      auto po = out.data<O>();
      for (size_t i = 0; i < pi.size(); ++i) po[i] = convertValue<O>(f(toCompute(pi[i])));
    });
  });
  ctx.setOutput(0, std::move(out));
}

// Applies out = f(a, b) with broadcasting, where f is a generic lambda taking
// ComputeType<T> arguments; the result has the input's dtype, or bool when
// `outType` is Bool (comparisons).
template <typename F>
void evalBinary(EvalContext& ctx, F f, DType outType = DType::Undefined) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    ctx.fail("operands have different dtypes {} and {}", dtypeName(a.dtype()),
             dtypeName(b.dtype()));
  std::vector<int64_t> shape = broadcastExtents(a.shape(), b.shape());
  DType resultType = outType == DType::Undefined ? a.dtype() : outType;
  Tensor out(resultType, shape);
  std::vector<int64_t> sa = broadcastStrides(a.shape(), shape);
  std::vector<int64_t> sb = broadcastStrides(b.shape(), shape);
  dispatchDType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto pa = a.data<T>();
    auto pb = b.data<T>();
    auto run = [&](auto otag) {
      using O = decltype(otag);
      auto po = out.data<O>();
      int64_t k = 0;
      forEachIndex(shape, [&](const std::vector<int64_t>& idx) {
        auto r = f(toCompute(pa[offsetOf(idx, sa)]), toCompute(pb[offsetOf(idx, sb)]));
        po[k++] = fromCompute<O>(static_cast<ComputeType<O>>(r));
      });
    };
    if (resultType == DType::Bool) run(bool{});
    else run(T{});
  });
  ctx.setOutput(0, std::move(out));
}

// The broadcast shape of all present inputs of an eval context.
std::vector<int64_t> broadcastInputExtents(const EvalContext& ctx);

// Fails unless all present inputs share one dtype; returns it. `first` is
// the first input that must match (Where's condition is input 0, so 1).
DType commonInputDType(const EvalContext& ctx, size_t first = 0);

// Inference for an op whose result has input 0's shape and dtype in
// `accepted`; the result has `outType` (Undefined: the input dtype).
void inferUnary(InferContext& ctx, TypeSet accepted, DType outType = DType::Undefined);

// Inference for a broadcasting binary op whose inputs share one dtype from
// `accepted`; the result has `outType` (Undefined: the input dtype).
void inferBinary(InferContext& ctx, TypeSet accepted, DType outType = DType::Undefined);

// Inference for a broadcasting op with any number of inputs of one dtype
// from `accepted` (Min, Max, Sum, Mean).
void inferVariadic(InferContext& ctx, TypeSet accepted);

// Attributes for an IR Cast to `to` (for lowerings in other families).
Attributes castAttrs(DType to);

}  // namespace dlc::ir::ops
