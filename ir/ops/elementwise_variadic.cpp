// Min, Max, Sum and Mean: any number (at least one) of operands of one dtype,
// broadcast together (numpy rules), folded elementwise.
#include "ir/ops/elementwise.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// out[i] = finish(fold(...fold(x0[i], x1[i])..., xn[i]), n), where fold and
// finish work on ComputeType<T> values.
template <typename Fold, typename Finish>
void evalFold(EvalContext& ctx, Fold fold, Finish finish) {
  DType dtype = commonInputDType(ctx);
  std::vector<int64_t> shape = broadcastInputExtents(ctx);
  size_t n = ctx.numInputs();
  std::vector<std::vector<int64_t>> strides;
  for (size_t i = 0; i < n; ++i) strides.push_back(broadcastStrides(ctx.input(i).shape(), shape));
  Tensor out(dtype, shape);
  dispatchDType(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto po = out.data<T>();
    int64_t k = 0;
    forEachIndex(shape, [&](const std::vector<int64_t>& idx) {
      auto acc = toCompute(ctx.input(0).data<T>()[offsetOf(idx, strides[0])]);
      for (size_t i = 1; i < n; ++i) acc = fold(acc, toCompute(ctx.input(i).data<T>()[offsetOf(idx, strides[i])]));
      po[k++] = fromCompute<T>(finish(acc, n));
    });
  });
  ctx.setOutput(0, std::move(out));
}

// NaN wins (numpy.minimum / numpy.maximum).
template <typename T>
T pickMin(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return b < a ? b : a;
}
template <typename T>
T pickMax(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a < b ? b : a;
}

constexpr auto keep = [](auto acc, size_t) { return acc; };

// Every operand must be a tensor (no absent optional operands).
void checkAllPresent(const EvalContext& ctx) {
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    if (!ctx.hasInput(i)) ctx.fail("operand {} is absent; every operand must be given", i);
}

}  // namespace


// Gradient rules (reverse mode; see passes/autodiff.h).
namespace {

// Min/Max: the gradient goes to the operands equal to the result.
std::vector<Value*> gradSelected(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *g = ctx.outputGrad(0), *y = ctx.output(0);
  std::vector<Value*> out;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    Value* x = ctx.input(i);
    if (!ctx.needsGrad(i)) {
      out.push_back(nullptr);
      continue;
    }
    Value* picked = b.where(b.op(OpKind::Equal, {x, y}), g, b.scalarLike(g, 0.0));
    out.push_back(unbroadcast(b, picked, x));
  }
  return out;
}

std::vector<Value*> gradSum(GradContext& ctx) {
  std::vector<Value*> out;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    out.push_back(ctx.needsGrad(i) ? unbroadcast(ctx.builder(), ctx.outputGrad(0), ctx.input(i)) : nullptr);
  return out;
}

std::vector<Value*> gradMean(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value* g = b.div(ctx.outputGrad(0), b.scalarLike(ctx.outputGrad(0), double(ctx.numInputs())));
  std::vector<Value*> out;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    out.push_back(ctx.needsGrad(i) ? unbroadcast(b, g, ctx.input(i)) : nullptr);
  return out;
}

}  // namespace

const OpDef kMinDef{
    .name = "Min", .minInputs = 1, .maxInputs = kVariadic, .traits = kElementwise | kCommutative | kDifferentiable,
    .infer = [](InferContext& ctx) { inferVariadic(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) {
      checkAllPresent(ctx);
      evalFold(ctx, [](auto a, auto b) { return pickMin(a, b); }, keep);
    },
    .grad = gradSelected,
};

const OpDef kMaxDef{
    .name = "Max", .minInputs = 1, .maxInputs = kVariadic, .traits = kElementwise | kCommutative | kDifferentiable,
    .infer = [](InferContext& ctx) { inferVariadic(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) {
      checkAllPresent(ctx);
      evalFold(ctx, [](auto a, auto b) { return pickMax(a, b); }, keep);
    },
    .grad = gradSelected,
};

// ONNX Sum takes floats only; integers are accepted too (wrapping addition).
const OpDef kSumDef{
    .name = "Sum", .minInputs = 1, .maxInputs = kVariadic, .traits = kElementwise | kCommutative | kDifferentiable,
    .infer = [](InferContext& ctx) { inferVariadic(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) {
      checkAllPresent(ctx);
      evalFold(ctx, [](auto a, auto b) { return wrappingAdd(a, b); }, keep);
    },
    .grad = gradSum,
};

const OpDef kMeanDef{
    .name = "Mean", .minInputs = 1, .maxInputs = kVariadic, .traits = kElementwise | kCommutative | kDifferentiable,
    .infer = [](InferContext& ctx) { inferVariadic(ctx, TypeSet::Float); },
    .eval = [](EvalContext& ctx) {
      checkAllPresent(ctx);
      if (!isFloat(ctx.input(0).dtype()))
        ctx.fail("operands have dtype {}, expected a floating-point type", dtypeName(ctx.input(0).dtype()));
      evalFold(ctx, [](auto a, auto b) { return a + b; },
               [](auto acc, size_t n) { return decltype(acc)(double(acc) / double(n)); });
    },
    .grad = gradMean,
};

}  // namespace dlc::ir
