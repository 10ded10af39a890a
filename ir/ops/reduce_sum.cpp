// ReduceSum and its relatives that fold with addition.
#include "ir/ops/reduce.h"

namespace dlc::ir {
using namespace ops;

static std::vector<AttrSpec> reduceAttrs() {
  return {{"keepdims", AttrKind::Int, int64_t(1)}, {"noop_with_empty_axes", AttrKind::Int, int64_t(0)}};
}

const OpDef kReduceSumDef{
    .name = "ReduceSum", .minInputs = 1, .maxInputs = 2,
    .traits = kReduction | kDifferentiable, .attrs = reduceAttrs(),
    .infer = inferReduce,
    .eval = [](EvalContext& ctx) {
      evalReduce(ctx, 0.0, [](double a, double x) { return a + x; },
                 [](double a, int64_t) { return a; });
    },
};

}  // namespace dlc::ir
