// Shared machinery of the Reduce* ops (axes as input 1, opset-18 form).
#pragma once

#include "ir/ops/op_util.h"

namespace dlc::ir::ops {

// The reduced axes of a node (sorted, normalised), from its constant `axes`
// input; nullopt when the axes are not known at inference time.
// An empty or absent axes list means all axes unless noop_with_empty_axes.
std::optional<std::vector<int64_t>> reduceAxes(const Node& node, const Tensor* axes, int64_t rank);

void inferReduce(InferContext& ctx);

// Generic reduction: for each output element, folds the selected input
// elements with `step(acc, x)` starting from `init`, then `finish(acc, n)`.
// Accumulates in double.
void evalReduce(EvalContext& ctx, double init, double (*step)(double, double),
                double (*finish)(double, int64_t));

}  // namespace dlc::ir::ops
