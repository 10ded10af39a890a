// Helpers shared by the nn op family: sliding-window geometry (strides,
// dilations, pads, auto_pad, ceil_mode) for Conv, ConvTranspose and pooling,
// and small dtype checks.
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ir/ops/op_util.h"

namespace dlc::ir::ops {

// The window attributes of one node, normalised to `spatialRank` entries
// (defaults filled in); validated (positive strides and dilations,
// non-negative pads, known auto_pad).
struct WindowAttrs {
  std::vector<int64_t> kernel;      // effective kernel extents (before dilation)
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;        // begin pads then end pads (2 * spatialRank)
  std::string autoPad = "NOTSET";
  bool ceilMode = false;
};

// Reads strides, dilations, pads, auto_pad and ceil_mode where the op has
// them; `kernel` is the kernel_shape (from the attribute or the weights).
// Throws UserError naming the attribute when a list has the wrong length or
// an invalid value.
WindowAttrs readWindowAttrs(const Node& node, size_t spatialRank, std::vector<int64_t> kernel);

// The output extent and actual pads for one spatial dim of a forward
// sliding window (Conv, pooling). Throws UserError if the window does not fit.
struct WindowDim {
  int64_t output = 0;
  int64_t padBegin = 0;
  int64_t padEnd = 0;
};
WindowDim windowDim(const WindowAttrs& w, size_t i, int64_t inExtent);

// Output spatial dims for inference: static where the input dim is static,
// unknown otherwise.
std::vector<Dim> windowOutputDims(const WindowAttrs& w, const Shape& inShape);

// Geometry of a 1-D to 3-D window op padded to exactly three spatial dims
// (leading dims of extent 1), so that kernels need a single loop nest.
struct Window3 {
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1},
      dilation{1, 1, 1}, padBegin{0, 0, 0}, padEnd{0, 0, 0};
  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
  int64_t kernelSize() const { return kernel[0] * kernel[1] * kernel[2]; }
};
// Fills a Window3 from per-dim values (at most 3 spatial dims, else
// UnsupportedError).
Window3 makeWindow3(const std::vector<int64_t>& in, const std::vector<int64_t>& out, const WindowAttrs& w,
                    const std::vector<int64_t>& padBegin, const std::vector<int64_t>& padEnd);
// The same with each dim's output extent and padding from windowDim: the
// geometry of a pooling (or depthwise) window over spatial extents `in`.
Window3 windowOver(const WindowAttrs& w, const std::vector<int64_t>& in);

// Fails unless input i is a floating-point tensor.
void requireFloatInput(const InferContext& ctx, size_t i, const char* what);
// Fails unless input i is ranked with rank >= minRank (returns its shape), or
// returns nullptr if it is unranked.
const Shape* rankedAtLeast(const InferContext& ctx, size_t i, size_t minRank, const char* what);

// MatMul (numpy semantics) shape of inputs a and b; nullopt if either is
// unranked. Fails on mismatched inner dims.
std::optional<Shape> matMulShape(const InferContext& ctx, size_t a, size_t b);
// MatMul of two tensors of the same dtype (floats accumulate in double).
Tensor matMulTensors(const Tensor& a, const Tensor& b);

// Conv output shape from input x and weight w (and the node's window
// attributes); nullopt if x is unranked.
std::optional<Shape> convShape(const InferContext& ctx, size_t x, size_t w);
// Direct convolution in double of x [N, C, spatial...] with w [M, C/group,
// kernel...] and an optional bias [M], using the node's window attributes.
// Returns the output values and sets yShape. Throws UserError on mismatch.
std::vector<double> convolve(const Node& node, const std::vector<double>& x, const std::vector<int64_t>& xShape,
                             const std::vector<double>& w, const std::vector<int64_t>& wShape, const double* bias,
                             std::vector<int64_t>& yShape);

// A tensor's elements as doubles, and back (rounding to nearest for integers).

// The type products are summed in: double for floating-point storage, else
// uint64_t, which wraps modulo 2^64 (two's complement on the way back to a
// signed type) instead of the undefined behaviour of signed overflow.
template <typename T>
using AccumulatorType = std::conditional_t<kIsFloatStorage<T>, double, uint64_t>;
// An accumulated value as a double, reading wrapped integers as signed for signed T.
template <typename T>
double accumulatorToDouble(AccumulatorType<T> a) {
  if constexpr (kIsFloatStorage<T>) return a;
  else if constexpr (std::is_signed_v<T>) return double(int64_t(a));
  else return double(a);
}
// An accumulated value stored as T (integers wrap).
template <typename T>
T fromAccumulator(AccumulatorType<T> a) {
  if constexpr (kIsFloatStorage<T>) return fromCompute<T>(static_cast<ComputeType<T>>(a));
  else if constexpr (std::is_same_v<T, bool>) return a != 0;
  else return static_cast<T>(a);
}


// "[1,2,3]" for error messages.
std::string extentsStr(const std::vector<int64_t>& v);

}  // namespace dlc::ir::ops
