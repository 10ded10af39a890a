// The Reduce* ops (opset-18 form: axes as an optional i64 input).
#include "ir/ops/reduce.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;


// Gradient rules (reverse mode; see passes/autodiff.h): the result's
// gradient with the reduced axes restored, spread over the reduced elements.
namespace {

template <ReduceKind kKind>
std::vector<Value*> gradReduce(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  const Node& n = ctx.node();
  Value *x = ctx.input(0), *g = ctx.outputGrad(0), *y = ctx.output(0);
  int64_t rank = rankOf(x);
  auto axes = reduceAxes(n, constantOperand(n, 1, "axes"), rank);
  if (!axes) ctx.fail("the reduced axes must be constant");
  if (axes->empty()) {  // noop_with_empty_axes: y = x
    if (kKind == ReduceKind::Sum || kKind == ReduceKind::Mean || kKind == ReduceKind::Max ||
        kKind == ReduceKind::Min || kKind == ReduceKind::Prod)
      return {g, nullptr};
    ctx.fail("no gradient rule for this reduction with noop_with_empty_axes");
  }
  bool keep = n.attrInt("keepdims") != 0;
  Value* gk = keepReducedDims(b, g, *axes, keep);
  Value* yk = keepReducedDims(b, y, *axes, keep);
  Value* zero = b.scalarLike(x, 0.0);
  switch (kKind) {
    case ReduceKind::Sum: return {expandLike(b, gk, x), nullptr};
    case ReduceKind::Mean: {
      const auto& s = *x->type().shape;
      int64_t count = 1;
      for (int64_t a : *axes) {
        if (!s[size_t(a)].isStatic()) ctx.fail("ReduceMean over a dynamic axis");
        count *= s[size_t(a)].value();
      }
      return {expandLike(b, b.div(gk, b.scalarLike(x, double(count))), x), nullptr};
    }
    case ReduceKind::Max:
    case ReduceKind::Min: return {b.where(b.op(OpKind::Equal, {x, yk}), expandLike(b, gk, x), zero), nullptr};
    case ReduceKind::Prod: return {b.div(b.mul(gk, yk), x), nullptr};
    case ReduceKind::L1: return {b.mul(gk, b.unary(OpKind::Sign, x)), nullptr};
    case ReduceKind::L2: return {b.div(b.mul(gk, x), yk), nullptr};
    case ReduceKind::LogSum: return {expandLike(b, b.div(gk, b.unary(OpKind::Exp, yk)), x), nullptr};
    case ReduceKind::LogSumExp: return {b.mul(gk, b.unary(OpKind::Exp, b.sub(x, yk))), nullptr};
    case ReduceKind::SumSquare: return {b.mul(gk, b.mul(x, b.scalarLike(x, 2.0))), nullptr};
  }
  return {nullptr, nullptr};
}

}  // namespace

static void inferNumericReduce(InferContext& ctx) { inferReduce(ctx, /*allowBool=*/false); }
static void inferOrderedReduce(InferContext& ctx) { inferReduce(ctx, /*allowBool=*/true); }

const OpDef kReduceSumDef{
    .name = "ReduceSum", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Sum); },
    .grad = gradReduce<ReduceKind::Sum>,
};

const OpDef kReduceMeanDef{
    .name = "ReduceMean", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Mean); },
    .grad = gradReduce<ReduceKind::Mean>,
};

const OpDef kReduceMaxDef{
    .name = "ReduceMax", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferOrderedReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Max); },
    .grad = gradReduce<ReduceKind::Max>,
};

const OpDef kReduceMinDef{
    .name = "ReduceMin", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferOrderedReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Min); },
    .grad = gradReduce<ReduceKind::Min>,
};

const OpDef kReduceProdDef{
    .name = "ReduceProd", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Prod); },
    .grad = gradReduce<ReduceKind::Prod>,
};

const OpDef kReduceL1Def{
    .name = "ReduceL1", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::L1); },
    .grad = gradReduce<ReduceKind::L1>,
};

const OpDef kReduceL2Def{
    .name = "ReduceL2", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::L2); },
    .grad = gradReduce<ReduceKind::L2>,
};

const OpDef kReduceLogSumDef{
    .name = "ReduceLogSum", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::LogSum); },
    .grad = gradReduce<ReduceKind::LogSum>,
};

const OpDef kReduceLogSumExpDef{
    .name = "ReduceLogSumExp", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::LogSumExp); },
    .grad = gradReduce<ReduceKind::LogSumExp>,
};

const OpDef kReduceSumSquareDef{
    .name = "ReduceSumSquare", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::SumSquare); },
    .grad = gradReduce<ReduceKind::SumSquare>,
};

}  // namespace dlc::ir
