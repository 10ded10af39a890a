// LayerNormalization (with optional Mean and InvStdDev outputs) and
// GroupNormalization (opset-21 form: per-channel scale and bias).
#include "ir/ops/reduction_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

// Checks that `param` (Scale or B) broadcasts unidirectionally to X's shape.
static void requireBroadcastsTo(const InferContext& ctx, size_t param, const char* what) {
  const auto& xs = ctx.inputShape(0);
  const auto& ps = ctx.inputShape(param);
  if (!xs || !ps) return;
  bool ok = ps->rank() <= xs->rank();
  for (size_t i = 0; ok && i < ps->rank(); ++i) {
    const Dim& p = (*ps)[ps->rank() - 1 - i];
    const Dim& x = (*xs)[xs->rank() - 1 - i];
    if (p.isStatic() && p.value() != 1 && x.isStatic() && p.value() != x.value()) ok = false;
  }
  if (!ok) ctx.fail("{} has shape {}, expected a shape that broadcasts to X's shape {}", what, ps->str(), xs->str());
}

static void inferLayerNorm(InferContext& ctx) {
  requireFloat(ctx, 0, "X");
  requireFloat(ctx, 1, "Scale");
  requireBroadcastsTo(ctx, 1, "Scale");
  if (ctx.hasInput(2)) {
    requireFloat(ctx, 2, "B");
    requireBroadcastsTo(ctx, 2, "B");
  }
  const TensorType& x = ctx.inputType(0);
  ctx.setOutput(0, x);
  if (ctx.numOutputs() == 1) return;
  DType statType = dtypeFromOnnxCode(ctx.node().attrInt("stash_type"));
  TensorType statsType = TensorType::unranked(statType);
  if (x.shape) {
    int64_t rank = int64_t(x.shape->rank());
    int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), rank);
    std::vector<Dim> dims = x.shape->dims();
    for (int64_t i = axis; i < rank; ++i) dims[size_t(i)] = Dim(1);
    statsType = TensorType(statType, Shape(dims));
  }
  for (size_t i = 1; i < ctx.numOutputs(); ++i) ctx.setOutput(i, statsType);
}

// The values of `param` broadcast to `shape`, element by element.
static std::vector<double> broadcastTo(const EvalContext& ctx, const Tensor& param,
                                       const std::vector<int64_t>& shape, const char* what) {
  std::vector<int64_t> target;
  try {
    target = broadcastExtents(shape, param.shape());
  } catch (const UserError&) {
    target.clear();
  }
  if (target != shape)
    ctx.fail("{} has shape [{}], expected a shape that broadcasts to [{}]", what, fmt::join(param.shape(), ","),
             fmt::join(shape, ","));
  std::vector<double> values = toDoubles(param);
  std::vector<int64_t> strides = broadcastStrides(param.shape(), shape);
  std::vector<double> out;
  out.reserve(size_t(checkedNumElements(shape)));
  forEachIndex(shape, [&](const std::vector<int64_t>& idx) { out.push_back(values[size_t(offsetOf(idx, strides))]); });
  return out;
}

static void evalLayerNorm(EvalContext& ctx) {
  requireFloat(ctx, 0, "X");
  const Tensor& xt = ctx.input(0);
  int64_t rank = int64_t(xt.rank());
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), rank);
  double epsilon = ctx.node().attrFloat("epsilon");
  DType statType = dtypeFromOnnxCode(ctx.node().attrInt("stash_type"));
  std::vector<double> x = toDoubles(xt);
  std::vector<double> scale = broadcastTo(ctx, ctx.input(1), xt.shape(), "Scale");
  std::vector<double> bias = ctx.hasInput(2) ? broadcastTo(ctx, ctx.input(2), xt.shape(), "B")
                                             : std::vector<double>(x.size(), 0.0);
  int64_t rows = productOf(xt.shape(), 0, size_t(axis));
  int64_t cols = productOf(xt.shape(), size_t(axis), size_t(rank));
  std::vector<double> y(x.size());
  std::vector<double> means(static_cast<size_t>(rows)), invStds(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    size_t begin = size_t(r * cols), end = begin + size_t(cols);
    double sum = 0, sq = 0;
    for (size_t i = begin; i < end; ++i) sum += x[i];
    double mean = sum / double(cols);
    for (size_t i = begin; i < end; ++i) sq += (x[i] - mean) * (x[i] - mean);
    double invStd = 1.0 / std::sqrt(sq / double(cols) + epsilon);
    for (size_t i = begin; i < end; ++i) y[i] = (x[i] - mean) * invStd * scale[i] + bias[i];
    means[size_t(r)] = mean;
    invStds[size_t(r)] = invStd;
  }
  ctx.setOutput(0, fromDoubles(xt.dtype(), xt.shape(), y));
  std::vector<int64_t> statShape = xt.shape();
  for (int64_t i = axis; i < rank; ++i) statShape[size_t(i)] = 1;
  if (ctx.numOutputs() > 1) ctx.setOutput(1, fromDoubles(statType, statShape, means));
  if (ctx.numOutputs() > 2) ctx.setOutput(2, fromDoubles(statType, statShape, invStds));
}


// Gradient rule of LayerNormalization for Y (Mean and InvStdDev get none).
static std::vector<Value*> gradLayerNorm(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  const Node& n = ctx.node();
  Value *x = ctx.input(0), *g = ctx.outputGrad(0);
  if (!g || ctx.outputGrad(1) || ctx.outputGrad(2))
    ctx.fail("no gradient rule for the Mean and InvStdDev results of LayerNormalization");
  int64_t r = rankOf(x);
  std::vector<int64_t> axes;
  for (int64_t i = normalizeAxis(n.attrInt("axis"), r); i < r; ++i) axes.push_back(i);
  NormStats s = normStats(b, x, axes, n.attrFloat("epsilon"));
  Value* scale = ctx.input(1);
  Value* dx = ctx.needsGrad(0) ? normInputGrad(b, s, b.mul(g, scale), axes) : nullptr;
  Value* dscale = ctx.needsGrad(1) ? unbroadcast(b, b.mul(g, s.xhat), scale) : nullptr;
  Value* dbias = ctx.needsGrad(2) ? unbroadcast(b, g, ctx.input(2)) : nullptr;
  return {dx, dscale, dbias};
}

const OpDef kLayerNormalizationDef{
    .name = "LayerNormalization", .minInputs = 2, .maxInputs = 3, .minOutputs = 1, .maxOutputs = 3,
    .traits = kDifferentiable,
    .attrs = {{"axis", AttrKind::Int, int64_t(-1)},
              {"epsilon", AttrKind::Float, 1e-5},
              {"stash_type", AttrKind::Int, int64_t(1)}},
    .infer = inferLayerNorm, .eval = evalLayerNorm,
    .grad = gradLayerNorm,
};

static void inferGroupNorm(InferContext& ctx) {
  requireFloat(ctx, 0, "X");
  requireMinRank(ctx, 0, 2, "X");
  int64_t groups = ctx.node().attrInt("num_groups");
  if (groups <= 0) ctx.fail("num_groups is {}, expected a positive number", groups);
  const auto& s = ctx.inputShape(0);
  Dim channels = s ? (*s)[1] : Dim::unknown();
  if (channels.isStatic() && channels.value() % groups != 0)
    ctx.fail("X has {} channels, expected a multiple of num_groups ({})", channels.value(), groups);
  requireFloat(ctx, 1, "scale");
  requireVectorOf(ctx, 1, channels, "scale");
  requireFloat(ctx, 2, "bias");
  requireVectorOf(ctx, 2, channels, "bias");
  dtypeFromOnnxCode(ctx.node().attrInt("stash_type"));
  ctx.setOutput(0, ctx.inputType(0));
}

static void evalGroupNorm(EvalContext& ctx) {
  requireFloat(ctx, 0, "X");
  requireMinRank(ctx, 0, 2, "X");
  const Tensor& xt = ctx.input(0);
  int64_t groups = ctx.node().attrInt("num_groups");
  int64_t channels = xt.dim(1);
  if (groups <= 0 || channels % groups != 0)
    ctx.fail("X has {} channels, expected a multiple of num_groups ({})", channels, groups);
  requireVectorOf(ctx, 1, channels, "scale");
  requireVectorOf(ctx, 2, channels, "bias");
  std::vector<double> x = toDoubles(xt), scale = toDoubles(ctx.input(1)), bias = toDoubles(ctx.input(2));
  double epsilon = ctx.node().attrFloat("epsilon");
  int64_t spatial = productOf(xt.shape(), 2, xt.rank());
  int64_t groupSize = channels / groups * spatial;  // contiguous elements of one (n, group)
  std::vector<double> y(x.size());
  for (int64_t block = 0; block < xt.dim(0) * groups; ++block) {
    size_t begin = size_t(block * groupSize), end = begin + size_t(groupSize);
    auto [mean, invStd] = meanInvStd(x, begin, end, epsilon);
    for (size_t i = begin; i < end; ++i) {
      size_t c = size_t((int64_t(i) / spatial) % channels);
      y[i] = (x[i] - mean) * invStd * scale[c] + bias[c];
    }
  }
  ctx.setOutput(0, fromDoubles(xt.dtype(), xt.shape(), y));
}

const OpDef kGroupNormalizationDef{
    .name = "GroupNormalization", .minInputs = 3, .maxInputs = 3,
    .attrs = {{"num_groups", AttrKind::Int, std::nullopt},
              {"epsilon", AttrKind::Float, 1e-5},
              {"stash_type", AttrKind::Int, int64_t(1)}},
    .infer = inferGroupNorm, .eval = evalGroupNorm,
};

}  // namespace dlc::ir
