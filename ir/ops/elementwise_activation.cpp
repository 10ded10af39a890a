// Activation functions: Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Elu,
// Selu, Celu, Softplus, Softsign, ThresholdedRelu, Shrink, PRelu, Gelu and
// Mish. Computed in double; written in forms that do not overflow for large
// |x| (Sigmoid, Softplus).
#include <numbers>

#include "ir/ops/elementwise.h"
#include "ir/ops/grad_util.h"

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


// Gradient rules (reverse mode; see passes/autodiff.h): g * dy/dx.
namespace {

Value* c(GraphBuilder& b, const Value* like, double v) { return b.scalarLike(like, v); }
Value* cmp(GraphBuilder& b, OpKind k, Value* x, double v) { return b.op(k, {x, c(b, x, v)}); }
Value* sigmoidOf(GraphBuilder& b, Value* x) { return b.unary(OpKind::Sigmoid, x); }

std::vector<Value*> gradSigmoid(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value*, Value* y) { return b.mul(y, b.sub(c(b, y, 1.0), y)); });
}
// alpha where 0 < alpha * x + beta < 1, else 0.
std::vector<Value*> gradHardSigmoid(GradContext& ctx) {
  double alpha = ctx.node().attrFloat("alpha"), beta = ctx.node().attrFloat("beta");
  return unaryGrad(ctx, [&](GraphBuilder& b, Value* x, Value*) {
    Value* t = b.add(b.mul(x, c(b, x, alpha)), c(b, x, beta));
    Value* inside = b.op(OpKind::And, {cmp(b, OpKind::Greater, t, 0.0), cmp(b, OpKind::Less, t, 1.0)});
    return b.where(inside, c(b, x, alpha), c(b, x, 0.0));
  });
}
// y = x * hardsigmoid(x) (alpha 1/6, beta 1/2): hardsigmoid(x) + x / 6 inside (-3, 3).
std::vector<Value*> gradHardSwish(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) {
    Attributes a;
    a.set("alpha", 1.0 / 6.0);
    a.set("beta", 0.5);
    Value* hs = b.op(OpKind::HardSigmoid, {x}, a);
    Value* inside = b.op(OpKind::And, {cmp(b, OpKind::Greater, x, -3.0), cmp(b, OpKind::Less, x, 3.0)});
    return b.add(hs, b.where(inside, b.div(x, c(b, x, 6.0)), c(b, x, 0.0)));
  });
}
std::vector<Value*> gradLeakyRelu(GradContext& ctx) {
  double alpha = ctx.node().attrFloat("alpha");
  return unaryGrad(ctx, [&](GraphBuilder& b, Value* x, Value*) {
    return b.where(cmp(b, OpKind::Greater, x, 0.0), c(b, x, 1.0), c(b, x, alpha));
  });
}
// x > 0 ? 1 : alpha * exp(x)
std::vector<Value*> gradElu(GradContext& ctx) {
  double alpha = ctx.node().attrFloat("alpha");
  return unaryGrad(ctx, [&](GraphBuilder& b, Value* x, Value*) {
    return b.where(cmp(b, OpKind::Greater, x, 0.0), c(b, x, 1.0), b.mul(c(b, x, alpha), b.unary(OpKind::Exp, x)));
  });
}
std::vector<Value*> gradSelu(GradContext& ctx) {
  double alpha = ctx.node().attrFloat("alpha"), gamma = ctx.node().attrFloat("gamma");
  return unaryGrad(ctx, [&](GraphBuilder& b, Value* x, Value*) {
    return b.where(cmp(b, OpKind::Greater, x, 0.0), c(b, x, gamma),
                   b.mul(c(b, x, gamma * alpha), b.unary(OpKind::Exp, x)));
  });
}
std::vector<Value*> gradCelu(GradContext& ctx) {
  double alpha = ctx.node().attrFloat("alpha");
  return unaryGrad(ctx, [&](GraphBuilder& b, Value* x, Value*) {
    return b.where(cmp(b, OpKind::Greater, x, 0.0), c(b, x, 1.0),
                   b.unary(OpKind::Exp, b.div(x, c(b, x, alpha))));
  });
}
std::vector<Value*> gradSoftplus(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) { return sigmoidOf(b, x); });
}
// 1 / (1 + |x|)^2
std::vector<Value*> gradSoftsign(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) {
    Value* d = b.add(c(b, x, 1.0), b.unary(OpKind::Abs, x));
    return b.unary(OpKind::Reciprocal, b.mul(d, d));
  });
}
std::vector<Value*> gradThresholdedRelu(GradContext& ctx) {
  double alpha = ctx.node().attrFloat("alpha");
  return unaryGrad(ctx, [&](GraphBuilder& b, Value* x, Value*) {
    return b.where(cmp(b, OpKind::Greater, x, alpha), c(b, x, 1.0), c(b, x, 0.0));
  });
}
std::vector<Value*> gradShrink(GradContext& ctx) {
  double lambd = ctx.node().attrFloat("lambd");
  if (!isFloat(ctx.input(0)->dtype())) return {nullptr};
  return unaryGrad(ctx, [&](GraphBuilder& b, Value* x, Value*) {
    Value* outside = b.op(OpKind::Or, {cmp(b, OpKind::Less, x, -lambd), cmp(b, OpKind::Greater, x, lambd)});
    return b.where(outside, c(b, x, 1.0), c(b, x, 0.0));
  });
}
// dx = x < 0 ? g * slope : g; dslope = x < 0 ? g * x : 0 (summed to slope's shape).
std::vector<Value*> gradPRelu(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *g = ctx.outputGrad(0), *x = ctx.input(0), *slope = ctx.input(1);
  Value* neg = cmp(b, OpKind::Less, x, 0.0);
  Value* dx = ctx.needsGrad(0) ? b.where(neg, b.mul(g, slope), g) : nullptr;
  Value* ds = ctx.needsGrad(1) ? unbroadcast(b, b.where(neg, b.mul(g, x), c(b, x, 0.0)), slope) : nullptr;
  return {dx, ds};
}
// none: Phi(x) + x * phi(x); tanh: 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 * 0.044715 x^2).
std::vector<Value*> gradGelu(GradContext& ctx) {
  bool tanhForm = ctx.node().attrString("approximate") == "tanh";
  return unaryGrad(ctx, [&](GraphBuilder& b, Value* x, Value*) -> Value* {
    Value* x2 = b.mul(x, x);
    if (tanhForm) {
      double k = std::sqrt(2.0 / std::numbers::pi);
      Value* u = b.mul(c(b, x, k), b.add(x, b.mul(c(b, x, 0.044715), b.mul(x2, x))));
      Value* t = b.unary(OpKind::Tanh, u);
      Value* du = b.mul(c(b, x, k), b.add(c(b, x, 1.0), b.mul(c(b, x, 3 * 0.044715), x2)));
      Value* first = b.mul(c(b, x, 0.5), b.add(c(b, x, 1.0), t));
      Value* second = b.mul(b.mul(c(b, x, 0.5), x), b.mul(b.sub(c(b, x, 1.0), b.mul(t, t)), du));
      return b.add(first, second);
    }
    Value* cdf = b.mul(c(b, x, 0.5),
                       b.add(c(b, x, 1.0), b.unary(OpKind::Erf, b.mul(x, c(b, x, 1.0 / std::numbers::sqrt2)))));
    Value* pdf = b.mul(c(b, x, 1.0 / std::sqrt(2.0 * std::numbers::pi)),
                       b.unary(OpKind::Exp, b.mul(x2, c(b, x, -0.5))));
    return b.add(cdf, b.mul(x, pdf));
  });
}
// y = x tanh(softplus(x)): tanh(sp) + x (1 - tanh(sp)^2) sigmoid(x).
std::vector<Value*> gradMish(GradContext& ctx) {
  return unaryGrad(ctx, [](GraphBuilder& b, Value* x, Value*) {
    Value* t = b.unary(OpKind::Tanh, b.unary(OpKind::Softplus, x));
    return b.add(t, b.mul(b.mul(x, b.sub(c(b, x, 1.0), b.mul(t, t))), sigmoidOf(b, x)));
  });
}

}  // namespace

const OpDef kSigmoidDef{
    .name = "Sigmoid", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) { evalDoubleFn(ctx, sigmoid); },
    .grad = gradSigmoid,
};

const OpDef kHardSigmoidDef{
    .name = "HardSigmoid", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 0.2}, {"beta", AttrKind::Float, 0.5}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha"), beta = ctx.node().attrFloat("beta");
      evalDoubleFn(ctx, [&](double x) { return std::clamp(alpha * x + beta, 0.0, 1.0); });
    },
    .grad = gradHardSigmoid,
};

const OpDef kHardSwishDef{
    .name = "HardSwish", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      evalDoubleFn(ctx, [](double x) { return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0); });
    },
    .grad = gradHardSwish,
};

const OpDef kLeakyReluDef{
    .name = "LeakyRelu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 0.01}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha");
      evalDoubleFn(ctx, [&](double x) { return x < 0 ? alpha * x : x; });
    },
    .grad = gradLeakyRelu,
};

const OpDef kEluDef{
    .name = "Elu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 1.0}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha");
      evalDoubleFn(ctx, [&](double x) { return x < 0 ? alpha * std::expm1(x) : x; });
    },
    .grad = gradElu,
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
    .grad = gradSelu,
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
    .grad = gradCelu,
};

const OpDef kSoftplusDef{
    .name = "Softplus", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) { evalDoubleFn(ctx, softplus); },
    .grad = gradSoftplus,
};

const OpDef kSoftsignDef{
    .name = "Softsign", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) { evalDoubleFn(ctx, [](double x) { return x / (1.0 + std::fabs(x)); }); },
    .grad = gradSoftsign,
};

const OpDef kThresholdedReluDef{
    .name = "ThresholdedRelu", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 1.0}},
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) {
      double alpha = ctx.node().attrFloat("alpha");
      evalDoubleFn(ctx, [&](double x) { return x > alpha ? x : 0.0; });
    },
    .grad = gradThresholdedRelu,
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
    .grad = gradShrink,
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
    .grad = gradPRelu,
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
    .grad = gradGelu,
};

const OpDef kMishDef{
    .name = "Mish", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .infer = inferFloatUnary,
    .eval = [](EvalContext& ctx) { evalDoubleFn(ctx, [](double x) { return x * std::tanh(softplus(x)); }); },
    .grad = gradMish,
};

}  // namespace dlc::ir
