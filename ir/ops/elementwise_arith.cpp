// Pow (base and exponent may have different dtypes) and Mod (integer or
// float remainder, with numpy or C sign conventions).
#include "ir/ops/elementwise.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// base^exponent for integers: exact, wrapping on overflow. A negative
// exponent gives the truncated value of 1 / base^|exponent| (0 unless |base|
// is 1), as the double computation would.
template <typename B, typename E>
B integerPow(B base, E exponent) {
  if constexpr (std::is_signed_v<E>) {
    if (exponent < 0) {
      if (base == B(0)) throwUserError("Pow: integer 0 raised to the negative power {}", int64_t(exponent));
      if (base == B(1)) return B(1);
      if constexpr (std::is_signed_v<B>)
        if (base == B(-1)) return (exponent % 2 == 0) ? B(1) : B(-1);
      return B(0);
    }
  }
  B result = 1;
  auto remaining = static_cast<std::make_unsigned_t<E>>(exponent);
  while (remaining != 0) {
    if (remaining & 1u) result = wrappingMul(result, base);
    base = wrappingMul(base, base);
    remaining >>= 1;
  }
  return result;
}

// The remainder of a / b. `truncated` (fmod=1): the sign of the dividend,
// like C's % and fmod. Otherwise (fmod=0): the sign of the divisor, like
// Python's and numpy's %.
template <typename T>
T remainder(T a, T b, bool truncated) {
  if constexpr (std::is_integral_v<T>) {
    if (b == T(0)) throwUserError("Mod: integer division by zero");
    if constexpr (std::is_signed_v<T>)
      if (b == T(-1)) return T(0);  // avoids min % -1 overflow
    T r = T(a % b);
    if constexpr (std::is_signed_v<T>)
      if (!truncated && r != 0 && ((r < 0) != (b < 0))) r = T(r + b);
    return r;
  } else {
    double r = std::fmod(double(a), double(b));
    if (!truncated && r != 0 && ((r < 0) != (b < 0))) r += double(b);
    return T(r);
  }
}

}  // namespace


// Gradient rules (reverse mode; see passes/autodiff.h).
namespace {

// d(a^b) = g * b * a^(b-1), g * a^b * log(a).
std::vector<Value*> gradPow(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *g = ctx.outputGrad(0), *x = ctx.input(0), *e = ctx.input(1);
  if (!isFloat(x->dtype())) return {nullptr, nullptr};
  Value* ex = e;
  if (e->dtype() != x->dtype()) {
    Attributes to;
    to.set("to", std::string(dtypeName(x->dtype())));
    ex = b.op(OpKind::Cast, {e}, std::move(to));
  }
  Value* dx = nullptr;
  if (ctx.needsGrad(0)) {
    Value* pm1 = b.op(OpKind::Pow, {x, b.sub(ex, b.scalarLike(x, 1.0))});
    dx = unbroadcast(b, b.mul(g, b.mul(ex, pm1)), x);
  }
  Value* de = nullptr;
  if (ctx.needsGrad(1) && isFloat(e->dtype()) && e->dtype() == x->dtype())
    de = unbroadcast(b, b.mul(g, b.mul(ctx.output(0), b.unary(OpKind::Log, x))), e);
  return {dx, de};
}

}  // namespace

// ONNX Pow: the result has the base's dtype; the exponent may be any
// numeric type. Integer bases with integer exponents are computed exactly.
const OpDef kPowDef{
    .name = "Pow", .minInputs = 2, .maxInputs = 2, .traits = kElementwise | kDifferentiable,
    .infer = [](InferContext& ctx) {
      checkInputType(ctx, 0, TypeSet::Numeric, "base");
      checkInputType(ctx, 1, TypeSet::Numeric, "exponent");
      ctx.setOutput(0, broadcastTypes(ctx, ctx.inputDType(0)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& base = ctx.input(0);
      const Tensor& exponent = ctx.input(1);
      if (!isFloat(base.dtype()) && !isInteger(base.dtype()))
        ctx.fail("base has dtype {}, expected a numeric type", dtypeName(base.dtype()));
      if (!isFloat(exponent.dtype()) && !isInteger(exponent.dtype()))
        ctx.fail("exponent has dtype {}, expected a numeric type", dtypeName(exponent.dtype()));
      std::vector<int64_t> shape = broadcastExtents(base.shape(), exponent.shape());
      Tensor out(base.dtype(), shape);
      std::vector<int64_t> baseStrides = broadcastStrides(base.shape(), shape);
      std::vector<int64_t> expStrides = broadcastStrides(exponent.shape(), shape);
      dispatchDType(base.dtype(), [&](auto btag) {
        using B = decltype(btag);
        dispatchDType(exponent.dtype(), [&](auto etag) {
          using E = decltype(etag);
          auto pb = base.data<B>();
          auto pe = exponent.data<E>();
          auto po = out.data<B>();
          int64_t k = 0;
          forEachIndex(shape, [&](const std::vector<int64_t>& idx) {
            auto b = toCompute(pb[offsetOf(idx, baseStrides)]);
            auto e = toCompute(pe[offsetOf(idx, expStrides)]);
            if constexpr (kIsWrappingInt<decltype(b)> && kIsWrappingInt<decltype(e)>)
              po[k++] = integerPow(b, e);
            else
              po[k++] = convertValue<B>(std::pow(double(b), double(e)));
          });
        });
      });
      ctx.setOutput(0, std::move(out));
    },
    .grad = gradPow,
};

// fmod=0 on floats follows numpy.mod (the ONNX reference does the same,
// though the spec asks for fmod=1 with floats).
const OpDef kModDef{
    .name = "Mod", .minInputs = 2, .maxInputs = 2, .traits = kElementwise,
    .attrs = {{"fmod", AttrKind::Int, int64_t(0)}},
    .infer = [](InferContext& ctx) {
      inferBinary(ctx, TypeSet::Numeric);
      int64_t fmod = ctx.node().attrInt("fmod");
      if (fmod != 0 && fmod != 1) ctx.fail("attribute fmod must be 0 or 1, found {}", fmod);
    },
    .eval = [](EvalContext& ctx) {
      bool truncated = ctx.node().attrInt("fmod") != 0;
      evalBinary(ctx, [truncated](auto a, auto b) { return remainder(a, b, truncated); });
    },
};

}  // namespace dlc::ir
