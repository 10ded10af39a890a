#include "ir/ops/grad_util.h"

namespace dlc::ir::ops {

int64_t rankOf(const Value* v) {
  if (!v->type().isRanked()) throwUserError("the gradient needs the rank of '{}', which is unknown", v->name());
  return int64_t(v->type().shape->rank());
}

Value* shapeOf(GraphBuilder& b, Value* x) {
  if (x->type().isStatic()) return b.ints(x->type().shape->extents());
  return b.op(OpKind::Shape, {x});
}

Value* zerosLike(GraphBuilder& b, Value* x) { return expandLike(b, b.scalarLike(x, 0.0), x); }

Value* expandLike(GraphBuilder& b, Value* g, Value* x) {
  if (g->type() == x->type()) return g;
  return b.op(OpKind::Expand, {g, shapeOf(b, x)});
}

Value* unbroadcast(GraphBuilder& b, Value* g, const Value* target) {
  int64_t rg = rankOf(g), rt = rankOf(target);
  if (rg < rt) throwUserError("unbroadcast: gradient of rank {} for '{}' of rank {}", rg, target->name(), rt);
  Value* r = g;
  if (rg > rt) {
    std::vector<int64_t> leading;
    for (int64_t i = 0; i < rg - rt; ++i) leading.push_back(i);
    r = b.reduceSum(r, leading, /*keepdims=*/false);
  }
  const Shape& gs = *r->type().shape;
  const Shape& ts = *target->type().shape;
  std::vector<int64_t> ones;
  for (int64_t i = 0; i < rt; ++i)
    if (ts[size_t(i)].isStatic() && ts[size_t(i)].value() == 1 &&
        !(gs[size_t(i)].isStatic() && gs[size_t(i)].value() == 1))
      ones.push_back(i);
  if (!ones.empty()) r = b.reduceSum(r, ones, /*keepdims=*/true);
  return r;
}

Value* keepReducedDims(GraphBuilder& b, Value* g, const std::vector<int64_t>& sortedAxes, bool keptDims) {
  if (keptDims || sortedAxes.empty()) return g;
  return b.op(OpKind::Unsqueeze, {g, b.ints(sortedAxes)});
}

std::vector<int64_t> inversePermutation(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[size_t(perm[i])] = int64_t(i);
  return inv;
}

}  // namespace dlc::ir::ops

namespace dlc::ir::ops {

const Tensor* constantOperand(const Node& node, size_t i, const char* what) {
  Value* v = node.input(i);
  if (!v) return nullptr;
  if (!v->isConstant())
    throwUserError("the gradient needs the {} operand '{}' to be a constant", what, v->name());
  return &v->constant();
}

NormStats normStats(GraphBuilder& b, Value* x, const std::vector<int64_t>& axes, double eps) {
  Value* d = b.sub(x, b.reduceMean(x, axes, true));
  Value* var = b.reduceMean(b.mul(d, d), axes, true);
  Value* rstd = b.unary(OpKind::Reciprocal, b.unary(OpKind::Sqrt, b.add(var, b.scalarLike(x, eps))));
  return {b.mul(d, rstd), rstd};
}

Value* normInputGrad(GraphBuilder& b, const NormStats& s, Value* dxhat, const std::vector<int64_t>& axes) {
  Value* centred = b.sub(dxhat, b.reduceMean(dxhat, axes, true));
  Value* proj = b.mul(s.xhat, b.reduceMean(b.mul(dxhat, s.xhat), axes, true));
  return b.mul(s.rstd, b.sub(centred, proj));
}

}  // namespace dlc::ir::ops
