// CumSum: running sums along one axis, optionally exclusive and/or reversed.
#include "ir/ops/reduction_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

static void inferCumSum(InferContext& ctx) {
  requireNumeric(ctx, 0, "x");
  requireIndexType(ctx, 1, "axis");
  const auto& axisShape = ctx.inputShape(1);
  if (axisShape && axisShape->rank() > 1)
    ctx.fail("axis has shape {}, expected a scalar", axisShape->str());
  if (auto axis = constantInts(ctx, 1); axis && ctx.inputShape(0)) {
    if (axis->size() != 1) ctx.fail("axis has {} elements, expected one", axis->size());
    normalizeAxis((*axis)[0], int64_t(ctx.inputShape(0)->rank()));
  }
  ctx.setOutput(0, ctx.inputType(0));
}

static void evalCumSum(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& axisTensor = ctx.input(1);
  if (axisTensor.numel() != 1 || axisTensor.rank() > 1)
    ctx.fail("axis has shape [{}], expected a scalar", fmt::join(axisTensor.shape(), ","));
  if (x.dtype() == DType::Bool) ctx.fail("x has dtype bool, expected a numeric type");
  int64_t axis = normalizeAxis(axisTensor.getInt(0), int64_t(x.rank()));
  bool exclusive = ctx.node().attrInt("exclusive") != 0;
  bool reverse = ctx.node().attrInt("reverse") != 0;
  AxisSplit split = splitAtAxis(x.shape(), axis);
  Tensor out(x.dtype(), x.shape());
  dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // Floats accumulate in double; integers wrap modulo 2^64 (no signed overflow).
    using Acc = std::conditional_t<kIsFloatStorage<T>, double, uint64_t>;
    auto pi = x.data<T>();
    auto po = out.data<T>();
    for (int64_t o = 0; o < split.outer; ++o)
      for (int64_t j = 0; j < split.inner; ++j) {
        Acc acc = 0;
        for (int64_t step = 0; step < split.extent; ++step) {
          int64_t i = reverse ? split.extent - 1 - step : step;
          size_t at = size_t(split.offset(o, i, j));
          Acc v = Acc(toCompute(pi[at]));
          if (!exclusive) acc += v;
          if constexpr (kIsFloatStorage<T>) po[at] = fromCompute<T>(static_cast<ComputeType<T>>(acc));
          else po[at] = T(acc);
          if (exclusive) acc += v;
        }
      }
  });
  ctx.setOutput(0, std::move(out));
}


// Gradient rule: the cumulative sum in the other direction (exclusive stays
// exclusive).
static std::vector<Value*> gradCumSum(GradContext& ctx) {
  Attributes a = ctx.node().attrs();
  a.set("reverse", int64_t(ctx.node().attrInt("reverse") == 0));
  return {ctx.builder().op(OpKind::CumSum, {ctx.outputGrad(0), ctx.input(1)}, a), nullptr};
}

const OpDef kCumSumDef{
    .name = "CumSum", .minInputs = 2, .maxInputs = 2, .traits = kDifferentiable,
    .attrs = {{"exclusive", AttrKind::Int, int64_t(0)}, {"reverse", AttrKind::Int, int64_t(0)}},
    .infer = inferCumSum, .eval = evalCumSum,
    .grad = gradCumSum,
};

}  // namespace dlc::ir
