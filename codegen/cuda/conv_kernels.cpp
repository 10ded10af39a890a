#include "codegen/cuda/conv_kernels.h"

namespace dlc::codegen::cuda {

namespace {
using kir::BinaryOp;
using kir::Expr;
Expr c(int64_t v) { return kir::intConstant(v); }
Expr add(Expr a, Expr b) { return kir::binary(BinaryOp::Add, std::move(a), std::move(b)); }
Expr sub(Expr a, Expr b) { return kir::binary(BinaryOp::Sub, std::move(a), std::move(b)); }
Expr mul(Expr a, Expr b) { return kir::binary(BinaryOp::Mul, std::move(a), std::move(b)); }
Expr div(Expr a, Expr b) { return kir::binary(BinaryOp::Div, std::move(a), std::move(b)); }
Expr rem(Expr a, Expr b) { return kir::binary(BinaryOp::Rem, std::move(a), std::move(b)); }
Expr both(Expr a, Expr b) { return kir::binary(BinaryOp::And, std::move(a), std::move(b)); }
Expr inRange(Expr v, int64_t end) {
  return kir::binary(BinaryOp::And, kir::binary(BinaryOp::Ge, v, c(0)), kir::binary(BinaryOp::Lt, v, c(end)));
}
}  // namespace

kir::Kernel im2colKernel(const runtime::ConvShape& s, const std::string& name, ir::DType dtype) {
  kir::Kernel k;
  k.name = name;
  int64_t depth = s.depth(), ohw = s.outH() * s.outW(), icg = s.inChannels / s.group;
  k.extent0 = s.batch * s.group * depth;
  k.extent1 = ohw;
  int x = kir::addBuffer(k, "x", dtype, s.batch * s.inChannels * s.inH * s.inW, false);
  int col = kir::addBuffer(k, "col", dtype, k.extent0 * k.extent1, true);
  Expr v0 = kir::var(k.iter0), v1 = kir::var(k.iter1);
  // v0 = (n * group + g) * depth + kd; v1 = oy * OW + ox.
  Expr kd = rem(v0, c(depth));
  Expr ng = div(v0, c(depth));  // n * group + g
  Expr n = div(ng, c(s.group)), g = rem(ng, c(s.group));
  Expr ch = div(kd, c(s.kernelH * s.kernelW));
  Expr ky = rem(div(kd, c(s.kernelW)), c(s.kernelH)), kx = rem(kd, c(s.kernelW));
  Expr oy = div(v1, c(s.outW())), ox = rem(v1, c(s.outW()));
  kir::Var iy = kir::newVar(k), ix = kir::newVar(k);
  Expr channel = add(mul(n, c(s.inChannels)), add(mul(g, c(icg)), ch));
  Expr src = add(mul(add(mul(channel, c(s.inH)), kir::var(iy)), c(s.inW)), kir::var(ix));
  Expr dst = add(mul(v0, c(ohw)), v1);
  k.body = {
      kir::declare(iy, add(sub(mul(oy, c(s.strideH)), c(s.padTop)), mul(ky, c(s.dilationH)))),
      kir::declare(ix, add(sub(mul(ox, c(s.strideW)), c(s.padLeft)), mul(kx, c(s.dilationW)))),
      kir::ifThen(kir::binary(BinaryOp::And, inRange(kir::var(iy), s.inH), inRange(kir::var(ix), s.inW)),
                  {kir::store(k, col, dst, kir::load(k, x, src))},
                  {kir::store(k, col, dst, kir::constant(dtype, 0.0))}),
  };
  return k;
}

kir::Kernel col2imKernel(const runtime::ConvShape& s, bool hasBias, const std::string& name) {
  kir::Kernel k;
  k.name = name;
  const int64_t OH = s.outH(), OW = s.outW(), area = s.kernelH * s.kernelW;
  k.extent0 = s.batch * s.inChannels;  // planes
  k.extent1 = s.inH * s.inW;
  int cols = kir::addBuffer(k, "cols", ir::DType::F32, k.extent0 * area * OH * OW, false);
  int y = kir::addBuffer(k, "y", ir::DType::F32, k.extent0 * k.extent1, true);
  int bias = hasBias ? kir::addBuffer(k, "bias", ir::DType::F32, s.inChannels, false) : -1;
  Expr plane = kir::var(k.iter0), pixel = kir::var(k.iter1);
  kir::Var acc = kir::newVar(k, ir::DType::F32), th = kir::newVar(k), tw = kir::newVar(k);
  k.body.push_back(kir::declare(acc, hasBias ? kir::load(k, bias, rem(plane, c(s.inChannels)))
                                             : kir::constant(ir::DType::F32, 0.0)));
  k.body.push_back(kir::declare(th, c(0)));
  k.body.push_back(kir::declare(tw, c(0)));
  Expr h = div(pixel, c(s.inW)), w = rem(pixel, c(s.inW));
  for (int64_t kh = 0; kh < s.kernelH; ++kh)
    for (int64_t kw = 0; kw < s.kernelW; ++kw) {
      // (h, w) = (oh * strideH + kh * dilationH - padTop, likewise for w).
      k.body.push_back(kir::assign(th, add(h, c(s.padTop - kh * s.dilationH))));
      k.body.push_back(kir::assign(tw, add(w, c(s.padLeft - kw * s.dilationW))));
      Expr oh = div(kir::var(th), c(s.strideH)), ow = div(kir::var(tw), c(s.strideW));
      Expr hits = both(both(kir::binary(BinaryOp::Ge, kir::var(th), c(0)), kir::binary(BinaryOp::Ge, kir::var(tw), c(0))),
                       both(both(kir::binary(BinaryOp::Eq, rem(kir::var(th), c(s.strideH)), c(0)),
                                 kir::binary(BinaryOp::Eq, rem(kir::var(tw), c(s.strideW)), c(0))),
                            both(kir::binary(BinaryOp::Lt, oh, c(OH)), kir::binary(BinaryOp::Lt, ow, c(OW)))));
      Expr at = add(mul(add(mul(plane, c(area)), c(kh * s.kernelW + kw)), c(OH * OW)), add(mul(oh, c(OW)), ow));
      k.body.push_back(kir::ifThen(hits, {kir::assign(acc, add(kir::var(acc), kir::load(k, cols, at)))}));
    }
  k.body.push_back(kir::store(k, y, add(mul(plane, c(k.extent1)), pixel), kir::var(acc)));
  return k;
}

}  // namespace dlc::codegen::cuda
