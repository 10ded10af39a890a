// Unary math ops: Abs, Neg, Sign (any numeric type), and the float functions
// Exp, Log, Sqrt, Reciprocal, the trigonometric and hyperbolic functions,
// Ceil, Floor, Round and Erf. Float functions are computed in double and
// rounded once to the result type.
#include "ir/ops/elementwise.h"

namespace dlc::ir {
using namespace ops;

namespace {

// An op y = F(x) over tensors of `Accepted` dtypes (computed in double).
template <auto F, TypeSet Accepted = TypeSet::Float>
OpDef floatUnaryOp(std::string name, uint32_t traits = kElementwise | kDifferentiable) {
  return OpDef{
      .name = std::move(name), .minInputs = 1, .maxInputs = 1, .traits = traits,
      .infer = [](InferContext& ctx) { inferUnary(ctx, Accepted); },
      .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return F(double(x)); }); },
  };
}

template <typename T>
T absolute(T x) {
  if constexpr (std::is_unsigned_v<T>) return x;
  else if constexpr (std::is_integral_v<T>) return x < 0 ? wrappingNeg(x) : x;  // |min| wraps to min
  else return std::fabs(x);
}

template <typename T>
T sign(T x) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(x)) return x;
  return x > T(0) ? T(1) : x < T(0) ? T(-1) : T(0);
}

}  // namespace

const OpDef kAbsDef{
    .name = "Abs", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return absolute(x); }); },
};
const OpDef kNegDef{
    .name = "Neg", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::SignedNumeric); },
    .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return wrappingNeg(x); }); },
};
const OpDef kSignDef{
    .name = "Sign", .minInputs = 1, .maxInputs = 1, .traits = kElementwise,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return sign(x); }); },
};

const OpDef kExpDef = floatUnaryOp<[](double x) { return std::exp(x); }>("Exp");
const OpDef kLogDef = floatUnaryOp<[](double x) { return std::log(x); }>("Log");
const OpDef kSqrtDef = floatUnaryOp<[](double x) { return std::sqrt(x); }>("Sqrt");
const OpDef kReciprocalDef = floatUnaryOp<[](double x) { return 1.0 / x; }>("Reciprocal");
const OpDef kSinDef = floatUnaryOp<[](double x) { return std::sin(x); }>("Sin");
const OpDef kCosDef = floatUnaryOp<[](double x) { return std::cos(x); }>("Cos");
const OpDef kTanDef = floatUnaryOp<[](double x) { return std::tan(x); }>("Tan");
const OpDef kAsinDef = floatUnaryOp<[](double x) { return std::asin(x); }>("Asin");
const OpDef kAcosDef = floatUnaryOp<[](double x) { return std::acos(x); }>("Acos");
const OpDef kAtanDef = floatUnaryOp<[](double x) { return std::atan(x); }>("Atan");
const OpDef kSinhDef = floatUnaryOp<[](double x) { return std::sinh(x); }>("Sinh");
const OpDef kCoshDef = floatUnaryOp<[](double x) { return std::cosh(x); }>("Cosh");
const OpDef kTanhDef = floatUnaryOp<[](double x) { return std::tanh(x); }>("Tanh");
const OpDef kAsinhDef = floatUnaryOp<[](double x) { return std::asinh(x); }>("Asinh");
const OpDef kAcoshDef = floatUnaryOp<[](double x) { return std::acosh(x); }>("Acosh");
const OpDef kAtanhDef = floatUnaryOp<[](double x) { return std::atanh(x); }>("Atanh");
// ONNX Erf also accepts integer tensors (the result is truncated toward zero).
const OpDef kErfDef = floatUnaryOp<[](double x) { return std::erf(x); }, TypeSet::Numeric>("Erf");
// Rounding has a zero gradient almost everywhere: not marked differentiable.
const OpDef kCeilDef = floatUnaryOp<[](double x) { return std::ceil(x); }>("Ceil", kElementwise);
const OpDef kFloorDef = floatUnaryOp<[](double x) { return std::floor(x); }>("Floor", kElementwise);
// Halves round to even (numpy.round, ONNX Round); nearbyint does that in the
// default rounding mode.
const OpDef kRoundDef = floatUnaryOp<[](double x) { return std::nearbyint(x); }>("Round", kElementwise);

}  // namespace dlc::ir
