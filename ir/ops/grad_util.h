// Helpers shared by the gradient rules (OpDef::grad) of the op files: the
// reverse of broadcasting, zeros and shapes of values, and the common shape
// of an elementwise rule. Everything here adds ordinary IR nodes.
#pragma once

#include <vector>

#include "ir/builder.h"
#include "ir/op_def.h"

namespace dlc::ir::ops {

// The rank of a value; UserError if it is unranked (gradients need ranks).
int64_t rankOf(const Value* v);
// The shape of `x` as a 1-D i64 value: a constant when static, else Shape(x).
Value* shapeOf(GraphBuilder& b, Value* x);
// Zeros of x's dtype and shape.
Value* zerosLike(GraphBuilder& b, Value* x);
// `g` broadcast to the shape of `x`.
Value* expandLike(GraphBuilder& b, Value* g, Value* x);
// The reverse of numpy broadcasting: sums `g` (the gradient of a broadcast
// result) over the axes along which `target` was broadcast, so that the
// result has target's shape.
Value* unbroadcast(GraphBuilder& b, Value* g, const Value* target);
// A reduced gradient (the gradient of a result reduced over `axes` of `x`,
// with or without kept dims) made rank-compatible with x by re-inserting the
// reduced axes with extent 1.
Value* keepReducedDims(GraphBuilder& b, Value* g, const std::vector<int64_t>& sortedAxes, bool keptDims);
// A node attribute "perm"-style inverse permutation.
std::vector<int64_t> inversePermutation(const std::vector<int64_t>& perm);

// The rule of an elementwise op y = f(x): {g * dydx(b, x, y)}, where `dydx`
// builds the local derivative from the operand and the result.
template <typename F>
std::vector<Value*> unaryGrad(GradContext& ctx, F&& dydx) {
  GraphBuilder& b = ctx.builder();
  return {b.mul(ctx.outputGrad(0), dydx(b, ctx.input(0), ctx.output(0)))};
}

}  // namespace dlc::ir::ops

namespace dlc::ir::ops {

// The constant value of operand i of a forward node (nullptr if absent);
// UserError if it is present but not a constant (the rule needs its value).
const Tensor* constantOperand(const Node& node, size_t i, const char* what);

// Normalisation backward: for xhat = (x - mean) * rstd over `axes` (biased
// variance, eps added) and the gradient dxhat of xhat, the gradient of x:
// rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
struct NormStats {
  Value* xhat = nullptr;
  Value* rstd = nullptr;
};
NormStats normStats(GraphBuilder& b, Value* x, const std::vector<int64_t>& axes, double eps);
Value* normInputGrad(GraphBuilder& b, const NormStats& s, Value* dxhat, const std::vector<int64_t>& axes);

}  // namespace dlc::ir::ops
