#include "ir/ops/reduce.h"

#include <algorithm>

namespace dlc::ir::ops {

std::optional<std::vector<int64_t>> reduceAxes(const Node& node, const Tensor* axes, int64_t rank) {
  std::vector<int64_t> result;
  if (axes && axes->numel() > 0) {
    for (int64_t a : axes->toInts()) result.push_back(normalizeAxis(a, rank, "reduction axis"));
  } else if (node.hasInput(1) && !axes) {
    return std::nullopt;
  } else if (node.attrInt("noop_with_empty_axes") == 0) {
    for (int64_t i = 0; i < rank; ++i) result.push_back(i);
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

std::vector<AttrSpec> reduceAttrs() {
  return {{"keepdims", AttrKind::Int, int64_t(1)}, {"noop_with_empty_axes", AttrKind::Int, int64_t(0)}};
}

void inferReduce(InferContext& ctx, bool allowBool) {
  const TensorType& in = ctx.inputType(0);
  DType outType = in.dtype;
  if (!(isFloat(outType) || isInteger(outType) || (allowBool && outType == DType::Bool)))
    ctx.fail("data has dtype {}, expected a numeric type{}", dtypeName(outType), allowBool ? " or bool" : "");
  if (ctx.hasInput(1)) {
    if (ctx.inputDType(1) != DType::I64) ctx.fail("axes has dtype {}, expected i64", dtypeName(ctx.inputDType(1)));
    const auto& axesShape = ctx.inputShape(1);
    if (axesShape && axesShape->rank() != 1) ctx.fail("axes has shape {}, expected a 1-D tensor", axesShape->str());
  }
  if (!in.shape) return ctx.setOutput(0, TensorType::unranked(outType));
  int64_t rank = int64_t(in.shape->rank());
  bool keep = ctx.node().attrInt("keepdims") != 0;
  auto axes = reduceAxes(ctx.node(), ctx.constantInput(1), rank);
  if (!axes) {
    if (keep) {
      std::vector<Dim> dims(size_t(rank), Dim::unknown());
      return ctx.setOutput(0, TensorType(outType, Shape(dims)));
    }
    return ctx.setOutput(0, TensorType::unranked(outType));
  }
  std::vector<Dim> dims;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = std::binary_search(axes->begin(), axes->end(), i);
    if (!reduced) dims.push_back((*in.shape)[size_t(i)]);
    else if (keep) dims.push_back(Dim(1));
  }
  ctx.setOutput(0, TensorType(outType, Shape(dims)));
}

ReductionGroups::ReductionGroups(const std::vector<int64_t>& inShape,
                                 const std::vector<int64_t>& sortedAxes)
    : keptShape_(inShape) {
  for (int64_t a : sortedAxes) keptShape_[size_t(a)] = 1;
  int64_t numOut = checkedNumElements(keptShape_);
  int64_t numIn = checkedNumElements(inShape);
  std::vector<int64_t> outStrides(inShape.size(), 0);
  std::vector<int64_t> keptStrides = contiguousStrides(keptShape_);
  for (size_t i = 0; i < inShape.size(); ++i)
    if (!std::binary_search(sortedAxes.begin(), sortedAxes.end(), int64_t(i))) outStrides[i] = keptStrides[i];
  groupOf_.resize(size_t(numIn));
  int64_t k = 0;
  forEachIndex(inShape, [&](const std::vector<int64_t>& idx) { groupOf_[size_t(k++)] = offsetOf(idx, outStrides); });
  // Counting sort of input offsets by group.
  start_.assign(size_t(numOut) + 1, 0);
  for (int64_t g : groupOf_) ++start_[size_t(g) + 1];
  for (size_t g = 0; g < size_t(numOut); ++g) start_[g + 1] += start_[g];
  std::vector<int64_t> fill(start_.begin(), start_.end() - 1);
  members_.resize(size_t(numIn));
  for (int64_t i = 0; i < numIn; ++i) members_[size_t(fill[size_t(groupOf_[size_t(i)])]++)] = i;
}

static double reduceDoubles(ReduceKind kind, std::span<const double> v) {
  double acc = 0;
  switch (kind) {
    case ReduceKind::Sum:
    case ReduceKind::Mean:
    case ReduceKind::LogSum:
      for (double x : v) acc += x;
      if (kind == ReduceKind::Mean) return acc / double(v.size());  // empty: NaN
      if (kind == ReduceKind::LogSum) return std::log(acc);
      return acc;
    case ReduceKind::Max:
      acc = -std::numeric_limits<double>::infinity();
      for (double x : v)
        if (std::isnan(x) || x > acc) acc = x;
      return acc;
    case ReduceKind::Min:
      acc = std::numeric_limits<double>::infinity();
      for (double x : v)
        if (std::isnan(x) || x < acc) acc = x;
      return acc;
    case ReduceKind::Prod:
      acc = 1;
      for (double x : v) acc *= x;
      return acc;
    case ReduceKind::L1:
      for (double x : v) acc += std::fabs(x);
      return acc;
    case ReduceKind::L2:
    case ReduceKind::SumSquare:
      for (double x : v) acc += x * x;
      return kind == ReduceKind::L2 ? std::sqrt(acc) : acc;
    case ReduceKind::LogSumExp: {
      // Subtract the maximum so that exp cannot overflow; an infinite (or
      // empty, -inf) maximum is summed directly.
      double m = reduceDoubles(ReduceKind::Max, v);
      if (!std::isfinite(m)) {
        for (double x : v) acc += std::exp(x);
        return std::log(acc);
      }
      for (double x : v) acc += std::exp(x - m);
      return m + std::log(acc);
    }
  }
  return acc;
}

// Integer reduction of one group; sums and products wrap modulo 2^64.
template <typename T>
static T reduceIntegers(const EvalContext& ctx, ReduceKind kind, std::span<const T> v) {
  using Wide = uint64_t;
  switch (kind) {
    case ReduceKind::Max: {
      T acc = std::numeric_limits<T>::lowest();
      for (T x : v) acc = std::max(acc, x);
      return acc;
    }
    case ReduceKind::Min: {
      T acc = std::numeric_limits<T>::max();
      for (T x : v) acc = std::min(acc, x);
      return acc;
    }
    case ReduceKind::Sum:
    case ReduceKind::Mean: {
      Wide acc = 0;
      for (T x : v) acc += Wide(x);
      if (kind == ReduceKind::Sum) return T(acc);
      if (v.empty()) ctx.fail("ReduceMean over an empty set of integers has no value");
      if constexpr (std::is_signed_v<T>) return T(int64_t(acc) / int64_t(v.size()));
      else return T(acc / Wide(v.size()));
    }
    case ReduceKind::Prod: {
      Wide acc = 1;
      for (T x : v) acc *= Wide(x);
      return T(acc);
    }
    case ReduceKind::L1: {
      Wide acc = 0;
      for (T x : v) {
        if constexpr (std::is_signed_v<T>) acc += x < T(0) ? Wide(0) - Wide(x) : Wide(x);
        else acc += Wide(x);
      }
      return T(acc);
    }
    case ReduceKind::SumSquare: {
      Wide acc = 0;
      for (T x : v) acc += Wide(x) * Wide(x);
      return T(acc);
    }
    case ReduceKind::L2:
    case ReduceKind::LogSum:
    case ReduceKind::LogSumExp: {
      std::vector<double> d(v.begin(), v.end());
      return saturatingTruncate<T>(reduceDoubles(kind, d));
    }
  }
  return T(0);
}

void evalReduce(EvalContext& ctx, ReduceKind kind) {
  const Tensor& in = ctx.input(0);
  if (in.dtype() == DType::Bool && kind != ReduceKind::Max && kind != ReduceKind::Min)
    ctx.fail("data has dtype bool, expected a numeric type");
  int64_t rank = int64_t(in.rank());
  auto axes = *reduceAxes(ctx.node(), ctx.hasInput(1) ? &ctx.input(1) : nullptr, rank);
  bool keep = ctx.node().attrInt("keepdims") != 0;
  ReductionGroups groups(in.shape(), axes);
  std::vector<int64_t> outShape;
  for (int64_t i = 0; i < rank; ++i)
    if (!std::binary_search(axes.begin(), axes.end(), i) || keep) outShape.push_back(groups.keptShape()[size_t(i)]);
  Tensor out(in.dtype(), outShape);
  dispatchDType(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto pi = in.data<T>();
    auto po = out.data<T>();
    if constexpr (std::is_same_v<T, bool>) {
      // Max is "any", Min is "all".
      for (int64_t g = 0; g < groups.numGroups(); ++g) {
        bool any = false, all = true;
        for (int64_t i : groups.members(g)) {
          any = any || pi[size_t(i)];
          all = all && pi[size_t(i)];
        }
        po[size_t(g)] = kind == ReduceKind::Max ? any : all;
      }
    } else if constexpr (kIsFloatStorage<T>) {
      std::vector<double> values;
      for (int64_t g = 0; g < groups.numGroups(); ++g) {
        values.clear();
        for (int64_t i : groups.members(g)) values.push_back(double(toCompute(pi[size_t(i)])));
        po[size_t(g)] = fromCompute<T>(static_cast<ComputeType<T>>(reduceDoubles(kind, values)));
      }
    } else {
      std::vector<T> values;
      for (int64_t g = 0; g < groups.numGroups(); ++g) {
        values.clear();
        for (int64_t i : groups.members(g)) values.push_back(pi[size_t(i)]);
        po[size_t(g)] = reduceIntegers<T>(ctx, kind, values);
      }
    }
  });
  ctx.setOutput(0, std::move(out));
}

}  // namespace dlc::ir::ops
