// Unique: the distinct elements (or, with `axis`, distinct slices along the
// axis) of the input, with first-occurrence indices, inverse indices and
// counts. Sorted ascending (lexicographically for slices) or, with sorted=0,
// in order of first occurrence. NaNs compare equal to each other and above
// every number (as numpy.unique does), which keeps the ordering total.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ir/ops/index_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// Three-way comparison with NaN as the largest value.
template <typename C>
int compareScalars(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    bool na = std::isnan(a), nb = std::isnan(b);
    if (na || nb) return int(na) - int(nb);
  }
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Three-way comparison of slice i and slice j (each `sliceLen` elements,
// `outer` times with stride `extent * sliceLen`) for the tensor's dtype.
std::function<int(int64_t, int64_t)> sliceComparator(const Tensor& in, int64_t outer, int64_t extent,
                                                     int64_t inner) {
  return dispatchDType(in.dtype(), [&](auto tag) -> std::function<int(int64_t, int64_t)> {
    using T = decltype(tag);
    auto data = in.data<T>();
    return [data, outer, extent, inner](int64_t i, int64_t j) {
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < inner; ++k) {
          size_t base = size_t(o * extent * inner + k);
          int c = compareScalars(toCompute(data[base + size_t(i * inner)]),
                                 toCompute(data[base + size_t(j * inner)]));
          if (c != 0) return c;
        }
      return 0;
    };
  });
}

}  // namespace

const OpDef kUniqueDef{
    .name = "Unique", .minInputs = 1, .maxInputs = 1, .minOutputs = 1, .maxOutputs = 4,
    .attrs = {{"axis", AttrKind::Int, std::nullopt, true}, {"sorted", AttrKind::Int, int64_t(1)}},
    .infer = [](InferContext& ctx) {
      DType dtype = ctx.inputDType(0);
      const Shape* in = rankedShape(ctx, 0);
      Dim inverseLen = Dim::unknown();
      if (!ctx.node().hasAttr("axis")) {
        ctx.setOutput(0, TensorType(dtype, Shape({Dim::unknown()})));
        if (in)
          if (auto n = in->numElements()) inverseLen = Dim(*n);
      } else if (!in) {
        ctx.setOutput(0, TensorType::unranked(dtype));
      } else {
        if (in->rank() == 0) ctx.fail("expected an input of rank >= 1 with axis, found a scalar");
        size_t axis = size_t(normalizeAxis(ctx.node().attrInt("axis"), int64_t(in->rank())));
        std::vector<Dim> dims = in->dims();
        inverseLen = dims[axis];
        dims[axis] = Dim::unknown();
        ctx.setOutput(0, TensorType(dtype, Shape(dims)));
      }
      for (size_t i = 1; i < ctx.numOutputs(); ++i)
        ctx.setOutput(i, TensorType(DType::I64, Shape({i == 2 ? inverseLen : Dim::unknown()})));
    },
    .eval = [](EvalContext& ctx) {
      Tensor in = ctx.input(0);
      size_t axis = 0;
      if (ctx.node().hasAttr("axis")) {
        if (in.rank() == 0) ctx.fail("expected an input of rank >= 1 with axis, found a scalar");
        axis = size_t(normalizeAxis(ctx.node().attrInt("axis"), int64_t(in.rank())));
      } else {
        in = in.reshaped({in.numel()});
      }
      int64_t outer = productOf(in.shape(), 0, axis);
      int64_t extent = in.dim(axis);
      int64_t inner = productOf(in.shape(), axis + 1, in.rank());
      auto compare = sliceComparator(in, outer, extent, inner);

      // Stable sort keeps the first occurrence first within each equal run.
      std::vector<int64_t> order(static_cast<size_t>(extent));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return compare(a, b) < 0; });
      std::vector<int64_t> firstIndex, counts;
      std::vector<int64_t> groupOf(static_cast<size_t>(extent));
      for (size_t k = 0; k < order.size(); ++k) {
        if (k == 0 || compare(order[k - 1], order[k]) != 0) {
          firstIndex.push_back(order[k]);
          counts.push_back(0);
        }
        groupOf[size_t(order[k])] = int64_t(firstIndex.size()) - 1;
        ++counts.back();
      }
      // Output order of the groups: sorted as found, or by first occurrence.
      size_t groups = firstIndex.size();
      std::vector<int64_t> groupOrder(groups);
      std::iota(groupOrder.begin(), groupOrder.end(), 0);
      if (ctx.node().attrInt("sorted") == 0)
        std::sort(groupOrder.begin(), groupOrder.end(),
                  [&](int64_t a, int64_t b) { return firstIndex[size_t(a)] < firstIndex[size_t(b)]; });
      std::vector<int64_t> rankOfGroup(groups);
      for (size_t r = 0; r < groups; ++r) rankOfGroup[size_t(groupOrder[r])] = int64_t(r);

      std::vector<int64_t> yShape = in.shape();
      yShape[axis] = int64_t(groups);
      Tensor y(in.dtype(), yShape);
      std::vector<int64_t> indices(groups), countsOut(groups), inverse(static_cast<size_t>(extent));
      for (size_t r = 0; r < groups; ++r) {
        size_t g = size_t(groupOrder[r]);
        indices[r] = firstIndex[g];
        countsOut[r] = counts[g];
        for (int64_t o = 0; o < outer; ++o)
          copyElements(y, (o * int64_t(groups) + int64_t(r)) * inner, in,
                       (o * extent + firstIndex[g]) * inner, inner);
      }
      for (size_t i = 0; i < inverse.size(); ++i) inverse[i] = rankOfGroup[size_t(groupOf[i])];

      auto vec = [](const std::vector<int64_t>& v) {
        return Tensor::fromVector<int64_t>({int64_t(v.size())}, v);
      };
      ctx.setOutput(0, std::move(y));
      if (ctx.numOutputs() > 1) ctx.setOutput(1, vec(indices));
      if (ctx.numOutputs() > 2) ctx.setOutput(2, vec(inverse));
      if (ctx.numOutputs() > 3) ctx.setOutput(3, vec(countsOut));
    },
};

}  // namespace dlc::ir
