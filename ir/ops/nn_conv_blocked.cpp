// BlockedConv: a 2-D convolution over channel-blocked tensors, the CPU's
// NCHWc layout (made by passes/blocked_layout.cpp; no ONNX op imports to it).
//
// A blocked tensor [N, Cb, H, W, B] holds channel c = cb * B + lane at
// [n, cb, h, w, lane]; lanes past the logical channel count are padding
// (zero wherever the layout pass makes them). B is the CPU's vector width
// in floats, so that one pixel's B channels are one vector register.
//
//  - Dense (depthwise = 0): X is blocked [N, ICb, H, W, B] or plain NCHW
//    [N, IC, H, W] (a network's first convolution, whose few input channels
//    would mostly be padding); W is [OCb, WCb, KH, KW, IB, B] with WCb = ICb
//    and IB = B for blocked X, WCb = 1 and IB = IC for plain X:
//      Y[n, ob, oh, ow, o] = sum over (cb, kh, kw, i) of
//        X(n, channel cb * IB + i, oh * sh - pt + kh * dh, ow * sw - pl + kw * dw) * W[ob, cb, kh, kw, i, o]
//    with X(...) = 0 outside the input (zero padding).
//  - Depthwise (depthwise = 1, one filter per channel): X [N, Cb, H, W, B],
//    W [Cb, KH, KW, B]:
//      Y[n, cb, oh, ow, l] = sum over (kh, kw) of X[n, cb, ih, iw, l] * W[cb, kh, kw, l].
// Y is [N, OCb, OH, OW, B] (depthwise: OCb = Cb) with the usual extents,
// OH = (H + pt + pb - dh * (KH - 1) - 1) / sh + 1. pads are [pt, pl, pb, pr].
// f32 only; no gradient (an inference layout).
#include "ir/ops/nn_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

struct BlockedGeometry {
  bool plainInput = false;
  int64_t batch = 0, inBlocks = 0, inChannelsPerBlock = 0, inH = 0, inW = 0;
  int64_t outBlocks = 0, lanes = 0, kernelH = 0, kernelW = 0;
  int64_t outH = 0, outW = 0;
  std::vector<int64_t> strides, pads, dilations;
};

// The geometry from static extents (UserError on a mismatch; the caller
// names the node).
BlockedGeometry geometry(const Node& node, const std::vector<int64_t>& xs, const std::vector<int64_t>& ws) {

  BlockedGeometry g;
  bool depthwise = node.attrInt("depthwise") != 0;
  g.strides = node.attrInts("strides");
  g.pads = node.attrInts("pads");
  g.dilations = node.attrInts("dilations");
  if (g.strides.size() != 2 || g.dilations.size() != 2 || g.pads.size() != 4)
    throwUserError("strides and dilations need 2 entries and pads 4, found {}, {} and {}", g.strides.size(),
         g.dilations.size(), g.pads.size());
  for (int64_t v : g.strides)
    if (v < 1) throwUserError("strides must be positive, found {}", extentsStr(g.strides));
  for (int64_t v : g.dilations)
    if (v < 1) throwUserError("dilations must be positive, found {}", extentsStr(g.dilations));
  for (int64_t v : g.pads)
    if (v < 0) throwUserError("pads must not be negative, found {}", extentsStr(g.pads));
  g.plainInput = xs.size() == 4;
  if (xs.size() != 5 && !(g.plainInput && !depthwise))
    throwUserError("X must be blocked [N, Cb, H, W, B]{}, found {}", depthwise ? "" : " or plain [N, C, H, W]", extentsStr(xs));
  g.batch = xs[0];
  g.inH = xs[2];
  g.inW = xs[3];
  if (depthwise) {
    if (ws.size() != 4 || ws[0] != xs[1] || ws[3] != xs[4])
      throwUserError("depthwise W must be [Cb, KH, KW, B] = [{}, KH, KW, {}], found {}", xs[1], xs[4], extentsStr(ws));
    g.inBlocks = g.outBlocks = xs[1];
    g.lanes = xs[4];
    g.inChannelsPerBlock = 1;
    g.kernelH = ws[1];
    g.kernelW = ws[2];
  } else {
    int64_t wBlocks = g.plainInput ? 1 : xs[1], perBlock = g.plainInput ? xs[1] : xs[4];
    if (ws.size() != 6 || ws[1] != wBlocks || ws[4] != perBlock || (!g.plainInput && ws[5] != xs[4]))
      throwUserError("W must be [OCb, {}, KH, KW, {}, B] for X {}, found {}", wBlocks, perBlock, extentsStr(xs), extentsStr(ws));
    g.inBlocks = wBlocks;
    g.inChannelsPerBlock = perBlock;
    g.outBlocks = ws[0];
    g.lanes = ws[5];
    g.kernelH = ws[2];
    g.kernelW = ws[3];
  }
  auto extent = [&](int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t padBegin, int64_t padEnd) {
    int64_t span = dilation * (k - 1) + 1;
    if (k < 1 || in + padBegin + padEnd < span)
      throwUserError("a {}-tap window with dilation {} does not fit an extent of {} padded by {} and {}", k, dilation, in,
           padBegin, padEnd);
    return (in + padBegin + padEnd - span) / stride + 1;
  };
  g.outH = extent(g.inH, g.kernelH, g.strides[0], g.dilations[0], g.pads[0], g.pads[2]);
  g.outW = extent(g.inW, g.kernelW, g.strides[1], g.dilations[1], g.pads[1], g.pads[3]);
  return g;
}

void inferBlockedConv(InferContext& ctx) {
  if (ctx.inputDType(0) != DType::F32 || ctx.inputDType(1) != DType::F32)
    ctx.fail("X and W must be f32, found {} and {}", dtypeName(ctx.inputDType(0)), dtypeName(ctx.inputDType(1)));
  const auto& xs = ctx.inputShape(0);
  const auto& ws = ctx.inputShape(1);
  if (!xs || !ws || !ws->isStatic())
    ctx.fail("X must be ranked and W static, found {} and {}", ctx.inputType(0).str(), ctx.inputType(1).str());
  for (size_t i = 1; i < xs->rank(); ++i)
    if (!(*xs)[i].isStatic()) ctx.fail("X must be static but for its batch dim, found {}", xs->str());
  std::vector<int64_t> xe{1};
  for (size_t i = 1; i < xs->rank(); ++i) xe.push_back((*xs)[i].value());
  BlockedGeometry g = geometry(ctx.node(), xe, ws->extents());
  ctx.setOutput(0, TensorType(DType::F32, Shape({(*xs)[0], Dim(g.outBlocks), Dim(g.outH), Dim(g.outW), Dim(g.lanes)})));
}

void evalBlockedConv(EvalContext& ctx) {
  const Tensor& xt = ctx.input(0);
  const Tensor& wt = ctx.input(1);
  BlockedGeometry g = geometry(ctx.node(), xt.shape(), wt.shape());
  bool depthwise = ctx.node().attrInt("depthwise") != 0;
  std::vector<double> x = toDoubles(xt), w = toDoubles(wt);
  const int64_t B = g.lanes, H = g.inH, W = g.inW, OH = g.outH, OW = g.outW;
  // X(n, channel, h, w) for either layout (zero outside the input).
  const int64_t xBlocks = g.plainInput ? 0 : xt.dim(1), xChannels = g.plainInput ? xt.dim(1) : xBlocks * B;
  auto input = [&](int64_t n, int64_t c, int64_t h, int64_t wi) -> double {
    if (h < 0 || h >= H || wi < 0 || wi >= W || c >= xChannels) return 0.0;
    if (g.plainInput) return x[size_t(((n * xChannels + c) * H + h) * W + wi)];
    return x[size_t((((n * xBlocks + c / B) * H + h) * W + wi) * B + c % B)];
  };
  std::vector<double> y(size_t(g.batch * g.outBlocks * OH * OW * B), 0.0);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t ob = 0; ob < g.outBlocks; ++ob)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t o = 0; o < B; ++o) {
            double acc = 0;
            for (int64_t kh = 0; kh < g.kernelH; ++kh)
              for (int64_t kw = 0; kw < g.kernelW; ++kw) {
                int64_t ih = oh * g.strides[0] - g.pads[0] + kh * g.dilations[0];
                int64_t iw = ow * g.strides[1] - g.pads[1] + kw * g.dilations[1];
                if (depthwise) {
                  acc += input(n, ob * B + o, ih, iw) * w[size_t(((ob * g.kernelH + kh) * g.kernelW + kw) * B + o)];
                  continue;
                }
                for (int64_t cb = 0; cb < g.inBlocks; ++cb)
                  for (int64_t i = 0; i < g.inChannelsPerBlock; ++i) {
                    size_t wi = size_t(
                        ((((ob * g.inBlocks + cb) * g.kernelH + kh) * g.kernelW + kw) * g.inChannelsPerBlock + i) * B + o);
                    acc += input(n, cb * g.inChannelsPerBlock + i, ih, iw) * w[wi];
                  }
              }
            y[size_t((((n * g.outBlocks + ob) * OH + oh) * OW + ow) * B + o)] = acc;
          }
  ctx.setOutput(0, fromDoubles(DType::F32, {g.batch, g.outBlocks, OH, OW, B}, y));
}

}  // namespace

const OpDef kBlockedConvDef{
    .name = "BlockedConv", .minInputs = 2, .maxInputs = 2, .traits = kInternal,
    .attrs = {{"strides", AttrKind::Ints, std::vector<int64_t>{1, 1}},
              {"pads", AttrKind::Ints, std::vector<int64_t>{0, 0, 0, 0}},
              {"dilations", AttrKind::Ints, std::vector<int64_t>{1, 1}},
              {"depthwise", AttrKind::Int, int64_t(0)}},
    .infer = inferBlockedConv,
    .eval = evalBlockedConv,
};

}  // namespace dlc::ir
