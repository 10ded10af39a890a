// Softmax, LogSoftmax and Hardmax along one axis (opset-13 form; older
// opsets' coercion to 2-D is lowered by the importer).
#include "ir/ops/reduction_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

static void inferSoftmaxLike(InferContext& ctx) {
  requireFloat(ctx, 0, "input");
  if (const auto& s = ctx.inputShape(0)) normalizeAxis(ctx.node().attrInt("axis"), int64_t(s->rank()));
  ctx.setOutput(0, ctx.inputType(0));
}


// Gradient rules (reverse mode; see passes/autodiff.h).
namespace {

int64_t softmaxAxis(const GradContext& ctx) {
  return normalizeAxis(ctx.node().attrInt("axis"), rankOf(ctx.input(0)));
}
// dx = y * (g - sum(g * y, axis))
std::vector<Value*> gradSoftmax(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *g = ctx.outputGrad(0), *y = ctx.output(0);
  return {b.mul(y, b.sub(g, b.reduceSum(b.mul(g, y), {softmaxAxis(ctx)}, true)))};
}
// dx = g - exp(y) * sum(g, axis)
std::vector<Value*> gradLogSoftmax(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *g = ctx.outputGrad(0), *y = ctx.output(0);
  return {b.sub(g, b.mul(b.unary(OpKind::Exp, y), b.reduceSum(g, {softmaxAxis(ctx)}, true)))};
}

}  // namespace

enum class SoftmaxKind { Softmax, LogSoftmax, Hardmax };

template <SoftmaxKind kKind>
static void evalSoftmaxLike(EvalContext& ctx) {
  requireFloat(ctx, 0, "input");
  const Tensor& in = ctx.input(0);
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(in.rank()));
  AxisSplit split = splitAtAxis(in.shape(), axis);
  std::vector<double> x = toDoubles(in);
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < split.outer; ++o)
    for (int64_t j = 0; j < split.inner; ++j) {
      auto at = [&](int64_t i) { return size_t(split.offset(o, i, j)); };
      // The first maximum: Hardmax's winner and the shift that keeps exp finite.
      int64_t argmax = 0;
      for (int64_t i = 1; i < split.extent; ++i)
        if (x[at(i)] > x[at(argmax)]) argmax = i;
      if constexpr (kKind == SoftmaxKind::Hardmax) {
        for (int64_t i = 0; i < split.extent; ++i) y[at(i)] = i == argmax ? 1.0 : 0.0;
      } else {
        double m = split.extent > 0 ? x[at(argmax)] : 0.0;
        if (!std::isfinite(m)) m = 0;  // all -inf or inf: let the arithmetic give NaN/0 as IEEE says
        double sum = 0;
        for (int64_t i = 0; i < split.extent; ++i) sum += std::exp(x[at(i)] - m);
        for (int64_t i = 0; i < split.extent; ++i) {
          if constexpr (kKind == SoftmaxKind::Softmax) y[at(i)] = std::exp(x[at(i)] - m) / sum;
          else y[at(i)] = x[at(i)] - m - std::log(sum);
        }
      }
    }
  ctx.setOutput(0, fromDoubles(in.dtype(), in.shape(), y));
}

const OpDef kSoftmaxDef{
    .name = "Softmax", .minInputs = 1, .maxInputs = 1, .traits = kDifferentiable,
    .attrs = {{"axis", AttrKind::Int, int64_t(-1)}},
    .infer = inferSoftmaxLike, .eval = evalSoftmaxLike<SoftmaxKind::Softmax>,
    .grad = gradSoftmax,
};

const OpDef kLogSoftmaxDef{
    .name = "LogSoftmax", .minInputs = 1, .maxInputs = 1, .traits = kDifferentiable,
    .attrs = {{"axis", AttrKind::Int, int64_t(-1)}},
    .infer = inferSoftmaxLike, .eval = evalSoftmaxLike<SoftmaxKind::LogSoftmax>,
    .grad = gradLogSoftmax,
};

const OpDef kHardmaxDef{
    .name = "Hardmax", .minInputs = 1, .maxInputs = 1,
    .attrs = {{"axis", AttrKind::Int, int64_t(-1)}},
    .infer = inferSoftmaxLike, .eval = evalSoftmaxLike<SoftmaxKind::Hardmax>,
};

}  // namespace dlc::ir
