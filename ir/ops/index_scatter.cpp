// ScatterElements and ScatterND: a copy of `data` with elements at indexed
// positions replaced by (or combined with, per `reduction`) `updates`.
// Negative indices count from the end; out-of-range indices are a UserError.
#include <algorithm>

#include "ir/ops/index_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

enum class Reduction { None, Add, Mul, Max, Min };

Reduction parseReduction(const std::string& name) {
  if (name == "none") return Reduction::None;
  if (name == "add") return Reduction::Add;
  if (name == "mul") return Reduction::Mul;
  if (name == "max") return Reduction::Max;
  if (name == "min") return Reduction::Min;
  throwUserError("expected reduction none, add, mul, max or min, found '{}'", name);
}

template <typename T>
T combine(Reduction r, T current, T update) {
  if constexpr (std::is_same_v<T, bool>) {
    // Booleans: add is logical or, mul logical and (no integer promotion).
    switch (r) {
      case Reduction::None: return update;
      case Reduction::Add: case Reduction::Max: return current || update;
      case Reduction::Mul: case Reduction::Min: return current && update;
    }
    return update;
  } else {
    using C = ComputeType<T>;
    C a = toCompute(current), b = toCompute(update);
    switch (r) {
      case Reduction::None: return update;
      case Reduction::Add: return fromCompute<T>(C(a + b));
      case Reduction::Mul: return fromCompute<T>(C(a * b));
      case Reduction::Max: return fromCompute<T>(std::max(a, b));
      case Reduction::Min: return fromCompute<T>(std::min(a, b));
    }
    return update;
  }
}

// Applies `updates` element u to `out` element target(u) for each u.
template <typename TargetFn>
Tensor scatter(const Tensor& data, const Tensor& updates, Reduction reduction, TargetFn&& target) {
  Tensor out = data.clone();
  dispatchDType(data.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto dst = out.data<T>();
    auto src = updates.data<T>();
    for (int64_t u = 0; u < updates.numel(); ++u) {
      int64_t t = target(u);
      dst[size_t(t)] = combine(reduction, dst[size_t(t)], src[size_t(u)]);
    }
  });
  return out;
}

void inferScatter(InferContext& ctx, const char* what) {
  requireIndexDType(ctx, 1, what);
  if (ctx.inputDType(2) != ctx.inputDType(0))
    ctx.fail("expected updates of the data dtype {}, found {}", dtypeName(ctx.inputDType(0)),
             dtypeName(ctx.inputDType(2)));
  parseReduction(ctx.node().attrString("reduction"));
  ctx.setOutput(0, ctx.inputType(0));
}

}  // namespace

// ScatterElements: indices and updates have one shape, of data's rank; for
// each position i, out[i with i[axis] = indices[i]] op= updates[i].
const OpDef kScatterElementsDef{
    .name = "ScatterElements", .minInputs = 3, .maxInputs = 3,
    .attrs = {{"axis", AttrKind::Int, int64_t(0)}, {"reduction", AttrKind::String, std::string("none")}},
    .infer = [](InferContext& ctx) {
      inferScatter(ctx, "ScatterElements indices");
      const Shape* data = rankedShape(ctx, 0);
      const Shape* indices = rankedShape(ctx, 1);
      const Shape* updates = rankedShape(ctx, 2);
      if (indices && updates && indices->rank() != updates->rank())
        ctx.fail("expected indices and updates of one shape, found {} and {}", indices->str(),
                 updates->str());
      if (data && indices) {
        if (data->rank() != indices->rank())
          ctx.fail("expected indices of the data rank {}, found rank {}", data->rank(),
                   indices->rank());
        if (data->rank() == 0) ctx.fail("expected data of rank >= 1, found a scalar");
        normalizeAxis(ctx.node().attrInt("axis"), int64_t(data->rank()));
      }
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& data = ctx.input(0);
      const Tensor& indices = ctx.input(1);
      const Tensor& updates = ctx.input(2);
      if (indices.shape() != updates.shape())
        ctx.fail("expected indices and updates of one shape, found [{}] and [{}]",
                 fmt::join(indices.shape(), ","), fmt::join(updates.shape(), ","));
      if (data.rank() != indices.rank() || data.rank() == 0)
        ctx.fail("expected data and indices of one rank >= 1, found ranks {} and {}", data.rank(),
                 indices.rank());
      size_t axis = size_t(normalizeAxis(ctx.node().attrInt("axis"), int64_t(data.rank())));
      for (size_t d = 0; d < data.rank(); ++d)
        if (d != axis && indices.dim(d) > data.dim(d))
          ctx.fail("indices extent {} on axis {} exceeds the data extent {}", indices.dim(d), d,
                   data.dim(d));
      // Targets in the row-major order of updates.
      std::vector<int64_t> targets;
      targets.reserve(size_t(indices.numel()));
      std::vector<int64_t> strides = contiguousStrides(data.shape());
      int64_t k = 0;
      forEachIndex(indices.shape(), [&](const std::vector<int64_t>& i) {
        int64_t pos = wrapIndex(indices.getInt(k++), data.dim(axis), "ScatterElements index");
        targets.push_back(offsetOf(i, strides) + (pos - i[axis]) * strides[axis]);
      });
      Reduction reduction = parseReduction(ctx.node().attrString("reduction"));
      ctx.setOutput(0, scatter(data, updates, reduction,
                               [&](int64_t u) { return targets[size_t(u)]; }));
    },
};

// ScatterND: each row of indices (last dim k) addresses a slice
// data[i0, ..., ik-1, :, ...]; updates = indices.shape[:-1] + data.shape[k:].
const OpDef kScatterNDDef{
    .name = "ScatterND", .minInputs = 3, .maxInputs = 3,
    .attrs = {{"reduction", AttrKind::String, std::string("none")}},
    .infer = [](InferContext& ctx) {
      if (ctx.inputDType(1) != DType::I64)
        ctx.fail("ScatterND indices must be i64, found {}", dtypeName(ctx.inputDType(1)));
      inferScatter(ctx, "ScatterND indices");
      const Shape* data = rankedShape(ctx, 0);
      const Shape* indices = rankedShape(ctx, 1);
      const Shape* updates = rankedShape(ctx, 2);
      if (!data || !indices) return;
      if (indices->rank() == 0) ctx.fail("expected indices of rank >= 1, found a scalar");
      const Dim& k = indices->dims().back();
      if (!k.isStatic()) return;
      if (k.value() > int64_t(data->rank()))
        ctx.fail("indices last dim {} exceeds the data rank {}", k.value(), data->rank());
      size_t expectRank = indices->rank() - 1 + data->rank() - size_t(k.value());
      if (updates && updates->rank() != expectRank)
        ctx.fail("expected updates of rank {} (indices {} and data {}), found {}", expectRank,
                 indices->str(), data->str(), updates->str());
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& data = ctx.input(0);
      const Tensor& indices = ctx.input(1);
      const Tensor& updates = ctx.input(2);
      if (indices.rank() == 0) ctx.fail("expected indices of rank >= 1, found a scalar");
      int64_t k = indices.shape().back();
      if (k > int64_t(data.rank()))
        ctx.fail("indices last dim {} exceeds the data rank {}", k, data.rank());
      std::vector<int64_t> expect(indices.shape().begin(), indices.shape().end() - 1);
      expect.insert(expect.end(), data.shape().begin() + k, data.shape().end());
      if (updates.shape() != expect)
        ctx.fail("expected updates of shape [{}], found [{}]", fmt::join(expect, ","),
                 fmt::join(updates.shape(), ","));
      int64_t sliceSize = productOf(data.shape(), size_t(k), data.rank());
      std::vector<int64_t> strides = contiguousStrides(data.shape());
      std::vector<int64_t> idx = indices.toInts();
      int64_t tuples = productOf(indices.shape(), 0, indices.rank() - 1);
      std::vector<int64_t> sliceStart(static_cast<size_t>(tuples));
      for (int64_t t = 0; t < tuples; ++t) {
        int64_t start = 0;
        for (int64_t j = 0; j < k; ++j)
          start += wrapIndex(idx[size_t(t * k + j)], data.dim(size_t(j)), "ScatterND index") *
                   strides[size_t(j)];
        sliceStart[size_t(t)] = start;
      }
      Reduction reduction = parseReduction(ctx.node().attrString("reduction"));
      ctx.setOutput(0, scatter(data, updates, reduction, [&](int64_t u) {
                      return sliceStart[size_t(u / sliceSize)] + u % sliceSize;
                    }));
    },
};

}  // namespace dlc::ir
