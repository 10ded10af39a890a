#include "ir/ops/reduce.h"

#include <algorithm>

namespace dlc::ir::ops {

std::optional<std::vector<int64_t>> reduceAxes(const Node& node, const Tensor* axes, int64_t rank) {
  std::vector<int64_t> result;
  if (axes && axes->numel() > 0) {
    for (int64_t a : axes->toInts()) result.push_back(normalizeAxis(a, rank));
  } else if (node.hasInput(1) && !axes) {
    return std::nullopt;
  } else if (node.attrInt("noop_with_empty_axes") == 0) {
    for (int64_t i = 0; i < rank; ++i) result.push_back(i);
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

void inferReduce(InferContext& ctx) {
  const TensorType& in = ctx.inputType(0);
  DType outType = in.dtype;
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

void evalReduce(EvalContext& ctx, double init, double (*step)(double, double),
                double (*finish)(double, int64_t)) {
  const Tensor& in = ctx.input(0);
  int64_t rank = int64_t(in.rank());
  auto axes = *reduceAxes(ctx.node(), ctx.hasInput(1) ? &ctx.input(1) : nullptr, rank);
  bool keep = ctx.node().attrInt("keepdims") != 0;
  std::vector<int64_t> keptShape = in.shape();  // reduced dims set to 1
  for (int64_t a : axes) keptShape[size_t(a)] = 1;
  std::vector<int64_t> outShape;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced || keep) outShape.push_back(keptShape[size_t(i)]);
  }
  int64_t outCount = checkedNumElements(keptShape);
  std::vector<double> acc(size_t(outCount), init);
  std::vector<int64_t> counts(size_t(outCount), 0);
  std::vector<int64_t> outStrides = broadcastStrides(keptShape, in.shape());
  int64_t k = 0;
  forEachIndex(in.shape(), [&](const std::vector<int64_t>& idx) {
    int64_t o = offsetOf(idx, outStrides);
    acc[size_t(o)] = step(acc[size_t(o)], in.getDouble(k++));
    ++counts[size_t(o)];
  });
  Tensor out(in.dtype(), outShape);
  for (int64_t i = 0; i < outCount; ++i) out.setDouble(i, finish(acc[size_t(i)], counts[size_t(i)]));
  ctx.setOutput(0, std::move(out));
}

}  // namespace dlc::ir::ops
