#include "ir/ops/elementwise.h"

namespace dlc::ir::ops {

bool inTypeSet(DType t, TypeSet set) {
  switch (set) {
    case TypeSet::Float: return isFloat(t);
    case TypeSet::Numeric: return isFloat(t) || isInteger(t);
    case TypeSet::SignedNumeric: return isSigned(t);
    case TypeSet::Integer: return isInteger(t);
    case TypeSet::Bool: return t == DType::Bool;
    case TypeSet::Any: return t != DType::Undefined;
  }
  return false;
}

static const char* typeSetName(TypeSet set) {
  switch (set) {
    case TypeSet::Float: return "a floating-point type";
    case TypeSet::Numeric: return "a numeric type";
    case TypeSet::SignedNumeric: return "a signed numeric type";
    case TypeSet::Integer: return "an integer type";
    case TypeSet::Bool: return "bool";
    case TypeSet::Any: return "a defined type";
  }
  return "?";
}

void inferUnary(InferContext& ctx, TypeSet accepted) {
  DType t = ctx.inputDType(0);
  if (!inTypeSet(t, accepted)) ctx.fail("input has dtype {}, expected {}", dtypeName(t), typeSetName(accepted));
  ctx.setOutput(0, ctx.inputType(0));
}

void evalUnaryDouble(EvalContext& ctx, double (*f)(double)) {
  const Tensor& in = ctx.input(0);
  Tensor out(in.dtype(), in.shape());
  dispatchDType(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto pi = in.data<T>();
    auto po = out.data<T>();
    for (size_t i = 0; i < pi.size(); ++i)
      po[i] = fromCompute<T>(static_cast<ComputeType<T>>(f(double(toCompute(pi[i])))));
  });
  ctx.setOutput(0, std::move(out));
}

void inferBinary(InferContext& ctx, TypeSet accepted, DType outType) {
  DType a = ctx.inputDType(0), b = ctx.inputDType(1);
  if (a != b) ctx.fail("operands have different dtypes {} and {}", dtypeName(a), dtypeName(b));
  if (!inTypeSet(a, accepted)) ctx.fail("operands have dtype {}, expected {}", dtypeName(a), typeSetName(accepted));
  ctx.setOutput(0, broadcastTypes(ctx, outType == DType::Undefined ? a : outType));
}

}  // namespace dlc::ir::ops
