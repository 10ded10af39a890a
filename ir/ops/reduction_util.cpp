#include <cmath>
#include "ir/ops/reduction_util.h"

#include <fmt/format.h>

namespace dlc::ir::ops {

int64_t productOf(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= shape[i];
  return p;
}

AxisSplit splitAtAxis(const std::vector<int64_t>& shape, int64_t axis) {
  if (shape.empty()) return {};
  size_t a = size_t(axis);
  return {productOf(shape, 0, a), shape[a], productOf(shape, a + 1, shape.size())};
}

void requireFloat(const InferContext& ctx, size_t input, const char* what) {
  DType t = ctx.inputDType(input);
  if (!isFloat(t)) ctx.fail("{} has dtype {}, expected a floating-point type", what, dtypeName(t));
}

void requireFloat(const EvalContext& ctx, size_t input, const char* what) {
  DType t = ctx.input(input).dtype();
  if (!isFloat(t)) ctx.fail("{} has dtype {}, expected a floating-point type", what, dtypeName(t));
}

void requireNumeric(const InferContext& ctx, size_t input, const char* what) {
  DType t = ctx.inputDType(input);
  if (!isFloat(t) && !isInteger(t))
    ctx.fail("{} has dtype {}, expected a numeric type", what, dtypeName(t));
}

void requireIndexType(const InferContext& ctx, size_t input, const char* what) {
  DType t = ctx.inputDType(input);
  if (t != DType::I32 && t != DType::I64) ctx.fail("{} has dtype {}, expected i32 or i64", what, dtypeName(t));
}

void requireMinRank(const InferContext& ctx, size_t input, size_t minRank, const char* what) {
  const auto& s = ctx.inputShape(input);
  if (s && s->rank() < minRank)
    ctx.fail("{} has shape {}, expected rank >= {}", what, s->str(), minRank);
}

void requireMinRank(const EvalContext& ctx, size_t input, size_t minRank, const char* what) {
  const Tensor& t = ctx.input(input);
  if (t.rank() < minRank)
    ctx.fail("{} has shape [{}], expected rank >= {}", what, fmt::join(t.shape(), ","), minRank);
}

void requireVectorOf(const InferContext& ctx, size_t input, const Dim& expected, const char* what) {
  const auto& s = ctx.inputShape(input);
  if (!s) return;
  if (s->rank() != 1) ctx.fail("{} has shape {}, expected a 1-D tensor of {} elements", what, s->str(), expected.str());
  const Dim& d = (*s)[0];
  if (d.isStatic() && expected.isStatic() && d.value() != expected.value())
    ctx.fail("{} has shape {}, expected a 1-D tensor of {} elements", what, s->str(), expected.value());
}

void requireVectorOf(const EvalContext& ctx, size_t input, int64_t expected, const char* what) {
  const Tensor& t = ctx.input(input);
  if (t.rank() != 1 || t.dim(0) != expected)
    ctx.fail("{} has shape [{}], expected a 1-D tensor of {} elements", what, fmt::join(t.shape(), ","), expected);
}

DType dtypeFromOnnxCode(int64_t code) {
  switch (code) {
    case 1: return DType::F32;
    case 10: return DType::F16;
    case 11: return DType::F64;
    case 16: return DType::BF16;
    default: throwUserError("stash_type {} is not a floating-point ONNX data type (expected 1, 10, 11 or 16)", code);
  }
}

MeanInvStd meanInvStd(const std::vector<double>& x, size_t begin, size_t end, double epsilon) {
  double n = double(end - begin), sum = 0, sq = 0;
  for (size_t i = begin; i < end; ++i) sum += x[i];
  double mean = sum / n;
  for (size_t i = begin; i < end; ++i) sq += (x[i] - mean) * (x[i] - mean);
  return {mean, 1.0 / std::sqrt(sq / n + epsilon)};
}

}  // namespace dlc::ir::ops
