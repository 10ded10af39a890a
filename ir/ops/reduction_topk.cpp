// TopK: the k largest (or smallest) elements along an axis and their indices
// (opset-11 form: k as a 1-element i64 input).
#include <algorithm>
#include <numeric>

#include "ir/ops/reduction_util.h"

namespace dlc::ir {
using namespace ops;

static void inferTopK(InferContext& ctx) {
  requireNumeric(ctx, 0, "X");
  if (ctx.inputDType(1) != DType::I64) ctx.fail("K has dtype {}, expected i64", dtypeName(ctx.inputDType(1)));
  const TensorType& in = ctx.inputType(0);
  if (!in.shape) {
    ctx.setOutput(0, TensorType::unranked(in.dtype));
    return ctx.setOutput(1, TensorType::unranked(DType::I64));
  }
  if (in.shape->rank() == 0) ctx.fail("X is a scalar, expected rank >= 1");
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(in.shape->rank()));
  std::vector<Dim> dims = in.shape->dims();
  Dim k = Dim::unknown();
  if (auto kValues = constantInts(ctx, 1)) {
    if (kValues->size() != 1) ctx.fail("K has {} elements, expected one", kValues->size());
    int64_t kv = (*kValues)[0];
    const Dim& extent = dims[size_t(axis)];
    if (kv < 0 || (extent.isStatic() && kv > extent.value()))
      ctx.fail("K is {}, expected a value in [0, {}] (the extent of axis {})", kv, extent.str(), axis);
    k = Dim(kv);
  }
  dims[size_t(axis)] = k;
  ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
  ctx.setOutput(1, TensorType(DType::I64, Shape(dims)));
}

// Strict total order "a comes before b" for largest/smallest selection; NaN
// is treated as greater than every number (as numpy sorts), so sorting never
// sees an inconsistent comparison. Ties are broken by index by the caller.
template <typename V>
static bool greaterThan(V a, V b) {
  if constexpr (std::is_floating_point_v<V>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

static void evalTopK(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& kTensor = ctx.input(1);
  if (x.dtype() == DType::Bool) ctx.fail("X has dtype bool, expected a numeric type");
  if (x.rank() == 0) ctx.fail("X is a scalar, expected rank >= 1");
  if (kTensor.numel() != 1) ctx.fail("K has {} elements, expected one", kTensor.numel());
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(x.rank()));
  int64_t k = kTensor.getInt(0);
  if (k < 0 || k > x.dim(size_t(axis)))
    ctx.fail("K is {}, expected a value in [0, {}] (the extent of axis {})", k, x.dim(size_t(axis)), axis);
  bool largest = ctx.node().attrInt("largest") != 0;
  AxisSplit split = splitAtAxis(x.shape(), axis);
  std::vector<int64_t> outShape = x.shape();
  outShape[size_t(axis)] = k;
  Tensor values(x.dtype(), outShape);
  Tensor indices(DType::I64, outShape);
  auto pIdx = indices.data<int64_t>();
  AxisSplit outSplit{split.outer, k, split.inner};
  dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto pi = x.data<T>();
    auto pv = values.data<T>();
    std::vector<int64_t> order(size_t(split.extent));
    for (int64_t o = 0; o < split.outer; ++o)
      for (int64_t j = 0; j < split.inner; ++j) {
        auto value = [&](int64_t i) { return toCompute(pi[size_t(split.offset(o, i, j))]); };
        std::iota(order.begin(), order.end(), 0);
        // Always sorted (also when sorted=0, where any order is allowed);
        // equal values keep ascending index order.
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return largest ? greaterThan(value(a), value(b)) : greaterThan(value(b), value(a));
        });
        for (int64_t r = 0; r < k; ++r) {
          size_t at = size_t(outSplit.offset(o, r, j));
          pv[at] = pi[size_t(split.offset(o, order[size_t(r)], j))];
          pIdx[at] = order[size_t(r)];
        }
      }
  });
  ctx.setOutput(0, std::move(values));
  ctx.setOutput(1, std::move(indices));
}

const OpDef kTopKDef{
    .name = "TopK", .minInputs = 2, .maxInputs = 2, .minOutputs = 2, .maxOutputs = 2,
    .attrs = {{"axis", AttrKind::Int, int64_t(-1)},
              {"largest", AttrKind::Int, int64_t(1)},
              {"sorted", AttrKind::Int, int64_t(1)}},
    .infer = inferTopK, .eval = evalTopK,
};

}  // namespace dlc::ir
