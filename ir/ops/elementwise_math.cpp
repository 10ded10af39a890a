// Unary math ops: Abs, Neg, Sign (any numeric type), and the float functions
// Exp, Log, Sqrt, Reciprocal, the trigonometric and hyperbolic functions,
// Ceil, Floor, Round and Erf. Float functions are computed in double and
// rounded once to the result type.
#include "ir/ops/elementwise.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// An op y = F(x) over tensors of `Accepted` dtypes (computed in double).
template <auto F, TypeSet Accepted = TypeSet::Float>
OpDef floatUnaryOp(std::string name, uint32_t traits = kElementwise | kDifferentiable, GradFn grad = nullptr) {
  return OpDef{
      .name = std::move(name), .minInputs = 1, .maxInputs = 1, .traits = traits,
      .infer = [](InferContext& ctx) { inferUnary(ctx, Accepted); },
      .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return F(double(x)); }); },
      .grad = grad,
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


// Gradient rules (reverse mode; see passes/autodiff.h): g * dy/dx.
namespace {

Value* c(GraphBuilder& b, const Value* like, double v) { return b.scalarLike(like, v); }
Value* sq(GraphBuilder& b, Value* x) { return b.mul(x, x); }

std::vector<Value*> gradAbs(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) { return b.unary(OpKind::Sign, x); });
}
std::vector<Value*> gradNeg(GradContext& ctx) { return {ctx.builder().neg(ctx.outputGrad(0))}; }
std::vector<Value*> gradExp(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder&, Value*, Value* y) { return y; });
}
std::vector<Value*> gradLog(GradContext& ctx) {
  return {ctx.builder().div(ctx.outputGrad(0), ctx.input(0))};
}
std::vector<Value*> gradSqrt(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  return {b.div(ctx.outputGrad(0), b.mul(c(b, ctx.output(0), 2.0), ctx.output(0)))};
}
std::vector<Value*> gradReciprocal(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value*, Value* y) { return b.neg(sq(b, y)); });
}
std::vector<Value*> gradSin(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) { return b.unary(OpKind::Cos, x); });
}
std::vector<Value*> gradCos(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) { return b.neg(b.unary(OpKind::Sin, x)); });
}
std::vector<Value*> gradTan(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value*, Value* y) { return b.add(c(b, y, 1.0), sq(b, y)); });
}
// 1 / sqrt(1 - x^2)
Value* invSqrtOneMinusSq(GraphBuilder& b, Value* x) {
  return b.unary(OpKind::Reciprocal, b.unary(OpKind::Sqrt, b.sub(c(b, x, 1.0), sq(b, x))));
}
std::vector<Value*> gradAsin(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) { return invSqrtOneMinusSq(b, x); });
}
std::vector<Value*> gradAcos(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) { return b.neg(invSqrtOneMinusSq(b, x)); });
}
std::vector<Value*> gradAtan(GradContext& ctx) {
  return {ctx.builder().div(ctx.outputGrad(0), ctx.builder().add(c(ctx.builder(), ctx.input(0), 1.0),
                                                                 sq(ctx.builder(), ctx.input(0))))};
}
std::vector<Value*> gradSinh(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) { return b.unary(OpKind::Cosh, x); });
}
std::vector<Value*> gradCosh(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) { return b.unary(OpKind::Sinh, x); });
}
std::vector<Value*> gradTanh(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value*, Value* y) { return b.sub(c(b, y, 1.0), sq(b, y)); });
}
std::vector<Value*> gradAsinh(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) {
    return b.unary(OpKind::Reciprocal, b.unary(OpKind::Sqrt, b.add(sq(b, x), c(b, x, 1.0))));
  });
}
std::vector<Value*> gradAcosh(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) {
    return b.unary(OpKind::Reciprocal, b.unary(OpKind::Sqrt, b.sub(sq(b, x), c(b, x, 1.0))));
  });
}
std::vector<Value*> gradAtanh(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) {
    return b.unary(OpKind::Reciprocal, b.sub(c(b, x, 1.0), sq(b, x)));
  });
}
// 2 / sqrt(pi) * exp(-x^2)
std::vector<Value*> gradErf(GradContext& ctx) {
  if (!isFloat(ctx.input(0)->dtype())) return {nullptr};
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) {
    return b.mul(c(b, x, 1.1283791670955126), b.unary(OpKind::Exp, b.neg(sq(b, x))));
  });
}

}  // namespace

const OpDef kAbsDef{
    .name = "Abs", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return absolute(x); }); },
    .grad = gradAbs,
};
const OpDef kNegDef{
    .name = "Neg", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::SignedNumeric); },
    .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return wrappingNeg(x); }); },
    .grad = gradNeg,
};
const OpDef kSignDef{
    .name = "Sign", .minInputs = 1, .maxInputs = 1, .traits = kElementwise,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return sign(x); }); },
};

const OpDef kExpDef = floatUnaryOp<[](double x) { return std::exp(x); }>("Exp", kElementwise | kDifferentiable, gradExp);
const OpDef kLogDef = floatUnaryOp<[](double x) { return std::log(x); }>("Log", kElementwise | kDifferentiable, gradLog);
const OpDef kSqrtDef = floatUnaryOp<[](double x) { return std::sqrt(x); }>("Sqrt", kElementwise | kDifferentiable, gradSqrt);
const OpDef kReciprocalDef = floatUnaryOp<[](double x) { return 1.0 / x; }>("Reciprocal", kElementwise | kDifferentiable, gradReciprocal);
const OpDef kSinDef = floatUnaryOp<[](double x) { return std::sin(x); }>("Sin", kElementwise | kDifferentiable, gradSin);
const OpDef kCosDef = floatUnaryOp<[](double x) { return std::cos(x); }>("Cos", kElementwise | kDifferentiable, gradCos);
const OpDef kTanDef = floatUnaryOp<[](double x) { return std::tan(x); }>("Tan", kElementwise | kDifferentiable, gradTan);
const OpDef kAsinDef = floatUnaryOp<[](double x) { return std::asin(x); }>("Asin", kElementwise | kDifferentiable, gradAsin);
const OpDef kAcosDef = floatUnaryOp<[](double x) { return std::acos(x); }>("Acos", kElementwise | kDifferentiable, gradAcos);
const OpDef kAtanDef = floatUnaryOp<[](double x) { return std::atan(x); }>("Atan", kElementwise | kDifferentiable, gradAtan);
const OpDef kSinhDef = floatUnaryOp<[](double x) { return std::sinh(x); }>("Sinh", kElementwise | kDifferentiable, gradSinh);
const OpDef kCoshDef = floatUnaryOp<[](double x) { return std::cosh(x); }>("Cosh", kElementwise | kDifferentiable, gradCosh);
const OpDef kTanhDef = floatUnaryOp<[](double x) { return std::tanh(x); }>("Tanh", kElementwise | kDifferentiable, gradTanh);
const OpDef kAsinhDef = floatUnaryOp<[](double x) { return std::asinh(x); }>("Asinh", kElementwise | kDifferentiable, gradAsinh);
const OpDef kAcoshDef = floatUnaryOp<[](double x) { return std::acosh(x); }>("Acosh", kElementwise | kDifferentiable, gradAcosh);
const OpDef kAtanhDef = floatUnaryOp<[](double x) { return std::atanh(x); }>("Atanh", kElementwise | kDifferentiable, gradAtanh);
// ONNX Erf also accepts integer tensors (the result is truncated toward zero).
const OpDef kErfDef = floatUnaryOp<[](double x) { return std::erf(x); }, TypeSet::Numeric>("Erf", kElementwise | kDifferentiable, gradErf);
// Rounding has a zero gradient almost everywhere: not marked differentiable.
const OpDef kCeilDef = floatUnaryOp<[](double x) { return std::ceil(x); }>("Ceil", kElementwise);
const OpDef kFloorDef = floatUnaryOp<[](double x) { return std::floor(x); }>("Floor", kElementwise);
// Halves round to even (numpy.round, ONNX Round); nearbyint does that in the
// default rounding mode.
const OpDef kRoundDef = floatUnaryOp<[](double x) { return std::nearbyint(x); }>("Round", kElementwise);

}  // namespace dlc::ir
