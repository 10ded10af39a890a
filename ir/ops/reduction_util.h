// Helpers shared by the reduction, normalisation, softmax and loss ops:
// splitting a shape around one axis, reading float tensors as doubles, and
// dtype checks with uniform error messages.
#pragma once

#include <limits>
#include <span>

#include "ir/ops/op_util.h"

namespace dlc::ir::ops {

// A row-major shape seen as [outer, extent, inner] around one axis: element
// (o, i, j) is at offset (o * extent + i) * inner + j.
struct AxisSplit {
  int64_t outer = 1;
  int64_t extent = 1;
  int64_t inner = 1;
  int64_t offset(int64_t o, int64_t i, int64_t j) const { return (o * extent + i) * inner + j; }
};
// `axis` must already be normalised; a rank-0 shape is one element.
AxisSplit splitAtAxis(const std::vector<int64_t>& shape, int64_t axis);

// Product of extents [begin, end).
int64_t productOf(const std::vector<int64_t>& shape, size_t begin, size_t end);

// Mean and 1/sqrt(variance + epsilon) of x[begin, end) (population variance),
// the statistics of instance and group normalisation.
struct MeanInvStd {
  double mean;
  double invStd;
};
MeanInvStd meanInvStd(const std::vector<double>& x, size_t begin, size_t end, double epsilon);



// Inference-time checks that fail with "<what> has dtype X, expected ...".
void requireFloat(const InferContext& ctx, size_t input, const char* what);
void requireNumeric(const InferContext& ctx, size_t input, const char* what);
void requireIndexType(const InferContext& ctx, size_t input, const char* what);  // i32 or i64
// Eval-time counterpart of requireFloat.
void requireFloat(const EvalContext& ctx, size_t input, const char* what);

// Fails if the input's rank is known and below `minRank`.
void requireMinRank(const InferContext& ctx, size_t input, size_t minRank, const char* what);
void requireMinRank(const EvalContext& ctx, size_t input, size_t minRank, const char* what);

// Checks (at inference) that input `input` is 1-D with `expected` elements
// when both are known; `expected` unknown/symbolic dims are accepted.
void requireVectorOf(const InferContext& ctx, size_t input, const Dim& expected, const char* what);
// Eval-time: input must be 1-D with exactly `expected` elements.
void requireVectorOf(const EvalContext& ctx, size_t input, int64_t expected, const char* what);

// The ONNX TensorProto data-type code used by stash_type attributes, as a DType.
DType dtypeFromOnnxCode(int64_t code);

}  // namespace dlc::ir::ops
