// Bit operations on integer tensors: BitShift (unsigned types only, as in
// ONNX), BitwiseAnd, BitwiseOr, BitwiseXor and BitwiseNot.
#include "ir/ops/elementwise.h"

namespace dlc::ir {
using namespace ops;

namespace {

bool isUnsignedInteger(DType t) { return isInteger(t) && !isSigned(t); }

bool shiftsLeft(const Node& node) {
  const std::string& direction = node.attrString("direction");
  if (direction == "LEFT") return true;
  if (direction == "RIGHT") return false;
  throwUserError("attribute direction must be 'LEFT' or 'RIGHT', found '{}'", direction);
}

// Shifting by the bit width or more yields 0 (in C++ it would be undefined).
template <typename T>
T shift(T x, T amount, bool left) {
  if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
    if (amount >= T(sizeof(T) * 8)) return T(0);
    WrapType<T> wide = x;
    return T(left ? wide << amount : wide >> amount);
  } else {
    throwUserError("BitShift needs an unsigned integer type");
  }
}

// A broadcasting bitwise op on integer operands.
template <auto Bits>
OpDef bitwiseOp(std::string name) {
  return OpDef{
      .name = std::move(name), .minInputs = 2, .maxInputs = 2, .traits = kElementwise | kCommutative,
      .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Integer); },
      .eval = [](EvalContext& ctx) {
        if (!isInteger(ctx.input(0).dtype()))
          ctx.fail("operands have dtype {}, expected an integer type", dtypeName(ctx.input(0).dtype()));
        evalBinary(ctx, [](auto a, auto b) {
          if constexpr (kIsWrappingInt<decltype(a)>) return decltype(a)(Bits(a, b));
          else return a;  // not reached: checked above
        });
      },
  };
}

}  // namespace

const OpDef kBitShiftDef{
    .name = "BitShift", .minInputs = 2, .maxInputs = 2, .traits = kElementwise,
    .attrs = {{"direction", AttrKind::String, std::nullopt}},
    .infer = [](InferContext& ctx) {
      inferBinary(ctx, TypeSet::Integer);
      if (!isUnsignedInteger(ctx.inputDType(0)))
        ctx.fail("operands have dtype {}, expected an unsigned integer type", dtypeName(ctx.inputDType(0)));
      shiftsLeft(ctx.node());
    },
    .eval = [](EvalContext& ctx) {
      if (!isUnsignedInteger(ctx.input(0).dtype()))
        ctx.fail("operands have dtype {}, expected an unsigned integer type", dtypeName(ctx.input(0).dtype()));
      bool left = shiftsLeft(ctx.node());
      evalBinary(ctx, [left](auto x, auto amount) { return shift(x, amount, left); });
    },
};

const OpDef kBitwiseAndDef = bitwiseOp<[](auto a, auto b) { return a & b; }>("BitwiseAnd");
const OpDef kBitwiseOrDef = bitwiseOp<[](auto a, auto b) { return a | b; }>("BitwiseOr");
const OpDef kBitwiseXorDef = bitwiseOp<[](auto a, auto b) { return a ^ b; }>("BitwiseXor");

const OpDef kBitwiseNotDef{
    .name = "BitwiseNot", .minInputs = 1, .maxInputs = 1, .traits = kElementwise,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Integer); },
    .eval = [](EvalContext& ctx) {
      if (!isInteger(ctx.input(0).dtype()))
        ctx.fail("input has dtype {}, expected an integer type", dtypeName(ctx.input(0).dtype()));
      evalUnary(ctx, [](auto x) {
        if constexpr (kIsWrappingInt<decltype(x)>) return decltype(x)(~x);
        else return x;  // not reached: checked above
      });
    },
};

}  // namespace dlc::ir
