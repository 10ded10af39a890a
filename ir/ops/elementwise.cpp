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

const char* typeSetName(TypeSet set) {
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

void checkInputType(const InferContext& ctx, size_t i, TypeSet accepted, const char* what) {
  DType t = ctx.inputDType(i);
  if (!inTypeSet(t, accepted)) ctx.fail("{} has dtype {}, expected {}", what, dtypeName(t), typeSetName(accepted));
}

void inferUnary(InferContext& ctx, TypeSet accepted, DType outType) {
  checkInputType(ctx, 0, accepted);
  TensorType t = ctx.inputType(0);
  if (outType != DType::Undefined) t.dtype = outType;
  ctx.setOutput(0, std::move(t));
}

void evalUnaryDouble(EvalContext& ctx, double (*f)(double)) {
  const Tensor& in = ctx.input(0);
  Tensor out(in.dtype(), in.shape());
  dispatchDType(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto pi = in.data<T>();
    auto po = out.data<T>();
    for (size_t i = 0; i < pi.size(); ++i) po[i] = convertValue<T>(f(double(toCompute(pi[i]))));
  });
  ctx.setOutput(0, std::move(out));
}

void inferBinary(InferContext& ctx, TypeSet accepted, DType outType) {
  DType a = ctx.inputDType(0), b = ctx.inputDType(1);
  if (a != b) ctx.fail("operands have different dtypes {} and {}", dtypeName(a), dtypeName(b));
  if (!inTypeSet(a, accepted)) ctx.fail("operands have dtype {}, expected {}", dtypeName(a), typeSetName(accepted));
  ctx.setOutput(0, broadcastTypes(ctx, outType == DType::Undefined ? a : outType));
}

void inferVariadic(InferContext& ctx, TypeSet accepted) {
  DType first = ctx.inputDType(0);
  for (size_t i = 1; i < ctx.numInputs(); ++i)
    if (ctx.inputDType(i) != first)
      ctx.fail("operand {} has dtype {}, but operand 0 has {}; all operands must share one dtype", i,
               dtypeName(ctx.inputDType(i)), dtypeName(first));
  if (!inTypeSet(first, accepted))
    ctx.fail("operands have dtype {}, expected {}", dtypeName(first), typeSetName(accepted));
  ctx.setOutput(0, broadcastTypes(ctx, first));
}

std::vector<int64_t> broadcastInputExtents(const EvalContext& ctx) {
  std::vector<int64_t> shape;
  for (size_t i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i)) shape = broadcastExtents(shape, ctx.input(i).shape());
  return shape;
}

DType commonInputDType(const EvalContext& ctx, size_t first) {
  DType t = ctx.input(first).dtype();
  for (size_t i = first + 1; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i) && ctx.input(i).dtype() != t)
      ctx.fail("operand {} has dtype {}, but operand {} has {}; they must match", i,
               dtypeName(ctx.input(i).dtype()), first, dtypeName(t));
  return t;
}

Attributes castAttrs(DType to) {
  Attributes attrs;
  attrs.set("to", std::string(dtypeName(to)));
  return attrs;
}

}  // namespace dlc::ir::ops
