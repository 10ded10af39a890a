// MeanVarianceNormalization: (X - E[X]) / (sqrt(Var[X]) + 1e-9) over `axes`,
// as the ONNX function body defines it.
#include <algorithm>

#include "ir/ops/reduce.h"

namespace dlc::ir {
using namespace ops;

static std::vector<int64_t> mvnAxes(const Node& node, int64_t rank) {
  std::vector<int64_t> axes;
  for (int64_t a : node.attrInts("axes")) axes.push_back(normalizeAxis(a, rank, "axes entry"));
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

static void inferMvn(InferContext& ctx) {
  requireFloat(ctx, 0, "X");
  if (const auto& s = ctx.inputShape(0)) mvnAxes(ctx.node(), int64_t(s->rank()));
  ctx.setOutput(0, ctx.inputType(0));
}

static void evalMvn(EvalContext& ctx) {
  requireFloat(ctx, 0, "X");
  const Tensor& xt = ctx.input(0);
  ReductionGroups groups(xt.shape(), mvnAxes(ctx.node(), int64_t(xt.rank())));
  std::vector<double> x = toDoubles(xt);
  std::vector<double> y(x.size());
  for (int64_t g = 0; g < groups.numGroups(); ++g) {
    auto members = groups.members(g);
    double sum = 0, sq = 0;
    for (int64_t i : members) sum += x[size_t(i)];
    double mean = sum / double(members.size());
    for (int64_t i : members) sq += (x[size_t(i)] - mean) * (x[size_t(i)] - mean);
    double stdDev = std::sqrt(sq / double(members.size()));
    for (int64_t i : members) y[size_t(i)] = (x[size_t(i)] - mean) / (stdDev + 1e-9);
  }
  ctx.setOutput(0, fromDoubles(xt.dtype(), xt.shape(), y));
}

const OpDef kMeanVarianceNormalizationDef{
    .name = "MeanVarianceNormalization", .minInputs = 1, .maxInputs = 1,
    .attrs = {{"axes", AttrKind::Ints, std::vector<int64_t>{0, 2, 3}}},
    .infer = inferMvn, .eval = evalMvn,
};

}  // namespace dlc::ir
