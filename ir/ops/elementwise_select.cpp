// Where (select by a bool condition, broadcasting all three operands) and
// Clip (bound by optional scalar min and max operands).
#include "ir/ops/elementwise.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;


// Gradient rules (reverse mode; see passes/autodiff.h).
namespace {

std::vector<Value*> gradWhere(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *cond = ctx.input(0), *g = ctx.outputGrad(0);
  Value* zero = b.scalarLike(g, 0.0);
  return {nullptr, ctx.needsGrad(1) ? unbroadcast(b, b.where(cond, g, zero), ctx.input(1)) : nullptr,
          ctx.needsGrad(2) ? unbroadcast(b, b.where(cond, zero, g), ctx.input(2)) : nullptr};
}

// The gradient passes where min <= x <= max; the bounds get none.
std::vector<Value*> gradClip(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *x = ctx.input(0), *g = ctx.outputGrad(0);
  Value* inside = nullptr;
  if (ctx.input(1)) inside = b.op(OpKind::GreaterOrEqual, {x, ctx.input(1)});
  if (ctx.input(2)) {
    Value* below = b.op(OpKind::LessOrEqual, {x, ctx.input(2)});
    inside = inside ? b.op(OpKind::And, {inside, below}) : below;
  }
  return {inside ? b.where(inside, g, b.scalarLike(g, 0.0)) : g};
}

}  // namespace

const OpDef kWhereDef{
    .name = "Where", .minInputs = 3, .maxInputs = 3, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) {
      checkInputType(ctx, 0, TypeSet::Bool, "condition");
      DType x = ctx.inputDType(1), y = ctx.inputDType(2);
      if (x != y) ctx.fail("X has dtype {} but Y has {}; they must match", dtypeName(x), dtypeName(y));
      ctx.setOutput(0, broadcastTypes(ctx, x));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& cond = ctx.input(0);
      if (cond.dtype() != DType::Bool) ctx.fail("condition has dtype {}, expected bool", dtypeName(cond.dtype()));
      DType dtype = commonInputDType(ctx, 1);
      std::vector<int64_t> shape = broadcastInputExtents(ctx);
      std::vector<int64_t> sc = broadcastStrides(cond.shape(), shape);
      std::vector<int64_t> sx = broadcastStrides(ctx.input(1).shape(), shape);
      std::vector<int64_t> sy = broadcastStrides(ctx.input(2).shape(), shape);
      Tensor out(dtype, shape);
      dispatchDType(dtype, [&](auto tag) {
        using T = decltype(tag);
        auto pc = cond.data<bool>();
        auto px = ctx.input(1).data<T>();
        auto py = ctx.input(2).data<T>();
        auto po = out.data<T>();
        int64_t k = 0;
        forEachIndex(shape, [&](const std::vector<int64_t>& idx) {
          po[k++] = pc[offsetOf(idx, sc)] ? px[offsetOf(idx, sx)] : py[offsetOf(idx, sy)];
        });
      });
      ctx.setOutput(0, std::move(out));
    },
    .grad = gradWhere,
};

namespace {

// Clip's bound operand i (1: min, 2: max) must hold a single value.
void checkBound(const InferContext& ctx, size_t i, const char* what) {
  if (!ctx.hasInput(i)) return;
  if (ctx.inputDType(i) != ctx.inputDType(0))
    ctx.fail("{} has dtype {}, expected the input's dtype {}", what, dtypeName(ctx.inputDType(i)),
             dtypeName(ctx.inputDType(0)));
  const auto& shape = ctx.inputShape(i);
  if (!shape) return;
  for (size_t d = 0; d < shape->rank(); ++d)
    if ((*shape)[d].isStatic() && (*shape)[d].value() != 1)
      ctx.fail("{} has shape {}, expected a scalar", what, shape->str());
}

}  // namespace

// y = min(max(x, min), max); an absent bound does not limit. min > max gives
// max everywhere (numpy.clip).
const OpDef kClipDef{
    .name = "Clip", .minInputs = 1, .maxInputs = 3, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) {
      inferUnary(ctx, TypeSet::Numeric);
      checkBound(ctx, 1, "min");
      checkBound(ctx, 2, "max");
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& x = ctx.input(0);
      for (size_t i : {size_t(1), size_t(2)}) {
        if (!ctx.hasInput(i)) continue;
        const Tensor& bound = ctx.input(i);
        const char* what = i == 1 ? "min" : "max";
        if (bound.numel() != 1)
          ctx.fail("{} has {} elements (shape [{}]), expected a scalar", what, bound.numel(),
                   fmt::join(bound.shape(), ","));
        if (bound.dtype() != x.dtype())
          ctx.fail("{} has dtype {}, expected the input's dtype {}", what, dtypeName(bound.dtype()),
                   dtypeName(x.dtype()));
      }
      Tensor out(x.dtype(), x.shape());
      dispatchDType(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        using C = ComputeType<T>;
        std::optional<C> lo, hi;
        if (ctx.hasInput(1)) lo = toCompute(ctx.input(1).data<T>()[0]);
        if (ctx.hasInput(2)) hi = toCompute(ctx.input(2).data<T>()[0]);
        auto px = x.data<T>();
        auto po = out.data<T>();
        for (size_t i = 0; i < px.size(); ++i) {
          C v = toCompute(px[i]);
          if (lo && v < *lo) v = *lo;
          if (hi && v > *hi) v = *hi;
          po[i] = fromCompute<T>(v);
        }
      });
      ctx.setOutput(0, std::move(out));
    },
    .grad = gradClip,
};

}  // namespace dlc::ir
