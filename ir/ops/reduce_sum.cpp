// The Reduce* ops (opset-18 form: axes as an optional i64 input).
#include "ir/ops/reduce.h"

namespace dlc::ir {
using namespace ops;

static void inferNumericReduce(InferContext& ctx) { inferReduce(ctx, /*allowBool=*/false); }
static void inferOrderedReduce(InferContext& ctx) { inferReduce(ctx, /*allowBool=*/true); }

const OpDef kReduceSumDef{
    .name = "ReduceSum", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Sum); },
};

const OpDef kReduceMeanDef{
    .name = "ReduceMean", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Mean); },
};

const OpDef kReduceMaxDef{
    .name = "ReduceMax", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferOrderedReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Max); },
};

const OpDef kReduceMinDef{
    .name = "ReduceMin", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferOrderedReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Min); },
};

const OpDef kReduceProdDef{
    .name = "ReduceProd", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::Prod); },
};

const OpDef kReduceL1Def{
    .name = "ReduceL1", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::L1); },
};

const OpDef kReduceL2Def{
    .name = "ReduceL2", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::L2); },
};

const OpDef kReduceLogSumDef{
    .name = "ReduceLogSum", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::LogSum); },
};

const OpDef kReduceLogSumExpDef{
    .name = "ReduceLogSumExp", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::LogSumExp); },
};

const OpDef kReduceSumSquareDef{
    .name = "ReduceSumSquare", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferNumericReduce,
    .eval = [](EvalContext& ctx) { evalReduce(ctx, ReduceKind::SumSquare); },
};

}  // namespace dlc::ir
