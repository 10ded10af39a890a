// Helpers shared by the shape and data-movement ops: dtype-agnostic element
// copying (these ops move bytes, never do arithmetic on them) and symbolic
// dim arithmetic for inference.
#pragma once

#include <cstring>

#include "ir/ops/op_util.h"

namespace dlc::ir::ops {

// A new contiguous tensor of `outShape` whose element at multi-index i is
// src's element at flat index offset + sum(i[d] * strides[d]). Strides may be
// zero (broadcast) or negative (reversed). The caller guarantees that every
// addressed element lies inside src.
Tensor stridedGather(const Tensor& src, const std::vector<int64_t>& outShape, int64_t offset,
                     const std::vector<int64_t>& strides);

// A new contiguous tensor of `outShape` whose element at multi-index i is
// src's element at flat index sourceIndex(i), or `fill`'s single element when
// sourceIndex returns a negative number (fill must then be given, with src's
// dtype).
template <typename SourceIndexFn>
Tensor gatherByIndex(const Tensor& src, const std::vector<int64_t>& outShape, SourceIndexFn&& sourceIndex,
                     const Tensor* fill = nullptr) {
  Tensor out(src.dtype(), outShape);
  const size_t elemSize = dtypeSize(src.dtype());
  const std::byte* in = src.rawData();
  std::byte* dst = out.rawData();
  int64_t k = 0;
  forEachIndex(outShape, [&](const std::vector<int64_t>& idx) {
    int64_t s = sourceIndex(idx);
    const std::byte* from = s >= 0 ? in + size_t(s) * elemSize : fill->rawData();
    std::memcpy(dst + size_t(k++) * elemSize, from, elemSize);
  });
  return out;
}

// Product of dims: static when all are static; the single non-static dim
// when all others are 1; unknown otherwise.
Dim productOfDims(const std::vector<Dim>& dims);

// The output extent of an axis sliced with (start, end, step) after ONNX
// clamping; start and end are adjusted in place to the clamped values.
int64_t clampSlice(int64_t extent, int64_t& start, int64_t& end, int64_t step);

// Normalised, duplicate-free axes; `what` names the operand in errors.
std::vector<int64_t> normalizeAxes(const std::vector<int64_t>& axes, int64_t rank, const char* what);

// Reads an integer operand that must be a 1-D tensor (or a scalar when
// `allowScalar`), failing with a message naming `what` otherwise.
std::vector<int64_t> intsOperand(const Tensor& t, const char* what, bool allowScalar = false);

}  // namespace dlc::ir::ops
