#include "ir/ops/op_util.h"

#include <fmt/format.h>

namespace dlc::ir::ops {

std::vector<int64_t> broadcastExtents(const std::vector<int64_t>& a,
                                      const std::vector<int64_t>& b) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throwUserError("shapes [{}] and [{}] cannot be broadcast together", fmt::join(a, ","),
                     fmt::join(b, ","));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcastShapes(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.rank(), b.rank());
  std::vector<Dim> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    Dim da = i < rank - a.rank() ? Dim(1) : a[i - (rank - a.rank())];
    Dim db = i < rank - b.rank() ? Dim(1) : b[i - (rank - b.rank())];
    if (da == db) out[i] = da;
    else if (da.isStatic() && da.value() == 1) out[i] = db;
    else if (db.isStatic() && db.value() == 1) out[i] = da;
    else if (da.isStatic() && db.isStatic())
      throwUserError("shapes {} and {} cannot be broadcast together", a.str(), b.str());
    else if (da.isStatic()) out[i] = da;  // the other must be da or 1; da wins
    else if (db.isStatic()) out[i] = db;
    else out[i] = Dim::unknown();
  }
  return Shape(std::move(out));
}

TensorType broadcastTypes(const InferContext& ctx, DType resultType) {
  std::optional<Shape> shape = Shape();
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i)) continue;
    const auto& s = ctx.inputShape(i);
    if (!s) return TensorType::unranked(resultType);
    shape = broadcastShapes(*shape, *s);
  }
  return TensorType(resultType, *shape);
}

std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& inShape,
                                      const std::vector<int64_t>& outShape) {
  std::vector<int64_t> inStrides = contiguousStrides(inShape);
  std::vector<int64_t> out(outShape.size(), 0);
  size_t offset = outShape.size() - inShape.size();
  for (size_t i = 0; i < inShape.size(); ++i)
    out[offset + i] = inShape[i] == 1 ? 0 : inStrides[i];
  return out;
}

int64_t normalizeAxis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    throwUserError("{} {} is out of range for a tensor of rank {}", what, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

std::vector<double> toDoubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  dispatchDType(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = double(toCompute(p[i]));
  });
  return out;
}

Tensor fromDoubles(DType dtype, std::vector<int64_t> shape, const std::vector<double>& values, bool roundToNearest) {
  Tensor out(dtype, std::move(shape));
  DLC_CHECK(size_t(out.numel()) == values.size(), "{} values for {} elements", values.size(), out.numel());
  dispatchDType(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto p = out.data<T>();
    for (size_t i = 0; i < values.size(); ++i) {
      if constexpr (kIsFloatStorage<T>) p[i] = fromCompute<T>(static_cast<ComputeType<T>>(values[i]));
      else if constexpr (std::is_same_v<T, bool>) p[i] = values[i] != 0;
      else p[i] = roundToNearest ? saturatingRound<T>(values[i]) : saturatingTruncate<T>(values[i]);
    }
  });
  return out;
}

std::optional<std::vector<int64_t>> constantInts(const InferContext& ctx, size_t i) {
  const Tensor* t = ctx.constantInput(i);
  if (!t) return std::nullopt;
  return t->toInts();
}

static void requireOneElement(const Tensor& t, const char* what) {
  if (t.numel() != 1)
    throwUserError("{} must hold one element, found shape [{}]", what, fmt::join(t.shape(), ","));
}

std::optional<int64_t> constantScalarInt(const InferContext& ctx, size_t i, const char* what) {
  const Tensor* t = ctx.constantInput(i);
  if (!t) return std::nullopt;
  requireOneElement(*t, what);
  return t->getInt(0);
}

int64_t scalarInt(const Tensor& t, const char* what) {
  requireOneElement(t, what);
  return t.getInt(0);
}

double scalarDouble(const Tensor& t, const char* what) {
  requireOneElement(t, what);
  return t.getDouble(0);
}

}  // namespace dlc::ir::ops
