// Helpers shared by the index op family (gather/scatter, selection and
// resampling): index wrapping with bounds checks, extent products and
// dtype-agnostic element copies.
#pragma once

#include <cstring>
#include <vector>

#include "ir/ops/op_util.h"

namespace dlc::ir::ops {

// Wraps a possibly negative index into [0, extent) as ONNX does (index + extent
// for negatives); throws UserError naming `what` if it is still out of range.
inline int64_t wrapIndex(int64_t index, int64_t extent, const char* what = "index") {
  int64_t wrapped = index < 0 ? index + extent : index;
  if (extent == 0) throwUserError("{} {} indexes an axis of extent 0 (no index is valid)", what, index);
  if (wrapped < 0 || wrapped >= extent)
    throwUserError("{} {} is out of range for an axis of extent {} (expected [{}, {}])", what, index,
                   extent, -extent, extent - 1);
  return wrapped;
}

// Product of extents[begin, end).
inline int64_t productOf(const std::vector<int64_t>& extents, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < extents.size(); ++i) p *= extents[i];
  return p;
}

// Copies `count` elements between tensors of the same dtype, by element offset.
inline void copyElements(Tensor& dst, int64_t dstOffset, const Tensor& src, int64_t srcOffset,
                         int64_t count) {
  if (count <= 0) return;
  size_t elem = dtypeSize(src.dtype());
  std::memcpy(dst.rawData() + size_t(dstOffset) * elem, src.rawData() + size_t(srcOffset) * elem,
              size_t(count) * elem);
}

// Fails unless input i is an integer index tensor (i32 or i64).
inline void requireIndexDType(const InferContext& ctx, size_t i, const char* what) {
  DType t = ctx.inputDType(i);
  if (t != DType::I32 && t != DType::I64)
    ctx.fail("{} must be i32 or i64, found {}", what, dtypeName(t));
}

// Input i's shape, or nullptr if it is unranked.
inline const Shape* rankedShape(const InferContext& ctx, size_t i) {
  const auto& s = ctx.inputShape(i);
  return s ? &*s : nullptr;
}

}  // namespace dlc::ir::ops
