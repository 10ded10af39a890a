// Activation functions: Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Elu,
// Selu, Celu, Softplus, Softsign, ThresholdedRelu, Shrink, PRelu, Gelu and
// Mish. Computed in double; written in forms that do not overflow for large
// |x| (Sigmoid, Softplus).
#include <numbers>

#include "ir/ops/elementwise.h"

namespace dlc::ir {
using namespace ops;

namespace {

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  double e = std::exp(x);
  return e / (1.0 + e);
}

// log(1 + exp(x)) without overflow for large x.
double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

void inferFloatUnary(InferContext& ctx) { inferUnary(ctx, TypeSet::Float); }

// Applies y = f(x), f a double -> double callable that may capture the
// node's attribute values.
template <typename F>
void evalDoubleFn(EvalContext& ctx, F f) {
  evalUnary(ctx, [&](auto x) { return f(double(x)); });
}

}  // namespace

const OpDef kSigmoidDef{
    .name = "Sigmoid", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) { evalDoubleFn(ctx, sigmoid); },
};

const OpDef kHardSigmoidDef{
    .name = "HardSigmoid", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 0.2}, {"beta", AttrKind::Float, 0.5}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha"), beta = ctx.node().attrFloat("beta");
      evalDoubleFn(ctx, [&](double x) { return std::clamp(alpha * x + beta, 0.0, 1.0); });
    },
};

const OpDef kHardSwishDef{
    .name = "HardSwish", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      evalDoubleFn(ctx, [](double x) { return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0); });
    },
};

const OpDef kLeakyReluDef{
    .name = "LeakyRelu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 0.01}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha");
      evalDoubleFn(ctx, [&](double x) { return x < 0 ? alpha * x : x; });
    },
};

const OpDef kEluDef{
    .name = "Elu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 1.0}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha");
      evalDoubleFn(ctx, [&](double x) { return x < 0 ? alpha * std::expm1(x) : x; });
    },
};

// The defaults are the float32 values ONNX specifies.
const OpDef kSeluDef{
    .name = "Selu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 1.67326319217681884765625},
              {"gamma", AttrKind::Float, 1.05070102214813232421875}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha"), gamma = ctx.node().attrFloat("gamma");
      evalDoubleFn(ctx, [&](double x) { return x <= 0 ? gamma * alpha * std::expm1(x) : gamma * x; });
    },
};

const OpDef kCeluDef{
    .name = "Celu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 1.0}},
    .infer = [](InferContext& ctx) {
      inferFloatUnary(ctx);
      if (ctx.node().attrFloat("alpha") == 0.0) ctx.fail("attribute alpha must be non-zero, found 0");
    },
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha");
      if (alpha == 0.0) ctx.fail("attribute alpha must be non-zero, found 0");
      evalDoubleFn(ctx, [&](double x) { return std::max(0.0, x) + std::min(0.0, alpha * std::expm1(x / alpha)); });
    },
};

const OpDef kSoftplusDef{
    .name = "Softplus", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) { evalDoubleFn(ctx, softplus); },
};

const OpDef kSoftsignDef{
    .name = "Softsign", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) { evalDoubleFn(ctx, [](double x) { return x / (1.0 + std::fabs(x)); }); },
};

const OpDef kThresholdedReluDef{
    .name = "ThresholdedRelu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 1.0}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha");
      evalDoubleFn(ctx, [&](double x) { return x > alpha ? x : 0.0; });
    },
};

// Shrink accepts any numeric type; integer results are converted back
// (saturating) from the double computation.
const OpDef kShrinkDef{
    .name = "Shrink", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"bias", AttrKind::Float, 0.0}, {"lambd", AttrKind::Float, 0.5}},
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Numeric); },
    .eval = [](EvalContext& ctx) {
      double bias = ctx.node().attrFloat("bias"), lambd = ctx.node().attrFloat("lambd");
      evalDoubleFn(ctx, [&](double x) { return x < -lambd ? x + bias : x > lambd ? x - bias : 0.0; });
    },
};

// y = x < 0 ? slope * x : x, where slope broadcasts to x's shape
// (unidirectionally: the result has x's shape).
const OpDef kPReluDef{
    .name = "PRelu", .minInputs = 2, .maxInputs = 2, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) {
      inferBinary(ctx, TypeSet::Numeric);
      const auto& x = ctx.inputShape(0);
      const auto& slope = ctx.inputShape(1);
      if (x && slope && slope->rank() > x->rank())
        ctx.fail("slope has rank {}, expected at most the rank {} of x (it must broadcast to x)", slope->rank(),
                 x->rank());
    },
    .eval = [](EvalContext& ctx) {
      const auto& x = ctx.input(0).shape();
      const auto& slope = ctx.input(1).shape();
      if (broadcastExtents(x, slope) != x)
        ctx.fail("slope of shape [{}] does not broadcast to x of shape [{}]", fmt::join(slope, ","),
                 fmt::join(x, ","));
      evalBinary(ctx, [](auto v, auto s) { return v < decltype(v)(0) ? wrappingMul(s, v) : v; });
    },
};

const OpDef kGeluDef{
    .name = "Gelu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"approximate", AttrKind::String, std::string("none")}},
    .infer = [](InferContext& ctx) {
      inferFloatUnary(ctx);
      const std::string& approx = ctx.node().attrString("approximate");
      if (approx != "none" && approx != "tanh")
        ctx.fail("attribute approximate must be 'none' or 'tanh', found '{}'", approx);
    },
    .eval = [](EvalContext& ctx) {
      const std::string& approx = ctx.node().attrString("approximate");
      if (approx == "tanh") {
        evalDoubleFn(ctx, [](double x) {
          double k = std::sqrt(2.0 / std::numbers::pi);
          return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
        });
      } else if (approx == "none") {
        evalDoubleFn(ctx, [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2)); });
      } else {
        ctx.fail("attribute approximate must be 'none' or 'tanh', found '{}'", approx);
      }
    },
};

const OpDef kMishDef{
    .name = "Mish", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) { evalDoubleFn(ctx, [](double x) { return x * std::tanh(softplus(x)); }); },
};

}  // namespace dlc::ir
