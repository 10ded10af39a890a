// Identity, Relu and the four arithmetic binary ops. Integer add, sub and
// mul wrap around (as numpy and onnxruntime do) rather than overflow.
#include "ir/ops/elementwise.h"

namespace dlc::ir {
using namespace ops;

const OpDef kIdentityDef{
    .name = "Identity", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { ctx.setOutput(0, ctx.inputType(0)); },
    .eval = [](EvalContext& ctx) { ctx.setOutput(0, ctx.input(0)); },
};

const OpDef kReluDef{
    .name = "Relu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::SignedNumeric); },
    .eval = [](EvalContext& ctx) {
      evalUnary(ctx, [](auto x) { return x > decltype(x)(0) ? x : decltype(x)(0); });
    },
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
};
const OpDef kSubDef{
    .name = "Sub", .minInputs = 2, .maxInputs = 2, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalBinary(ctx, [](auto a, auto b) { return wrappingSub(a, b); }); },
};
const OpDef kMulDef{
    .name = "Mul", .minInputs = 2, .maxInputs = 2,
    .traits = kElementwise | kCommutative | kDifferentiable,
    .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalBinary(ctx, [](auto a, auto b) { return wrappingMul(a, b); }); },
};
const OpDef kDivDef{
    .name = "Div", .minInputs = 2, .maxInputs = 2, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalBinary(ctx, [](auto a, auto b) { return divide(a, b); }); },
};

}  // namespace dlc::ir
