// BatchNormalization (opset-15 form, inference and training mode) and
// InstanceNormalization: per-channel normalisation of (N, C, D1, ...) inputs.
#include "ir/ops/reduction_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

// The channel extent of an (N, C, ...) input, or unknown.
static Dim channelDim(const InferContext& ctx) {
  const auto& s = ctx.inputShape(0);
  return s && s->rank() >= 2 ? (*s)[1] : Dim::unknown();
}

static void inferBatchNorm(InferContext& ctx) {
  requireFloat(ctx, 0, "X");
  requireMinRank(ctx, 0, 2, "X");
  static const char* const kNames[] = {"X", "scale", "B", "input_mean", "input_var"};
  Dim channels = channelDim(ctx);
  for (size_t i = 1; i < 5; ++i) {
    requireFloat(ctx, i, kNames[i]);
    requireVectorOf(ctx, i, channels, kNames[i]);
  }
  bool training = ctx.node().attrInt("training_mode") != 0;
  if (!training && ctx.numOutputs() > 1)
    ctx.fail("outputs running_mean and running_var are only produced with training_mode=1, found {} outputs",
             ctx.numOutputs());
  ctx.setOutput(0, ctx.inputType(0));
  for (size_t i = 1; i < ctx.numOutputs(); ++i)
    ctx.setOutput(i, TensorType(ctx.inputDType(2 + i), Shape(std::vector<Dim>{channels})));
}

static void evalBatchNorm(EvalContext& ctx) {
  requireFloat(ctx, 0, "X");
  requireMinRank(ctx, 0, 2, "X");
  const Tensor& xt = ctx.input(0);
  int64_t channels = xt.dim(1);
  static const char* const kNames[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) requireVectorOf(ctx, i, channels, kNames[i]);
  std::vector<double> x = toDoubles(xt), scale = toDoubles(ctx.input(1)), bias = toDoubles(ctx.input(2));
  std::vector<double> mean = toDoubles(ctx.input(3)), var = toDoubles(ctx.input(4));
  double epsilon = ctx.node().attrFloat("epsilon");
  double momentum = ctx.node().attrFloat("momentum");
  bool training = ctx.node().attrInt("training_mode") != 0;
  AxisSplit split = splitAtAxis(xt.shape(), 1);
  std::vector<double> runningMean = mean, runningVar = var;
  if (training) {
    // Normalise with the batch statistics (population variance) and blend
    // them into the running statistics.
    double count = double(split.outer * split.inner);
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < split.outer; ++n)
        for (int64_t j = 0; j < split.inner; ++j) sum += x[size_t(split.offset(n, c, j))];
      double batchMean = sum / count;
      for (int64_t n = 0; n < split.outer; ++n)
        for (int64_t j = 0; j < split.inner; ++j) {
          double d = x[size_t(split.offset(n, c, j))] - batchMean;
          sq += d * d;
        }
      double batchVar = sq / count;
      runningMean[size_t(c)] = mean[size_t(c)] * momentum + batchMean * (1 - momentum);
      runningVar[size_t(c)] = var[size_t(c)] * momentum + batchVar * (1 - momentum);
      mean[size_t(c)] = batchMean;
      var[size_t(c)] = batchVar;
    }
  }
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < split.outer; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      double invStd = 1.0 / std::sqrt(var[size_t(c)] + epsilon);
      for (int64_t j = 0; j < split.inner; ++j) {
        size_t at = size_t(split.offset(n, c, j));
        y[at] = (x[at] - mean[size_t(c)]) * invStd * scale[size_t(c)] + bias[size_t(c)];
      }
    }
  ctx.setOutput(0, fromDoubles(xt.dtype(), xt.shape(), y));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, fromDoubles(ctx.input(3).dtype(), {channels}, runningMean));
  if (ctx.numOutputs() > 2) ctx.setOutput(2, fromDoubles(ctx.input(4).dtype(), {channels}, runningVar));
}


// Gradient rule of BatchNormalization for Y (batch statistics in training
// mode, the running ones otherwise); the running statistics get none.
static std::vector<Value*> gradBatchNorm(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  const Node& n = ctx.node();
  Value *x = ctx.input(0), *g = ctx.outputGrad(0);
  if (!g) ctx.fail("no gradient rule for the running statistics of BatchNormalization");
  int64_t r = rankOf(x);
  double eps = n.attrFloat("epsilon");
  std::vector<int64_t> axes{0}, expand{0};
  for (int64_t i = 2; i < r; ++i) {
    axes.push_back(i);
    expand.push_back(i);
  }
  auto perChannel = [&](Value* v) { return b.op(OpKind::Unsqueeze, {v, b.ints(expand)}); };
  Value* scale = perChannel(ctx.input(1));
  NormStats s;
  Value* dx = nullptr;
  if (n.attrInt("training_mode") != 0) {
    s = normStats(b, x, axes, eps);
    if (ctx.needsGrad(0)) dx = normInputGrad(b, s, b.mul(g, scale), axes);
  } else {
    s.rstd = b.unary(OpKind::Reciprocal,
                     b.unary(OpKind::Sqrt, b.add(perChannel(ctx.input(4)), b.scalarLike(x, eps))));
    s.xhat = b.mul(b.sub(x, perChannel(ctx.input(3))), s.rstd);
    if (ctx.needsGrad(0)) dx = b.mul(g, b.mul(scale, s.rstd));
  }
  Value* dscale = ctx.needsGrad(1) ? b.reduceSum(b.mul(g, s.xhat), axes, false) : nullptr;
  Value* dbias = ctx.needsGrad(2) ? b.reduceSum(g, axes, false) : nullptr;
  return {dx, dscale, dbias, nullptr, nullptr};
}

const OpDef kBatchNormalizationDef{
    .name = "BatchNormalization", .minInputs = 5, .maxInputs = 5, .minOutputs = 1, .maxOutputs = 3,
    .traits = kDifferentiable,
    .attrs = {{"epsilon", AttrKind::Float, 1e-5},
              {"momentum", AttrKind::Float, 0.9},
              {"training_mode", AttrKind::Int, int64_t(0)}},
    .infer = inferBatchNorm, .eval = evalBatchNorm,
    .grad = gradBatchNorm,
};

static void inferInstanceNorm(InferContext& ctx) {
  requireFloat(ctx, 0, "input");
  requireMinRank(ctx, 0, 2, "input");
  Dim channels = channelDim(ctx);
  requireFloat(ctx, 1, "scale");
  requireVectorOf(ctx, 1, channels, "scale");
  requireFloat(ctx, 2, "B");
  requireVectorOf(ctx, 2, channels, "B");
  ctx.setOutput(0, ctx.inputType(0));
}

static void evalInstanceNorm(EvalContext& ctx) {
  requireFloat(ctx, 0, "input");
  requireMinRank(ctx, 0, 2, "input");
  const Tensor& xt = ctx.input(0);
  int64_t channels = xt.dim(1);
  requireVectorOf(ctx, 1, channels, "scale");
  requireVectorOf(ctx, 2, channels, "B");
  std::vector<double> x = toDoubles(xt), scale = toDoubles(ctx.input(1)), bias = toDoubles(ctx.input(2));
  double epsilon = ctx.node().attrFloat("epsilon");
  // Each (n, c) pair is a contiguous block of `spatial` elements.
  int64_t spatial = productOf(xt.shape(), 2, xt.rank());
  std::vector<double> y(x.size());
  for (int64_t block = 0; block < xt.dim(0) * channels; ++block) {
    size_t begin = size_t(block * spatial), end = begin + size_t(spatial);
    auto [mean, invStd] = meanInvStd(x, begin, end, epsilon);
    size_t c = size_t(block % channels);
    for (size_t i = begin; i < end; ++i) y[i] = (x[i] - mean) * invStd * scale[c] + bias[c];
  }
  ctx.setOutput(0, fromDoubles(xt.dtype(), xt.shape(), y));
}


// Gradient rule of InstanceNormalization: per (sample, channel) statistics
// over the spatial axes, per-channel scale and bias.
static std::vector<Value*> gradInstanceNorm(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *x = ctx.input(0), *g = ctx.outputGrad(0);
  int64_t r = rankOf(x);
  std::vector<int64_t> axes, expand{0}, reduceAll{0};
  for (int64_t i = 2; i < r; ++i) {
    axes.push_back(i);
    expand.push_back(i);
    reduceAll.push_back(i);
  }
  Value* scale = b.op(OpKind::Unsqueeze, {ctx.input(1), b.ints(expand)});
  NormStats s = normStats(b, x, axes, ctx.node().attrFloat("epsilon"));
  Value* dx = ctx.needsGrad(0) ? normInputGrad(b, s, b.mul(g, scale), axes) : nullptr;
  Value* dscale = ctx.needsGrad(1) ? b.reduceSum(b.mul(g, s.xhat), reduceAll, false) : nullptr;
  Value* dbias = ctx.needsGrad(2) ? b.reduceSum(g, reduceAll, false) : nullptr;
  return {dx, dscale, dbias};
}

const OpDef kInstanceNormalizationDef{
    .name = "InstanceNormalization", .minInputs = 3, .maxInputs = 3, .traits = kDifferentiable,
    .attrs = {{"epsilon", AttrKind::Float, 1e-5}},
    .infer = inferInstanceNorm, .eval = evalInstanceNorm,
    .grad = gradInstanceNorm,
};

}  // namespace dlc::ir
