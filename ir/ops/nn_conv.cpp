// Conv and ConvTranspose over 1 to 3 spatial dims with groups, strides,
// dilations, pads / auto_pad and an optional bias. Kernels convert to
// double once and accumulate whole output planes in double.
#include <cmath>

#include "ir/ops/nn_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

std::vector<AttrSpec> convAttrs(bool transpose) {
  std::vector<AttrSpec> a = {
      {"auto_pad", AttrKind::String, std::string("NOTSET")},
      {"dilations", AttrKind::Ints, std::nullopt, true},
      {"group", AttrKind::Int, int64_t(1)},
      {"kernel_shape", AttrKind::Ints, std::nullopt, true},
      {"pads", AttrKind::Ints, std::nullopt, true},
      {"strides", AttrKind::Ints, std::nullopt, true},
  };
  if (transpose) {
    a.push_back({"output_padding", AttrKind::Ints, std::nullopt, true});
    a.push_back({"output_shape", AttrKind::Ints, std::nullopt, true});
  }
  return a;
}

// The kernel's spatial extents: the kernel_shape attribute, else the weight's
// spatial dims (nullopt if neither is known).
std::optional<std::vector<int64_t>> kernelExtents(const Node& node, const std::optional<Shape>& weightShape,
                                                  size_t spatialRank) {
  if (node.hasAttr("kernel_shape")) return node.attrInts("kernel_shape");
  if (!weightShape || weightShape->rank() != spatialRank + 2) return std::nullopt;
  std::vector<int64_t> k;
  for (size_t i = 2; i < weightShape->rank(); ++i) {
    if (!(*weightShape)[i].isStatic()) return std::nullopt;
    k.push_back((*weightShape)[i].value());
  }
  return k;
}

// The outputs o in [0, outExtent) with 0 <= o * stride + offset < inExtent.
std::pair<int64_t, int64_t> validOutputs(int64_t offset, int64_t stride, int64_t inExtent, int64_t outExtent) {
  int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t last = inExtent - 1 - offset;  // o * stride <= last
  int64_t hi = last < 0 ? 0 : last / stride + 1;
  return {lo, std::min(hi, outExtent)};
}

void checkFloatOperands(const InferContext& ctx) {
  requireFloatInput(ctx, 0, "X");
  for (size_t i = 1; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i) && ctx.inputDType(i) != ctx.inputDType(0))
      ctx.fail("input {} must have the dtype of X ({}), found {}", i, dtypeName(ctx.inputDType(0)),
               dtypeName(ctx.inputDType(i)));
}

void inferConv(InferContext& ctx) {
  checkFloatOperands(ctx);
  auto shape = convShape(ctx, 0, 1);
  ctx.setOutput(0, shape ? TensorType(ctx.inputDType(0), *shape) : TensorType::unranked(ctx.inputDType(0)));
}

void evalConv(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (bias && (bias->rank() != 1 || w.rank() == 0 || bias->dim(0) != w.dim(0)))
    ctx.fail("B must have shape [{}], found {}", w.rank() ? w.dim(0) : 0, extentsStr(bias->shape()));
  std::vector<double> bd = bias ? toDoubles(*bias) : std::vector<double>{};
  std::vector<int64_t> yShape;
  std::vector<double> yd = convolve(ctx.node(), toDoubles(x), x.shape(), toDoubles(w), w.shape(),
                                    bias ? bd.data() : nullptr, yShape);
  ctx.setOutput(0, fromDoubles(x.dtype(), yShape, yd, true));
}

// ConvTranspose geometry for one spatial dim: output extent and begin pad.
struct TransposeDim {
  int64_t output, padBegin;
};

std::vector<TransposeDim> convTransposeDims(const Node& node, const WindowAttrs& w, const std::vector<int64_t>& in) {
  size_t n = in.size();
  std::vector<int64_t> outPadding(n, 0), outShape;
  if (node.hasAttr("output_padding")) {
    outPadding = node.attrInts("output_padding");
    if (outPadding.size() != n)
      throwUserError("{}: output_padding must have {} entries, found {}", node.describe(), n, outPadding.size());
  }
  if (node.hasAttr("output_shape")) {
    outShape = node.attrInts("output_shape");
    if (outShape.size() == n + 2) outShape.erase(outShape.begin(), outShape.begin() + 2);
    if (outShape.size() != n)
      throwUserError("{}: output_shape must have {} entries, found {}", node.describe(), n, outShape.size());
  }
  bool same = (w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER") && !node.hasAttr("pads");
  std::vector<TransposeDim> dims;
  for (size_t i = 0; i < n; ++i) {
    int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t full = w.strides[i] * (in[i] - 1) + outPadding[i] + span;  // the unpadded output extent
    TransposeDim d{};
    if (same) {
      d.output = outShape.empty() ? in[i] * w.strides[i] : outShape[i];
      int64_t total = full - d.output;
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor division
      d.padBegin = w.autoPad == "SAME_UPPER" ? half : total - half;
    } else {
      bool valid = w.autoPad == "VALID";
      d.padBegin = valid ? 0 : w.pads[i];
      d.output = outShape.empty() ? full - d.padBegin - (valid ? 0 : w.pads[i + n]) : outShape[i];
    }
    if (d.output <= 0)
      throwUserError("{}: spatial dim {} of the output would have extent {}", node.describe(), i, d.output);
    dims.push_back(d);
  }
  return dims;
}

void inferConvTranspose(InferContext& ctx) {
  checkFloatOperands(ctx);
  DType t = ctx.inputDType(0);
  const Shape* xs = rankedAtLeast(ctx, 0, 3, "X");
  const auto& ws = ctx.inputShape(1);
  if (!xs) return ctx.setOutput(0, TensorType::unranked(t));
  size_t spatial = xs->rank() - 2;
  if (ws && ws->rank() != xs->rank())
    ctx.fail("W must have the rank of X ({}), found {}", xs->rank(), ws->str());
  int64_t group = ctx.node().attrInt("group");
  if (group <= 0) ctx.fail("group must be positive, found {}", group);
  if (ws && (*xs)[1].isStatic() && (*ws)[0].isStatic() && (*xs)[1].value() != (*ws)[0].value())
    ctx.fail("X has {} channels but W {} expects {}", (*xs)[1].str(), ws->str(), (*ws)[0].str());
  Dim channels = ws && (*ws)[1].isStatic() ? Dim((*ws)[1].value() * group) : Dim::unknown();
  std::vector<Dim> dims = {(*xs)[0], channels};
  auto kernel = kernelExtents(ctx.node(), ws, spatial);
  std::vector<int64_t> in;
  for (size_t i = 2; i < xs->rank(); ++i)
    if ((*xs)[i].isStatic()) in.push_back((*xs)[i].value());
  if (kernel && in.size() == spatial) {
    WindowAttrs w = readWindowAttrs(ctx.node(), spatial, *kernel);
    for (const TransposeDim& d : convTransposeDims(ctx.node(), w, in)) dims.push_back(d.output);
  } else if (ctx.node().hasAttr("output_shape") && ctx.node().attrInts("output_shape").size() >= spatial) {
    // The requested output extents hold whatever the input extents are.
    const std::vector<int64_t>& requested = ctx.node().attrInts("output_shape");
    for (size_t i = requested.size() - spatial; i < requested.size(); ++i) dims.push_back(requested[i]);
  } else {
    dims.resize(xs->rank(), Dim::unknown());
  }
  ctx.setOutput(0, TensorType(t, Shape(dims)));
}

void evalConvTranspose(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  if (x.rank() < 3 || w.rank() != x.rank())
    ctx.fail("X must have rank >= 3 and W the same rank, found {} and {}", extentsStr(x.shape()),
             extentsStr(w.shape()));
  size_t spatial = x.rank() - 2;
  int64_t batch = x.dim(0), channels = x.dim(1);
  int64_t group = ctx.node().attrInt("group");
  if (group <= 0 || w.dim(0) != channels || channels % group != 0)
    ctx.fail("X of shape {} and W of shape {} do not match with group {}", extentsStr(x.shape()),
             extentsStr(w.shape()), group);
  int64_t mPerGroup = w.dim(1), outChannels = mPerGroup * group, cPerGroup = channels / group;
  std::vector<int64_t> wSpatial(w.shape().begin() + 2, w.shape().end());
  if (ctx.node().hasAttr("kernel_shape") && ctx.node().attrInts("kernel_shape") != wSpatial)
    ctx.fail("kernel_shape {} differs from W's spatial dims {}", extentsStr(ctx.node().attrInts("kernel_shape")),
             extentsStr(wSpatial));
  WindowAttrs attrs = readWindowAttrs(ctx.node(), spatial, wSpatial);
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end()), out, padBegin;
  for (const TransposeDim& d : convTransposeDims(ctx.node(), attrs, in)) {
    out.push_back(d.output);
    padBegin.push_back(d.padBegin);
  }
  Window3 g = makeWindow3(in, out, attrs, padBegin, std::vector<int64_t>(spatial, 0));
  const Tensor* bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (bias && (bias->rank() != 1 || bias->dim(0) != outChannels))
    ctx.fail("B must have shape [{}], found {}", outChannels, extentsStr(bias->shape()));

  std::vector<double> xd = toDoubles(x), wd = toDoubles(w), bd = bias ? toDoubles(*bias) : std::vector<double>{};
  int64_t inSize = g.inSize(), outSize = g.outSize(), kSize = g.kernelSize();
  std::vector<double> yd(size_t(batch * outChannels * outSize));
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t oc = 0; oc < outChannels; ++oc) {
      double* y = yd.data() + (n * outChannels + oc) * outSize;
      std::fill(y, y + outSize, bias ? bd[size_t(oc)] : 0.0);
      int64_t grp = oc / mPerGroup, ocg = oc % mPerGroup;
      for (int64_t icg = 0; icg < cPerGroup; ++icg) {
        int64_t ic = grp * cPerGroup + icg;
        const double* xp = xd.data() + (n * channels + ic) * inSize;
        const double* wk = wd.data() + (ic * mPerGroup + ocg) * kSize;
        // Input position i scatters to output i * stride + k * dilation - padBegin.
        for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0)
          for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1)
            for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
              double wv = wk[(k0 * g.kernel[1] + k1) * g.kernel[2] + k2];
              int64_t off0 = k0 * g.dilation[0] - g.padBegin[0], off1 = k1 * g.dilation[1] - g.padBegin[1],
                      off2 = k2 * g.dilation[2] - g.padBegin[2];
              auto [lo0, hi0] = validOutputs(off0, g.stride[0], g.out[0], g.in[0]);
              auto [lo1, hi1] = validOutputs(off1, g.stride[1], g.out[1], g.in[1]);
              auto [lo2, hi2] = validOutputs(off2, g.stride[2], g.out[2], g.in[2]);
              for (int64_t i0 = lo0; i0 < hi0; ++i0)
                for (int64_t i1 = lo1; i1 < hi1; ++i1) {
                  const double* xrow = xp + (i0 * g.in[1] + i1) * g.in[2];
                  double* yrow = y + ((i0 * g.stride[0] + off0) * g.out[1] + i1 * g.stride[1] + off1) * g.out[2];
                  for (int64_t i2 = lo2; i2 < hi2; ++i2) yrow[i2 * g.stride[2] + off2] += wv * xrow[i2];
                }
            }
      }
    }
  std::vector<int64_t> yShape = {batch, outChannels};
  yShape.insert(yShape.end(), out.begin(), out.end());
  ctx.setOutput(0, fromDoubles(x.dtype(), yShape, yd, true));
}

}  // namespace

namespace ops {

std::optional<Shape> convShape(const InferContext& ctx, size_t xi, size_t wi) {
  const Shape* xs = rankedAtLeast(ctx, xi, 3, "X");
  const auto& ws = ctx.inputShape(wi);
  if (!xs) return std::nullopt;
  size_t spatial = xs->rank() - 2;
  if (ws && ws->rank() != xs->rank())
    ctx.fail("W must have the rank of X ({}), found {}", xs->rank(), ws->str());
  int64_t group = ctx.node().attrInt("group");
  if (group <= 0) ctx.fail("group must be positive, found {}", group);
  if (ws && (*xs)[1].isStatic() && (*ws)[1].isStatic() && (*xs)[1].value() != (*ws)[1].value() * group)
    ctx.fail("X has {} channels but W {} with group {} expects {}", (*xs)[1].str(), ws->str(), group,
             (*ws)[1].value() * group);
  std::vector<Dim> dims = {(*xs)[0], ws ? (*ws)[0] : Dim::unknown()};
  auto kernel = kernelExtents(ctx.node(), ws, spatial);
  if (kernel) {
    WindowAttrs w = readWindowAttrs(ctx.node(), spatial, *kernel);
    for (const Dim& d : windowOutputDims(w, *xs)) dims.push_back(d);
  } else {
    dims.resize(xs->rank(), Dim::unknown());
  }
  return Shape(dims);
}

std::vector<double> convolve(const Node& node, const std::vector<double>& xd, const std::vector<int64_t>& xShape,
                             const std::vector<double>& wd, const std::vector<int64_t>& wShape, const double* bias,
                             std::vector<int64_t>& yShape) {
  if (xShape.size() < 3 || wShape.size() != xShape.size())
    throwUserError("X must have rank >= 3 and W the same rank, found {} and {}", extentsStr(xShape),
                   extentsStr(wShape));
  size_t spatial = xShape.size() - 2;
  int64_t batch = xShape[0], channels = xShape[1], outChannels = wShape[0];
  int64_t group = node.attrInt("group");
  if (group <= 0 || channels % group != 0 || outChannels % group != 0 || wShape[1] * group != channels)
    throwUserError("X of shape {} and W of shape {} do not match with group {}", extentsStr(xShape),
                   extentsStr(wShape), group);
  std::vector<int64_t> wSpatial(wShape.begin() + 2, wShape.end());
  if (node.hasAttr("kernel_shape") && node.attrInts("kernel_shape") != wSpatial)
    throwUserError("kernel_shape {} differs from W's spatial dims {}", extentsStr(node.attrInts("kernel_shape")),
                   extentsStr(wSpatial));
  WindowAttrs attrs = readWindowAttrs(node, spatial, wSpatial);
  std::vector<int64_t> in(xShape.begin() + 2, xShape.end()), out, padBegin, padEnd;
  for (size_t i = 0; i < spatial; ++i) {
    WindowDim d = windowDim(attrs, i, in[i]);
    out.push_back(d.output);
    padBegin.push_back(d.padBegin);
    padEnd.push_back(d.padEnd);
  }
  Window3 g = makeWindow3(in, out, attrs, padBegin, padEnd);
  int64_t inSize = g.inSize(), outSize = g.outSize(), kSize = g.kernelSize();
  int64_t cPerGroup = channels / group, mPerGroup = outChannels / group;
  std::vector<double> yd(size_t(batch * outChannels * outSize));
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t oc = 0; oc < outChannels; ++oc) {
      double* y = yd.data() + (n * outChannels + oc) * outSize;
      std::fill(y, y + outSize, bias ? bias[oc] : 0.0);
      int64_t grp = oc / mPerGroup;
      for (int64_t icg = 0; icg < cPerGroup; ++icg) {
        const double* xp = xd.data() + (n * channels + grp * cPerGroup + icg) * inSize;
        const double* wk = wd.data() + (oc * cPerGroup + icg) * kSize;
        for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
          int64_t off0 = k0 * g.dilation[0] - g.padBegin[0];
          auto [lo0, hi0] = validOutputs(off0, g.stride[0], g.in[0], g.out[0]);
          for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
            int64_t off1 = k1 * g.dilation[1] - g.padBegin[1];
            auto [lo1, hi1] = validOutputs(off1, g.stride[1], g.in[1], g.out[1]);
            for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
              int64_t off2 = k2 * g.dilation[2] - g.padBegin[2];
              auto [lo2, hi2] = validOutputs(off2, g.stride[2], g.in[2], g.out[2]);
              double wv = wk[(k0 * g.kernel[1] + k1) * g.kernel[2] + k2];
              for (int64_t o0 = lo0; o0 < hi0; ++o0)
                for (int64_t o1 = lo1; o1 < hi1; ++o1) {
                  const double* xrow = xp + ((o0 * g.stride[0] + off0) * g.in[1] + o1 * g.stride[1] + off1) * g.in[2];
                  double* yrow = y + (o0 * g.out[1] + o1) * g.out[2];
                  for (int64_t o2 = lo2; o2 < hi2; ++o2) yrow[o2] += wv * xrow[o2 * g.stride[2] + off2];
                }
            }
          }
        }
      }
    }
  yShape = {batch, outChannels};
  yShape.insert(yShape.end(), out.begin(), out.end());
  return yd;
}

}  // namespace ops


// Gradient rule of Conv (any groups, strides, dilations, pads), with Conv
// and ConvTranspose:
//  dX = ConvTranspose(g, W) with the forward geometry (output_padding makes
//       up the rows the forward window skipped);
//  dW = a Conv of X by g with strides and dilations swapped, per group:
//       X as [Ci/G, G*N, S...] and g as [Co, N, So...] (batch as channels),
//       the result [Ci/G, Co, K'...] cropped to K and transposed;
//  dB = g summed over batch and space.
static std::vector<Value*> gradConv(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  const Node& n = ctx.node();
  Value *x = ctx.input(0), *w = ctx.input(1), *g = ctx.outputGrad(0);
  if (!w->type().isStatic() || !ctx.output(0)->type().isStatic() || !x->type().isStatic())
    ctx.fail("the gradient of Conv needs static shapes");
  std::vector<int64_t> xs = x->type().shape->extents(), ws = w->type().shape->extents(),
                       ys = ctx.output(0)->type().shape->extents();
  size_t sr = xs.size() - 2;
  std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
  WindowAttrs wa = readWindowAttrs(n, sr, kernel);
  std::vector<int64_t> pb(sr), pe(sr), outPad(sr);
  for (size_t i = 0; i < sr; ++i) {
    WindowDim d = windowDim(wa, i, xs[2 + i]);
    pb[i] = d.padBegin;
    pe[i] = d.padEnd;
    int64_t covered = wa.strides[i] * (ys[2 + i] - 1) + (kernel[i] - 1) * wa.dilations[i] + 1 - pb[i] - pe[i];
    outPad[i] = xs[2 + i] - covered;
  }
  std::vector<int64_t> pads = pb;
  pads.insert(pads.end(), pe.begin(), pe.end());
  int64_t groups = n.attrInt("group"), ci = xs[1], co = ws[0];
  Value *dx = nullptr, *dw = nullptr, *db = nullptr;
  if (ctx.needsGrad(0)) {
    Attributes at;
    at.set("strides", wa.strides);
    at.set("dilations", wa.dilations);
    at.set("pads", pads);
    at.set("group", groups);
    at.set("output_padding", outPad);
    dx = b.op(OpKind::ConvTranspose, {g, w}, std::move(at));
  }
  if (ctx.needsGrad(1)) {
    std::vector<int64_t> spatialPerm;
    for (size_t i = 0; i < sr; ++i) spatialPerm.push_back(int64_t(3 + i));
    auto shape = [&](std::vector<int64_t> head, const std::vector<int64_t>& full) {
      head.insert(head.end(), full.begin() + 2, full.end());
      return b.ints(head);
    };
    // X [N, Ci, S] -> [N, G, Ci/G, S] -> [Ci/G, G, N, S] -> [Ci/G, G*N, S]
    Value* xg = b.reshape(x, shape({0, groups, ci / groups}, xs));
    std::vector<int64_t> px{2, 1, 0};
    px.insert(px.end(), spatialPerm.begin(), spatialPerm.end());
    xg = b.reshape(b.transpose(xg, px), shape({ci / groups, -1}, xs));
    // g [N, Co, So] -> [N, G, Co/G, So] -> [G, Co/G, N, So] -> [Co, N, So]
    Value* gg = b.reshape(g, shape({0, groups, co / groups}, ys));
    std::vector<int64_t> pg{1, 2, 0};
    pg.insert(pg.end(), spatialPerm.begin(), spatialPerm.end());
    gg = b.reshape(b.transpose(gg, pg), shape({co, -1}, ys));
    Attributes at;
    at.set("strides", wa.dilations);
    at.set("dilations", wa.strides);
    at.set("pads", pads);
    at.set("group", groups);
    Value* full = b.op(OpKind::Conv, {xg, gg}, std::move(at));  // [Ci/G, Co, K'...]
    std::vector<int64_t> zeros(sr, 0), axes;
    for (size_t i = 0; i < sr; ++i) axes.push_back(int64_t(2 + i));
    Value* cropped = b.op(OpKind::Slice, {full, b.ints(zeros), b.ints(kernel), b.ints(axes)});
    std::vector<int64_t> pw{1, 0};
    pw.insert(pw.end(), axes.begin(), axes.end());
    dw = b.transpose(cropped, pw);
  }
  if (ctx.needsGrad(2)) {
    std::vector<int64_t> axes{0};
    for (size_t i = 0; i < sr; ++i) axes.push_back(int64_t(2 + i));
    db = b.reduceSum(g, axes, false);
  }
  return {dx, dw, db};
}

const OpDef kConvDef{
    .name = "Conv", .minInputs = 2, .maxInputs = 3, .traits = kDifferentiable,
    .attrs = convAttrs(false),
    .infer = inferConv,
    .eval = evalConv,
    .grad = gradConv,
};

const OpDef kConvTransposeDef{
    .name = "ConvTranspose", .minInputs = 2, .maxInputs = 3,
    .attrs = convAttrs(true),
    .infer = inferConvTranspose,
    .eval = evalConvTranspose,
};

}  // namespace dlc::ir
