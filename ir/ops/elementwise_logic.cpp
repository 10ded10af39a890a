// Comparisons (Equal, Greater, Less, GreaterOrEqual, LessOrEqual), boolean
// logic (And, Or, Xor, Not) and float classification (IsNaN, IsInf). All
// produce bool tensors.
#include <functional>

#include "ir/ops/elementwise.h"

namespace dlc::ir {
using namespace ops;

namespace {

// A broadcasting comparison of two operands of one dtype; bool result.
template <auto Compare, TypeSet Accepted>
OpDef comparisonOp(std::string name, uint32_t traits = kElementwise) {
  return OpDef{
      .name = std::move(name), .minInputs = 2, .maxInputs = 2, .traits = traits,
      .infer = [](InferContext& ctx) { inferBinary(ctx, Accepted, DType::Bool); },
      .eval = [](EvalContext& ctx) { evalBinary(ctx, [](auto a, auto b) { return Compare(a, b); }, DType::Bool); },
  };
}

// A broadcasting logical op on bool operands.
template <auto Logic>
OpDef logicalOp(std::string name) {
  return OpDef{
      .name = std::move(name), .minInputs = 2, .maxInputs = 2, .traits = kElementwise | kCommutative,
      .infer = [](InferContext& ctx) { inferBinary(ctx, TypeSet::Bool); },
      .eval = [](EvalContext& ctx) { evalBinary(ctx, [](bool a, bool b) { return Logic(a, b); }); },
  };
}

}  // namespace

// Equal also compares bool tensors; the orderings need numbers.
const OpDef kEqualDef =
    comparisonOp<std::equal_to<>{}, TypeSet::Any>("Equal", kElementwise | kCommutative);
const OpDef kGreaterDef = comparisonOp<std::greater<>{}, TypeSet::Numeric>("Greater");
const OpDef kLessDef = comparisonOp<std::less<>{}, TypeSet::Numeric>("Less");
const OpDef kGreaterOrEqualDef =
    comparisonOp<std::greater_equal<>{}, TypeSet::Numeric>("GreaterOrEqual");
const OpDef kLessOrEqualDef = comparisonOp<std::less_equal<>{}, TypeSet::Numeric>("LessOrEqual");

// Named function objects, not lambdas: clang 19 with ASan + sanitizer
// coverage emits a lambda template argument in a section the linker then
// discards ("defined in discarded section" when linking the fuzz targets).
const OpDef kAndDef = logicalOp<std::logical_and<bool>{}>("And");
const OpDef kOrDef = logicalOp<std::logical_or<bool>{}>("Or");
const OpDef kXorDef = logicalOp<std::not_equal_to<bool>{}>("Xor");

const OpDef kNotDef{
    .name = "Not", .minInputs = 1, .maxInputs = 1, .traits = kElementwise,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Bool); },
    .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return !x; }); },
};

const OpDef kIsNaNDef{
    .name = "IsNaN", .minInputs = 1, .maxInputs = 1, .traits = kElementwise,
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Float, DType::Bool); },
    .eval = [](EvalContext& ctx) { evalUnary(ctx, [](auto x) { return std::isnan(double(x)); }, DType::Bool); },
};

const OpDef kIsInfDef{
    .name = "IsInf", .minInputs = 1, .maxInputs = 1, .traits = kElementwise,
    .attrs = {{"detect_negative", AttrKind::Int, int64_t(1)}, {"detect_positive", AttrKind::Int, int64_t(1)}},
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Float, DType::Bool); },
    .eval = [](EvalContext& ctx) {
      bool negative = ctx.node().attrInt("detect_negative") != 0;
      bool positive = ctx.node().attrInt("detect_positive") != 0;
      evalUnary(
          ctx,
          [&](auto x) {
            double v = double(x);
            return std::isinf(v) && ((v < 0 && negative) || (v > 0 && positive));
          },
          DType::Bool);
    },
};

}  // namespace dlc::ir
