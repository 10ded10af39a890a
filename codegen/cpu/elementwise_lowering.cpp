#include "codegen/cpu/elementwise_lowering.h"

#include <cmath>

#include "ir/dtype.h"

namespace dlc::codegen {

using ir::DType;
using kir::BinaryOp;
using kir::Expr;
using kir::UnaryOp;

DType computeType(DType t) { return t == DType::F16 || t == DType::BF16 ? DType::F32 : t; }

namespace {

bool isFloatCompute(DType t) { return t == DType::F32 || t == DType::F64; }
bool isSignedIntCompute(DType t) { return t == DType::I8 || t == DType::I16 || t == DType::I32 || t == DType::I64; }
bool isUnsignedIntCompute(DType t) { return t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64; }
bool isIntCompute(DType t) { return isSignedIntCompute(t) || isUnsignedIntCompute(t); }

Expr c(const Expr& like, double v) { return kir::constant(like->dtype, v); }
Expr add(Expr a, Expr b) { return kir::binary(BinaryOp::Add, std::move(a), std::move(b)); }
Expr sub(Expr a, Expr b) { return kir::binary(BinaryOp::Sub, std::move(a), std::move(b)); }
Expr mul(Expr a, Expr b) { return kir::binary(BinaryOp::Mul, std::move(a), std::move(b)); }
Expr div(Expr a, Expr b) { return kir::binary(BinaryOp::Div, std::move(a), std::move(b)); }
Expr max(Expr a, Expr b) { return kir::binary(BinaryOp::Max, std::move(a), std::move(b)); }
Expr min(Expr a, Expr b) { return kir::binary(BinaryOp::Min, std::move(a), std::move(b)); }
Expr lt(Expr a, Expr b) { return kir::binary(BinaryOp::Lt, std::move(a), std::move(b)); }
Expr gt(Expr a, Expr b) { return kir::binary(BinaryOp::Gt, std::move(a), std::move(b)); }
Expr un(UnaryOp op, Expr a) { return kir::unary(op, std::move(a)); }
Expr sel(Expr cnd, Expr a, Expr b) { return kir::select(std::move(cnd), std::move(a), std::move(b)); }

// Rounds a compute value to the precision of a half-precision result type,
// so that a fused chain sees the same values as unfused kernels would.
Expr roundTo(DType storage, Expr x) {
  if (storage == DType::F16 || storage == DType::BF16) return kir::cast(DType::F32, kir::cast(storage, x));
  return x;
}

Expr unaryFloat(UnaryOp op, const Expr& x) { return isFloatCompute(x->dtype) ? un(op, x) : nullptr; }

// ReLU-family max(x, 0) that propagates NaN like the reference (x < 0 ? 0 : x).
Expr relu(const Expr& x) { return sel(lt(x, c(x, 0)), c(x, 0), x); }

Expr softplus(const Expr& x) {
  // log(1 + exp(x)), stable for large |x|: max(x,0) + log(1 + exp(-|x|)).
  Expr e = un(UnaryOp::Exp, un(UnaryOp::Neg, un(UnaryOp::Abs, x)));
  return add(max(x, c(x, 0)), un(UnaryOp::Log, add(c(x, 1), e)));
}

Expr lowerCast(const ir::Node& node, const Expr& x) {
  DType to = node.output(0)->dtype();
  if (to == DType::Undefined) return nullptr;
  DType from = x->dtype;
  if (to == DType::F16 || to == DType::BF16) return roundTo(to, from == DType::F32 ? x : kir::cast(DType::F32, x));
  if (to == DType::Bool) return kir::binary(BinaryOp::Ne, x, c(x, 0));
  return from == to ? x : kir::cast(to, x);
}

// Variadic Sum/Min/Max/Mean fold left to right.
Expr foldVariadic(BinaryOp op, const std::vector<Expr>& xs) {
  Expr acc = xs.at(0);
  for (size_t i = 1; i < xs.size(); ++i) acc = kir::binary(op, acc, xs[i]);
  return acc;
}

}  // namespace

bool isInferenceDropout(const ir::Node& n) {
  if (n.op() != ir::OpKind::Dropout || n.outputs().size() != 1) return false;
  const ir::Value* training = n.input(2);
  return !training || (training->isConstant() && training->constant().numel() == 1 && training->constant().getInt(0) == 0);
}

Expr lowerElementwise(const ir::Node& node, const std::vector<Expr>& in) {
  for (size_t i = 0; i < in.size(); ++i)
    if (!in[i] && i == 0) return nullptr;
  const Expr& x = in.at(0);
  const DType t = x->dtype;
  auto attrF = [&](const char* name) { return node.attrFloat(name); };
  Expr result;
  switch (node.op()) {
    case ir::OpKind::Identity: result = x; break;
    case ir::OpKind::Dropout: result = isInferenceDropout(node) ? x : nullptr; break;
    case ir::OpKind::Relu: result = isFloatCompute(t) || isSignedIntCompute(t) ? relu(x) : nullptr; break;
    case ir::OpKind::Add: result = isFloatCompute(t) || isIntCompute(t) ? add(x, in[1]) : nullptr; break;
    case ir::OpKind::Sub: result = isFloatCompute(t) || isIntCompute(t) ? sub(x, in[1]) : nullptr; break;
    case ir::OpKind::Mul: result = isFloatCompute(t) || isIntCompute(t) ? mul(x, in[1]) : nullptr; break;
    case ir::OpKind::Div: result = isFloatCompute(t) ? div(x, in[1]) : nullptr; break;  // integer /0 is an error in the reference
    case ir::OpKind::Abs: result = isFloatCompute(t) || isSignedIntCompute(t) ? un(UnaryOp::Abs, x) : isUnsignedIntCompute(t) ? x : nullptr; break;
    case ir::OpKind::Neg: result = isFloatCompute(t) || isSignedIntCompute(t) ? un(UnaryOp::Neg, x) : nullptr; break;
    case ir::OpKind::Sign: result = isFloatCompute(t) || isSignedIntCompute(t) ? un(UnaryOp::Sign, x) : nullptr; break;
    case ir::OpKind::Exp: result = unaryFloat(UnaryOp::Exp, x); break;
    case ir::OpKind::Log: result = unaryFloat(UnaryOp::Log, x); break;
    case ir::OpKind::Sqrt: result = unaryFloat(UnaryOp::Sqrt, x); break;
    case ir::OpKind::Reciprocal: result = unaryFloat(UnaryOp::Reciprocal, x); break;
    case ir::OpKind::Sin: result = unaryFloat(UnaryOp::Sin, x); break;
    case ir::OpKind::Cos: result = unaryFloat(UnaryOp::Cos, x); break;
    case ir::OpKind::Tan: result = unaryFloat(UnaryOp::Tan, x); break;
    case ir::OpKind::Asin: result = unaryFloat(UnaryOp::Asin, x); break;
    case ir::OpKind::Acos: result = unaryFloat(UnaryOp::Acos, x); break;
    case ir::OpKind::Atan: result = unaryFloat(UnaryOp::Atan, x); break;
    case ir::OpKind::Sinh: result = unaryFloat(UnaryOp::Sinh, x); break;
    case ir::OpKind::Cosh: result = unaryFloat(UnaryOp::Cosh, x); break;
    case ir::OpKind::Tanh: result = unaryFloat(UnaryOp::Tanh, x); break;
    case ir::OpKind::Asinh: result = unaryFloat(UnaryOp::Asinh, x); break;
    case ir::OpKind::Acosh: result = unaryFloat(UnaryOp::Acosh, x); break;
    case ir::OpKind::Atanh: result = unaryFloat(UnaryOp::Atanh, x); break;
    case ir::OpKind::Erf: result = unaryFloat(UnaryOp::Erf, x); break;
    case ir::OpKind::Ceil: result = unaryFloat(UnaryOp::Ceil, x); break;
    case ir::OpKind::Floor: result = unaryFloat(UnaryOp::Floor, x); break;
    case ir::OpKind::Round: result = unaryFloat(UnaryOp::Round, x); break;
    case ir::OpKind::Sigmoid: result = unaryFloat(UnaryOp::Sigmoid, x); break;
    case ir::OpKind::HardSigmoid:
      if (isFloatCompute(t)) result = max(c(x, 0), min(c(x, 1), add(mul(c(x, attrF("alpha")), x), c(x, attrF("beta")))));
      break;
    case ir::OpKind::HardSwish:
      if (isFloatCompute(t)) result = mul(x, max(c(x, 0), min(c(x, 1), add(div(x, c(x, 6)), c(x, 0.5)))));
      break;
    case ir::OpKind::LeakyRelu:
      if (isFloatCompute(t)) result = sel(lt(x, c(x, 0)), mul(c(x, attrF("alpha")), x), x);
      break;
    case ir::OpKind::Elu:
      if (isFloatCompute(t)) result = sel(lt(x, c(x, 0)), mul(c(x, attrF("alpha")), sub(un(UnaryOp::Exp, x), c(x, 1))), x);
      break;
    case ir::OpKind::Selu:
      if (isFloatCompute(t)) {
        Expr g = c(x, attrF("gamma")), a = c(x, attrF("alpha"));
        result = sel(gt(x, c(x, 0)), mul(g, x), mul(g, sub(mul(a, un(UnaryOp::Exp, x)), a)));
      }
      break;
    case ir::OpKind::Celu:
      if (isFloatCompute(t)) {
        Expr a = c(x, attrF("alpha"));
        result = add(max(c(x, 0), x), min(c(x, 0), mul(a, sub(un(UnaryOp::Exp, div(x, a)), c(x, 1)))));
      }
      break;
    case ir::OpKind::Softplus: result = isFloatCompute(t) ? softplus(x) : nullptr; break;
    case ir::OpKind::Softsign: result = isFloatCompute(t) ? div(x, add(c(x, 1), un(UnaryOp::Abs, x))) : nullptr; break;
    case ir::OpKind::ThresholdedRelu:
      if (isFloatCompute(t)) result = sel(gt(x, c(x, attrF("alpha"))), x, c(x, 0));
      break;
    case ir::OpKind::Shrink:
      if (isFloatCompute(t)) {
        Expr l = c(x, attrF("lambd")), b = c(x, attrF("bias"));
        result = sel(lt(x, un(UnaryOp::Neg, l)), add(x, b), sel(gt(x, l), sub(x, b), c(x, 0)));
      }
      break;
    case ir::OpKind::PRelu:
      if (isFloatCompute(t)) result = sel(lt(x, c(x, 0)), mul(in[1], x), x);
      break;
    case ir::OpKind::Gelu:
      if (isFloatCompute(t)) {
        if (node.attrString("approximate") == "tanh") {
          Expr inner = mul(c(x, std::sqrt(2.0 / M_PI)), add(x, mul(c(x, 0.044715), mul(x, mul(x, x)))));
          result = mul(mul(c(x, 0.5), x), add(c(x, 1), un(UnaryOp::Tanh, inner)));
        } else {
          result = mul(mul(c(x, 0.5), x), add(c(x, 1), un(UnaryOp::Erf, mul(x, c(x, M_SQRT1_2)))));
        }
      }
      break;
    case ir::OpKind::Mish: result = isFloatCompute(t) ? mul(x, un(UnaryOp::Tanh, softplus(x))) : nullptr; break;
    case ir::OpKind::Equal: result = kir::binary(BinaryOp::Eq, x, in[1]); break;
    case ir::OpKind::Greater: result = kir::binary(BinaryOp::Gt, x, in[1]); break;
    case ir::OpKind::Less: result = kir::binary(BinaryOp::Lt, x, in[1]); break;
    case ir::OpKind::GreaterOrEqual: result = kir::binary(BinaryOp::Ge, x, in[1]); break;
    case ir::OpKind::LessOrEqual: result = kir::binary(BinaryOp::Le, x, in[1]); break;
    case ir::OpKind::And: result = kir::binary(BinaryOp::And, x, in[1]); break;
    case ir::OpKind::Or: result = kir::binary(BinaryOp::Or, x, in[1]); break;
    case ir::OpKind::Xor: result = kir::binary(BinaryOp::Xor, x, in[1]); break;
    case ir::OpKind::Not: result = un(UnaryOp::Not, x); break;
    case ir::OpKind::IsNaN: result = isFloatCompute(t) ? un(UnaryOp::IsNaN, x) : nullptr; break;
    case ir::OpKind::IsInf:
      if (isFloatCompute(t)) {
        bool neg = node.attrInt("detect_negative") != 0, pos = node.attrInt("detect_positive") != 0;
        Expr inf = un(UnaryOp::IsInf, x);
        if (neg && pos) result = inf;
        else if (neg) result = kir::binary(BinaryOp::And, inf, lt(x, c(x, 0)));
        else if (pos) result = kir::binary(BinaryOp::And, inf, gt(x, c(x, 0)));
        else result = kir::constant(DType::Bool, 0);
      }
      break;
    case ir::OpKind::BitShift:
      if (isUnsignedIntCompute(t))
        result = kir::binary(node.attrString("direction") == "LEFT" ? BinaryOp::Shl : BinaryOp::Shr, x, in[1]);
      break;
    case ir::OpKind::BitwiseAnd: result = isIntCompute(t) ? kir::binary(BinaryOp::And, x, in[1]) : nullptr; break;
    case ir::OpKind::BitwiseOr: result = isIntCompute(t) ? kir::binary(BinaryOp::Or, x, in[1]) : nullptr; break;
    case ir::OpKind::BitwiseXor: result = isIntCompute(t) ? kir::binary(BinaryOp::Xor, x, in[1]) : nullptr; break;
    case ir::OpKind::BitwiseNot: result = isIntCompute(t) ? un(UnaryOp::BitNot, x) : nullptr; break;
    case ir::OpKind::Pow:
      // Integer powers are exact in the reference; only float^float is lowered.
      if (isFloatCompute(t) && in[1]->dtype == t) result = kir::binary(BinaryOp::Pow, x, in[1]);
      break;
    case ir::OpKind::Mod:
      if (isFloatCompute(t) && node.attrInt("fmod") != 0) result = kir::binary(BinaryOp::Rem, x, in[1]);
      break;
    case ir::OpKind::Min: result = isFloatCompute(t) || isIntCompute(t) ? foldVariadic(BinaryOp::Min, in) : nullptr; break;
    case ir::OpKind::Max: result = isFloatCompute(t) || isIntCompute(t) ? foldVariadic(BinaryOp::Max, in) : nullptr; break;
    case ir::OpKind::Sum: result = isFloatCompute(t) ? foldVariadic(BinaryOp::Add, in) : nullptr; break;
    case ir::OpKind::Mean:
      if (isFloatCompute(t)) result = div(foldVariadic(BinaryOp::Add, in), c(x, double(in.size())));
      break;
    case ir::OpKind::Where: result = in.size() == 3 && in[1] && in[2] ? sel(x, in[1], in[2]) : nullptr; break;
    case ir::OpKind::Clip:
      if (isFloatCompute(t) || isIntCompute(t)) {
        // A NaN input stays NaN: bounds apply with select, not min/max.
        result = x;
        if (in.size() > 1 && in[1]) result = sel(lt(result, in[1]), in[1], result);
        if (in.size() > 2 && in[2]) result = sel(gt(result, in[2]), in[2], result);
      }
      break;
    case ir::OpKind::Cast: result = lowerCast(node, x); break;
    default: return nullptr;
  }
  if (!result) return nullptr;
  DType out = node.output(0)->dtype();
  if (result->dtype != computeType(out)) return nullptr;  // e.g. an op whose result dtype differs
  return node.op() == ir::OpKind::Cast ? result : roundTo(out, result);
}

}  // namespace dlc::codegen
