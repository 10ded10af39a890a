// Identity, Relu and the four arithmetic binary ops. Integer add, sub and
// mul wrap around (as numpy and onnxruntime do) rather than overflow.
#include "ir/ops/elementwise.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;


// Gradient rules (reverse mode; see passes/autodiff.h).
namespace {

std::vector<Value*> gradIdentity(GradContext& ctx) { return {ctx.outputGrad(0)}; }

std::vector<Value*> gradRelu(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value* x = ctx.input(0);
  Value* zero = b.scalarLike(x, 0.0);
  return {b.where(b.op(OpKind::Greater, {x, zero}), ctx.outputGrad(0), zero)};
}

std::vector<Value*> gradAdd(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value* g = ctx.outputGrad(0);
  return {ctx.needsGrad(0) ? unbroadcast(b, g, ctx.input(0)) : nullptr,
          ctx.needsGrad(1) ? unbroadcast(b, g, ctx.input(1)) : nullptr};
}

std::vector<Value*> gradSub(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value* g = ctx.outputGrad(0);
  return {ctx.needsGrad(0) ? unbroadcast(b, g, ctx.input(0)) : nullptr,
          ctx.needsGrad(1) ? unbroadcast(b, b.neg(g), ctx.input(1)) : nullptr};
}

std::vector<Value*> gradMul(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *g = ctx.outputGrad(0), *x = ctx.input(0), *y = ctx.input(1);
  return {ctx.needsGrad(0) ? unbroadcast(b, b.mul(g, y), x) : nullptr,
          ctx.needsGrad(1) ? unbroadcast(b, b.mul(g, x), y) : nullptr};
}

// d(x/y) = g/y, -g * (x/y) / y.
std::vector<Value*> gradDiv(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *g = ctx.outputGrad(0), *x = ctx.input(0), *y = ctx.input(1);
  return {ctx.needsGrad(0) ? unbroadcast(b, b.div(g, y), x) : nullptr,
          ctx.needsGrad(1) ? unbroadcast(b, b.neg(b.div(b.mul(g, ctx.output(0)), y)), y) : nullptr};
}

}  // namespace

const OpDef kIdentityDef{
    .name = "Identity", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { ctx.setOutput(0, ctx.inputType(0)); },
    .eval = [](EvalContext& ctx) { ctx.setOutput(0, ctx.input(0)); },
    .grad = gradIdentity,
};

const OpDef kReluDef{
    .name = "Relu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::SignedNumeric); },
    .eval = [](EvalContext& ctx) {
      // max(0, x) with NaN propagated, as numpy, PyTorch and the compiled kernels do.
      evalUnary(ctx, [](auto x) { return x < decltype(x)(0) ? decltype(x)(0) : x; });
    },
    .grad = gradRelu,
};

// Integer division truncates toward zero (C semantics, as onnxruntime);
// division by zero is a UserError rather than undefined behaviour.
template <typename T>
static T divide(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) throwUserError("integer division by zero");
    if constexpr (std::is_signed_v<T>)
      if (a == std::numeric_limits<T>::min() && b == T(-1)) return a;  // wraps
  }
  return a / b;
}

const OpDef kAddDef{
    .name = "Add", .minInputs = 2, .maxInputs = 2,
    .traits = kElementwise | kCommutative | kDifferentiable,
    .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalBinary(ctx, [](auto a, auto b) { return wrappingAdd(a, b); }); },
    .grad = gradAdd,
};
const OpDef kSubDef{
    .name = "Sub", .minInputs = 2, .maxInputs = 2, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalBinary(ctx, [](auto a, auto b) { return wrappingSub(a, b); }); },
    .grad = gradSub,
};
const OpDef kMulDef{
    .name = "Mul", .minInputs = 2, .maxInputs = 2,
    .traits = kElementwise | kCommutative | kDifferentiable,
    .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalBinary(ctx, [](auto a, auto b) { return wrappingMul(a, b); }); },
    .grad = gradMul,
};
const OpDef kDivDef{
    .name = "Div", .minInputs = 2, .maxInputs = 2, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalBinary(ctx, [](auto a, auto b) { return divide(a, b); }); },
    .grad = gradDiv,
};

}  // namespace dlc::ir
