// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: input (N, C, d1..dk)
// scores, target (N, d1..dk) class indices, optional per-class weights;
// reduction none / sum / mean (mean divides by the total weight of the
// targets that are not ignore_index).
#include "ir/ops/reduction_util.h"

namespace dlc::ir {
using namespace ops;

static std::vector<AttrSpec> lossAttrs() {
  return {{"reduction", AttrKind::String, std::string("mean")},
          {"ignore_index", AttrKind::Int, std::nullopt, /*optional=*/true}};
}

static bool reducesToScalar(const Node& node) {
  const std::string& reduction = node.attrString("reduction");
  if (reduction == "none") return false;
  if (reduction == "sum" || reduction == "mean") return true;
  throwUserError("reduction is '{}', expected 'none', 'sum' or 'mean'", reduction);
}

// Checks the operand types and shapes; sets output 0 (the loss). The scores
// input is input 0, the target input 1, the weights (optional) input 2.
static void inferLoss(InferContext& ctx) {
  requireFloat(ctx, 0, "input");
  requireMinRank(ctx, 0, 2, "input");
  requireIndexType(ctx, 1, "target");
  const auto& in = ctx.inputShape(0);
  const auto& target = ctx.inputShape(1);
  if (in && target) {
    bool ok = target->rank() + 1 == in->rank();
    for (size_t i = 0; ok && i < target->rank(); ++i) {
      const Dim& t = (*target)[i];
      const Dim& x = (*in)[i == 0 ? 0 : i + 1];
      if (t.isStatic() && x.isStatic() && t.value() != x.value()) ok = false;
    }
    if (!ok) ctx.fail("target has shape {}, expected the input's shape {} without dim 1", target->str(), in->str());
  }
  if (ctx.hasInput(2)) {
    requireFloat(ctx, 2, "weight");
    requireVectorOf(ctx, 2, in ? (*in)[1] : Dim::unknown(), "weight");
  }
  DType dtype = ctx.inputDType(0);
  if (reducesToScalar(ctx.node())) ctx.setOutput(0, TensorType(dtype, Shape()));
  else if (target) ctx.setOutput(0, TensorType(dtype, *target));
  else ctx.setOutput(0, TensorType::unranked(dtype));
}

// The loss from log-probabilities `logProb` laid out as the input (N, C, ...).
static Tensor nllLoss(const EvalContext& ctx, const std::vector<double>& logProb, const Tensor& input) {
  const Tensor& target = ctx.input(1);
  std::vector<int64_t> expected = input.shape();
  expected.erase(expected.begin() + 1);
  if (target.shape() != expected)
    ctx.fail("target has shape [{}], expected [{}] (the input's shape without dim 1)", fmt::join(target.shape(), ","),
             fmt::join(expected, ","));
  int64_t classes = input.dim(1);
  std::vector<double> weight(size_t(classes), 1.0);
  if (ctx.hasInput(2)) {
    requireVectorOf(ctx, 2, classes, "weight");
    weight = toDoubles(ctx.input(2));
  }
  const Node& node = ctx.node();
  std::optional<int64_t> ignoreIndex;
  if (node.hasAttr("ignore_index")) ignoreIndex = node.attrInt("ignore_index");
  AxisSplit split = splitAtAxis(input.shape(), 1);
  std::vector<double> loss(size_t(target.numel()));
  double lossSum = 0, weightSum = 0;
  for (int64_t n = 0; n < split.outer; ++n)
    for (int64_t d = 0; d < split.inner; ++d) {
      size_t at = size_t(n * split.inner + d);
      int64_t t = target.getInt(int64_t(at));
      if (ignoreIndex && t == *ignoreIndex) continue;
      if (t < 0 || t >= classes)
        ctx.fail("target value {} at flat index {} is out of range [0, {})", t, at, classes);
      double w = weight[size_t(t)];
      loss[at] = -w * logProb[size_t(split.offset(n, t, d))];
      lossSum += loss[at];
      weightSum += w;
    }
  const std::string& reduction = node.attrString("reduction");
  if (!reducesToScalar(node)) return fromDoubles(input.dtype(), target.shape(), loss);
  double value = reduction == "sum" ? lossSum : lossSum / weightSum;  // mean of nothing: NaN
  return fromDoubles(input.dtype(), {}, {value});
}

static void evalNll(EvalContext& ctx) {
  requireFloat(ctx, 0, "input");
  requireMinRank(ctx, 0, 2, "input");
  const Tensor& input = ctx.input(0);
  ctx.setOutput(0, nllLoss(ctx, toDoubles(input), input));
}

const OpDef kNegativeLogLikelihoodLossDef{
    .name = "NegativeLogLikelihoodLoss", .minInputs = 2, .maxInputs = 3,
    .attrs = lossAttrs(),
    .infer = inferLoss, .eval = evalNll,
};

static void inferSce(InferContext& ctx) {
  inferLoss(ctx);
  if (ctx.numOutputs() > 1) ctx.setOutput(1, ctx.inputType(0));
}

static void evalSce(EvalContext& ctx) {
  requireFloat(ctx, 0, "scores");
  requireMinRank(ctx, 0, 2, "scores");
  const Tensor& scores = ctx.input(0);
  // log_softmax over the class axis, with the maximum subtracted.
  std::vector<double> x = toDoubles(scores);
  AxisSplit split = splitAtAxis(scores.shape(), 1);
  std::vector<double> logProb(x.size());
  for (int64_t n = 0; n < split.outer; ++n)
    for (int64_t d = 0; d < split.inner; ++d) {
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < split.extent; ++c) m = std::max(m, x[size_t(split.offset(n, c, d))]);
      if (!std::isfinite(m)) m = 0;
      double sum = 0;
      for (int64_t c = 0; c < split.extent; ++c) sum += std::exp(x[size_t(split.offset(n, c, d))] - m);
      double logSum = std::log(sum);
      for (int64_t c = 0; c < split.extent; ++c) {
        size_t at = size_t(split.offset(n, c, d));
        logProb[at] = x[at] - m - logSum;
      }
    }
  ctx.setOutput(0, nllLoss(ctx, logProb, scores));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, fromDoubles(scores.dtype(), scores.shape(), logProb));
}

const OpDef kSoftmaxCrossEntropyLossDef{
    .name = "SoftmaxCrossEntropyLoss", .minInputs = 2, .maxInputs = 3, .minOutputs = 1, .maxOutputs = 2,
    .attrs = lossAttrs(),
    .infer = inferSce, .eval = evalSce,
};

}  // namespace dlc::ir
