// Helpers shared by op definitions: dtype dispatch, broadcasting, axis
// normalisation and index arithmetic for reference kernels and inference.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "ir/op_def.h"

namespace dlc::ir::ops {


// The type arithmetic happens in: float for half types, else the type itself.
template <typename T>
using ComputeType = std::conditional_t<std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>,
                                       float, T>;
template <typename T>
inline ComputeType<T> toCompute(T v) {
  if constexpr (std::is_same_v<T, Half>) return halfToFloat(v.bits);
  else if constexpr (std::is_same_v<T, BFloat16>) return bf16ToFloat(v.bits);
  else return v;
}
template <typename T>
inline T fromCompute(ComputeType<T> v) {
  if constexpr (std::is_same_v<T, Half>) return Half{floatToHalf(v)};
  else if constexpr (std::is_same_v<T, BFloat16>) return BFloat16{floatToBf16(v)};
  else return v;
}
template <typename T>
inline constexpr bool kIsFloatStorage = std::is_floating_point_v<T> || std::is_same_v<T, Half> ||
                                        std::is_same_v<T, BFloat16>;

// Numpy-style multidirectional broadcasting of static extents. Throws
// UserError naming both shapes if they are incompatible.
std::vector<int64_t> broadcastExtents(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
// The same for symbolic shapes (a symbolic dim broadcast with 1 stays
// symbolic; two different symbols give an unknown dim).
Shape broadcastShapes(const Shape& a, const Shape& b);
// Broadcast type of several inputs; unranked if any input is unranked.
TensorType broadcastTypes(const InferContext& ctx, DType resultType);

// For an input of `inShape` broadcast to `outShape`: strides (in elements of
// the input) to use when iterating over the output's index space; zero where
// the input is broadcast.
std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& inShape,
                                      const std::vector<int64_t>& outShape);

// Normalises a possibly negative axis into [0, rank); throws UserError.
int64_t normalizeAxis(int64_t axis, int64_t rank, const char* what = "axis");

// Iterates a row-major multi-index over `shape`: calls fn(index) for each
// element in order, where index is a const std::vector<int64_t>&.
template <typename Fn>
void forEachIndex(const std::vector<int64_t>& shape, Fn&& fn) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n == 0) return;
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    fn(static_cast<const std::vector<int64_t>&>(idx));
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// Offset of a multi-index given strides.
inline int64_t offsetOf(const std::vector<int64_t>& idx, const std::vector<int64_t>& strides) {
  int64_t o = 0;
  for (size_t i = 0; i < idx.size(); ++i) o += idx[i] * strides[i];
  return o;
}

// Reads a constant 1-D (or scalar) integer input as a vector, or nullopt if
// the input is not a constant.
std::optional<std::vector<int64_t>> constantInts(const InferContext& ctx, size_t i);
// The value of a constant input that must hold one element (a scalar or a
// one-element tensor), or nullopt if the input is not a constant. Throws
// UserError naming `what` if the constant has another number of elements.
std::optional<int64_t> constantScalarInt(const InferContext& ctx, size_t i, const char* what);
// The one element of a tensor that must hold exactly one (a scalar or a
// one-element tensor); throws UserError naming `what` otherwise.
int64_t scalarInt(const Tensor& t, const char* what);
double scalarDouble(const Tensor& t, const char* what);

// Converts a double to an integer type, saturating at the type's limits (NaN
// gives 0), so out-of-range results are defined: truncating toward zero (C's
// conversion) or rounding to nearest even (quantisation).
template <typename T>
T saturatingTruncate(double v) {
  static_assert(std::is_integral_v<T>);
  if (std::isnan(v)) return T(0);
  if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}
template <typename T>
T saturatingRound(double v) {
  return saturatingTruncate<T>(std::isnan(v) ? v : std::nearbyint(v));
}

// All elements of a tensor as doubles (any dtype), and back. Integer results
// saturate; `roundToNearest` rounds them instead of truncating.
std::vector<double> toDoubles(const Tensor& t);
Tensor fromDoubles(DType dtype, std::vector<int64_t> shape, const std::vector<double>& values,
                   bool roundToNearest = false);

// Output type with the same dtype and shape as input i (unranked stays unranked).
inline TensorType sameAsInput(const InferContext& ctx, size_t i) { return ctx.inputType(i); }

}  // namespace dlc::ir::ops
