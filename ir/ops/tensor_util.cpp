#include "ir/ops/tensor_util.h"

#include <algorithm>
#include <climits>
#include <set>

namespace dlc::ir::ops {

Tensor stridedGather(const Tensor& src, const std::vector<int64_t>& outShape, int64_t offset,
                     const std::vector<int64_t>& strides) {
  Tensor out(src.dtype(), outShape);
  if (out.numel() == 0) return out;
  const size_t elemSize = dtypeSize(src.dtype());
  const std::byte* in = src.rawData();
  std::byte* dst = out.rawData();
  if (outShape.empty()) {
    std::memcpy(dst, in + size_t(offset) * elemSize, elemSize);
    return out;
  }
  // Iterate the outer dims with a multi-index; copy the innermost dim in a
  // tight loop (one memcpy when it is contiguous).
  const int64_t inner = outShape.back();
  const int64_t innerStride = strides.back();
  std::vector<int64_t> outer(outShape.begin(), outShape.end() - 1);
  std::vector<int64_t> outerStrides(strides.begin(), strides.end() - 1);
  size_t written = 0;
  forEachIndex(outer, [&](const std::vector<int64_t>& idx) {
    int64_t base = offset + offsetOf(idx, outerStrides);
    if (innerStride == 1) {
      std::memcpy(dst + written, in + size_t(base) * elemSize, size_t(inner) * elemSize);
      written += size_t(inner) * elemSize;
      return;
    }
    for (int64_t j = 0; j < inner; ++j, written += elemSize)
      std::memcpy(dst + written, in + size_t(base + j * innerStride) * elemSize, elemSize);
  });
  return out;
}

Dim productOfDims(const std::vector<Dim>& dims) {
  int64_t product = 1;
  const Dim* nonStatic = nullptr;
  size_t nonStaticCount = 0;
  for (const Dim& d : dims) {
    if (d.isStatic()) {
      product *= d.value();
    } else {
      nonStatic = &d;
      ++nonStaticCount;
    }
  }
  if (nonStaticCount == 0) return Dim(product);
  if (product == 0) return Dim(0);
  if (nonStaticCount == 1 && product == 1) return *nonStatic;
  return Dim::unknown();
}

int64_t clampSlice(int64_t extent, int64_t& start, int64_t& end, int64_t step) {
  if (step == 0) throwUserError("slice step must not be 0");
  if (extent == 0) {
    start = end = 0;
    return 0;
  }
  if (start < 0) start += extent;
  if (end < 0) end += extent;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, extent);
    end = std::clamp<int64_t>(end, 0, extent);
    return end > start ? (end - start - 1) / step + 1 : 0;
  }
  // Negative steps walk down from start (at most extent-1) to end (exclusive,
  // at least -1, which means "through index 0").
  start = std::clamp<int64_t>(start, 0, extent - 1);
  end = std::clamp<int64_t>(end, -1, extent - 1);
  int64_t magnitude = step == INT64_MIN ? INT64_MAX : -step;  // any step past the range takes one element
  return start > end ? (start - end - 1) / magnitude + 1 : 0;
}

std::vector<int64_t> normalizeAxes(const std::vector<int64_t>& axes, int64_t rank, const char* what) {
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      throwUserError("{} {} is out of range for rank {}", what, a, rank);
    int64_t n = a < 0 ? a + rank : a;
    if (!seen.insert(n).second) throwUserError("{} [{}] name axis {} twice", what, fmt::join(axes, ","), n);
    out.push_back(n);
  }
  return out;
}

std::vector<int64_t> intsOperand(const Tensor& t, const char* what, bool allowScalar) {
  if (!isInteger(t.dtype()))
    throwUserError("{} must be an integer tensor, found {}", what, dtypeName(t.dtype()));
  if (t.rank() != 1 && !(allowScalar && t.rank() == 0))
    throwUserError("{} must be a 1-D tensor, found shape [{}]", what, fmt::join(t.shape(), ","));
  return t.toInts();
}

}  // namespace dlc::ir::ops
