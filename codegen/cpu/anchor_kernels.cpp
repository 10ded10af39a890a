#include "codegen/cpu/anchor_kernels.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "codegen/cpu/lowering_util.h"
#include "ir/ops/nn_util.h"

namespace dlc::codegen {

using ir::DType;
using ir::OpKind;
using kir::BinaryOp;
using kir::Expr;
using kir::UnaryOp;

namespace {

using namespace kx;

// Builds one kernel, tracking which value each buffer binds to.
struct KernelBuilder {
  LoweredKernel out;
  kir::Kernel& k = out.kernel;

  int buffer(const ir::Value* v, bool written) { return bindBuffer(k, out.bufferValues, v, written); }
  kir::Var local(DType t, Expr init, kir::Block& into) {
    kir::Var v = kir::newVar(k, t);
    into.push_back(kir::declare(v, std::move(init)));
    return v;
  }
};

LoweredKernel refuse(std::string why) {
  LoweredKernel r;
  r.unsupported = std::move(why);
  return r;
}

bool allF32(const ir::Node& n) {
  for (const ir::Value* v : n.inputs())
    if (v && v->dtype() != DType::F32) return false;
  for (const ir::Value* v : n.outputs())
    if (v->dtype() != DType::F32) return false;
  return true;
}

// Softmax / LogSoftmax over one axis: extents {outer, inner}, three passes
// over the axis (max, sum of exp, normalise) as row loops (cooperative on
// CUDA, kernel_ir.h).
LoweredKernel lowerSoftmax(const ir::Node& n, bool logarithm) {
  std::vector<int64_t> s = extentsOf(n.input(0));
  int64_t axis = n.attrInt("axis");
  if (axis < 0) axis += int64_t(s.size());
  KernelBuilder b;
  kir::Kernel& k = b.k;
  int x = b.buffer(n.input(0), false), y = b.buffer(n.output(0), true);
  int64_t reduce = s[size_t(axis)];
  k.extent0 = product(s, 0, size_t(axis));
  k.extent1 = product(s, size_t(axis) + 1, s.size());
  k.allowReassociation = true;
  auto at = [&](kir::Var j) {
    return add(mul(add(mul(kir::var(k.iter0), i64(reduce)), kir::var(j)), i64(k.extent1)), kir::var(k.iter1));
  };
  kir::Var m = b.local(DType::F32, f32(-std::numeric_limits<double>::infinity()), k.body);
  kir::Var j1 = kir::newVar(k);
  k.body.push_back(kir::rowLoop(j1, i64(0), i64(reduce),
                                {kir::assign(m, kir::binary(BinaryOp::Max, kir::var(m), kir::load(k, x, at(j1))))},
                                {{m, BinaryOp::Max}}));
  kir::Var sum = b.local(DType::F32, f32(0), k.body);
  kir::Var j2 = kir::newVar(k);
  Expr e = kir::unary(UnaryOp::Exp, sub(kir::load(k, x, at(j2)), kir::var(m)));
  kir::Block pass2 = {kir::assign(sum, add(kir::var(sum), e))};
  if (!logarithm) pass2.push_back(kir::store(k, y, at(j2), e));
  k.body.push_back(kir::rowLoop(j2, i64(0), i64(reduce), std::move(pass2), {{sum, BinaryOp::Add}}));
  kir::Var j3 = kir::newVar(k);
  Expr value = logarithm ? sub(sub(kir::load(k, x, at(j3)), kir::var(m)), kir::unary(UnaryOp::Log, kir::var(sum)))
                         : mul(kir::load(k, y, at(j3)), kir::unary(UnaryOp::Reciprocal, kir::var(sum)));
  k.body.push_back(kir::rowLoop(j3, i64(0), i64(reduce), {kir::store(k, y, at(j3), value)}));
  return std::move(b.out);
}

// LayerNormalization over the trailing dims from `axis`: one row per point,
// three row loops (sum for the mean, sum of squared deviations for the
// variance: two passes, then normalise with scale and bias).
LoweredKernel lowerLayerNorm(const ir::Node& n) {
  if (n.outputs().size() != 1) return refuse("LayerNormalization with Mean/InvStdDev results");
  std::vector<int64_t> s = extentsOf(n.input(0));
  int64_t axis = n.attrInt("axis");
  if (axis < 0) axis += int64_t(s.size());
  int64_t row = product(s, size_t(axis), s.size());
  auto rowIndexOf = [&](const ir::Value* v) -> std::optional<bool> {  // true: indexed by position in row; false: scalar
    if (!v) return std::nullopt;
    int64_t numel = v->type().shape->numElements().value_or(-1);
    if (numel == row) return true;
    if (numel == 1) return false;
    return std::nullopt;
  };
  auto scaleKind = rowIndexOf(n.input(1));
  auto biasKind = rowIndexOf(n.input(2));
  if (!scaleKind || (n.hasInput(2) && !biasKind)) return refuse("scale or bias that broadcasts partially");
  KernelBuilder b;
  kir::Kernel& k = b.k;
  int x = b.buffer(n.input(0), false), scale = b.buffer(n.input(1), false);
  int bias = n.hasInput(2) ? b.buffer(n.input(2), false) : -1;
  int y = b.buffer(n.output(0), true);
  k.extent0 = product(s, 0, size_t(axis));
  k.extent1 = 1;
  k.allowReassociation = true;
  auto at = [&](kir::Var j) { return add(mul(kir::var(k.iter0), i64(row)), kir::var(j)); };
  kir::Var sum = b.local(DType::F32, f32(0), k.body);
  kir::Var j1 = kir::newVar(k);
  k.body.push_back(kir::rowLoop(j1, i64(0), i64(row), {kir::assign(sum, add(kir::var(sum), kir::load(k, x, at(j1))))},
                                {{sum, BinaryOp::Add}}));
  kir::Var mean = b.local(DType::F32, div(kir::var(sum), f32(double(row))), k.body);
  kir::Var sq = b.local(DType::F32, f32(0), k.body);
  kir::Var j2 = kir::newVar(k);
  Expr d = sub(kir::load(k, x, at(j2)), kir::var(mean));
  k.body.push_back(kir::rowLoop(j2, i64(0), i64(row), {kir::assign(sq, add(kir::var(sq), mul(d, d)))}, {{sq, BinaryOp::Add}}));
  kir::Var inv = b.local(
      DType::F32,
      kir::unary(UnaryOp::Rsqrt, add(div(kir::var(sq), f32(double(row))), f32(n.attrFloat("epsilon")))), k.body);
  kir::Var j3 = kir::newVar(k);
  Expr normed = mul(sub(kir::load(k, x, at(j3)), kir::var(mean)), kir::var(inv));
  Expr value = mul(normed, kir::load(k, scale, *scaleKind ? kir::var(j3) : i64(0)));
  if (bias >= 0) value = add(value, kir::load(k, bias, *biasKind ? kir::var(j3) : i64(0)));
  k.body.push_back(kir::rowLoop(j3, i64(0), i64(row), {kir::store(k, y, at(j3), value)}));
  return std::move(b.out);
}

// Max/average pooling and depthwise convolution share one window walk:
// extents {N*C planes, output positions}; the window offsets are loops with
// bounds checks (padding).
enum class WindowOp { Max, Average, Depthwise };

LoweredKernel lowerWindow(const ir::Node& n, WindowOp op) {
  std::vector<int64_t> xs = extentsOf(n.input(0));
  size_t spatial = xs.size() - 2;
  if (spatial < 1 || spatial > 3) return refuse("1 to 3 spatial dims only");
  std::vector<int64_t> kernel;
  if (op == WindowOp::Depthwise) {
    std::vector<int64_t> ws = extentsOf(n.input(1));
    kernel.assign(ws.begin() + 2, ws.end());
  } else {
    kernel = n.attrInts("kernel_shape");
  }
  ir::ops::WindowAttrs w = ir::ops::readWindowAttrs(n, spatial, kernel);
  ir::ops::Window3 g = ir::ops::windowOver(w, std::vector<int64_t>(xs.begin() + 2, xs.end()));
  bool includePad = op == WindowOp::Average && n.attrInt("count_include_pad") != 0;

  KernelBuilder b;
  kir::Kernel& k = b.k;
  int x = b.buffer(n.input(0), false);
  int wt = op == WindowOp::Depthwise ? b.buffer(n.input(1), false) : -1;
  int bias = op == WindowOp::Depthwise && n.hasInput(2) ? b.buffer(n.input(2), false) : -1;
  int y = b.buffer(n.output(0), true);
  // MaxPool's optional Indices: the flat position over (N, C, spatial) of
  // each window's maximum (storage_order 0).
  int indices = op == WindowOp::Max && n.outputs().size() > 1 ? b.buffer(n.output(1), true) : -1;
  int64_t channels = xs[1];
  // Points are (plane, o0, o1) x o2: the innermost output axis is the inner
  // loop, so neighbouring points read neighbouring inputs and vectorise.
  // Padding is handled with selects over clamped (always valid) indices
  // rather than branches.
  k.extent0 = xs[0] * channels * g.out[0] * g.out[1];
  k.extent1 = g.out[2];
  k.allowReassociation = op != WindowOp::Max;
  Expr v0 = kir::var(k.iter0);
  kir::Var o2 = b.local(DType::I64, kir::var(k.iter1), k.body);
  kir::Var o1 = b.local(DType::I64, rem(v0, i64(g.out[1])), k.body);
  kir::Var o0 = b.local(DType::I64, rem(div(v0, i64(g.out[1])), i64(g.out[0])), k.body);
  kir::Var plane = b.local(DType::I64, div(v0, i64(g.out[1] * g.out[0])), k.body);
  Expr planeBase = mul(kir::var(plane), i64(g.inSize()));
  double init = op == WindowOp::Max ? -std::numeric_limits<double>::infinity() : 0.0;
  kir::Var acc = b.local(DType::F32, f32(init), k.body);
  kir::Var count = b.local(DType::F32, f32(0), k.body);
  // Max: the window's first inside element wins until a greater one comes
  // (the reference kernel's rule: ties keep the first, a leading NaN stays).
  kir::Var found = b.local(DType::Bool, kir::constant(DType::Bool, 0), k.body);
  kir::Var best = b.local(DType::I64, i64(-1), k.body);
  // A dim the window does not move along (a blocked tensor's lanes: kernel
  // 1, stride 1, no padding) reads at the output's own index, always
  // inside: no clamp or range check, so its loads stay contiguous and
  // vectorise (clamped, they became gathers: ResNet's blocked stem MaxPool
  // took 0.29 ms).
  auto identity = [&](int d) {
    return g.kernel[d] == 1 && g.stride[d] == 1 && g.dilation[d] == 1 && g.padBegin[d] == 0 && g.in[d] == g.out[d];
  };
  auto coord = [&](kir::Var o, const Expr& kk, int d) {
    return add(sub(mul(kir::var(o), i64(g.stride[d])), i64(g.padBegin[d])), mul(kk, i64(g.dilation[d])));
  };
  // One window position (kernel offsets kk0, kk1, kk2) of the reduction.
  auto tap = [&](const Expr& kk0, const Expr& kk1, const Expr& kk2, kir::Block& inner) {
  kir::Var i0 = b.local(DType::I64, coord(o0, kk0, 0), inner);
  kir::Var i1 = b.local(DType::I64, coord(o1, kk1, 1), inner);
  kir::Var i2 = b.local(DType::I64, coord(o2, kk2, 2), inner);
  auto inRange = [&](kir::Var i, int64_t lo, int64_t hi) {
    return kir::binary(BinaryOp::And, kir::binary(BinaryOp::Ge, kir::var(i), i64(lo)),
                       kir::binary(BinaryOp::Lt, kir::var(i), i64(hi)));
  };
  auto insideDim = [&](kir::Var i, int d) {
    return identity(d) ? kir::constant(DType::Bool, 1) : inRange(i, 0, g.in[d]);
  };
  auto clamp = [&](kir::Var i, int d) {
    if (identity(d)) return kir::var(i);
    return kir::binary(BinaryOp::Min, kir::binary(BinaryOp::Max, kir::var(i), i64(0)), i64(g.in[d] - 1));
  };
  kir::Var inside = b.local(
      DType::Bool,
      kir::binary(BinaryOp::And, kir::binary(BinaryOp::And, insideDim(i0, 0), insideDim(i1, 1)), insideDim(i2, 2)),
      inner);
  Expr offset =
      add(planeBase, add(mul(add(mul(clamp(i0, 0), i64(g.in[1])), clamp(i1, 1)), i64(g.in[2])), clamp(i2, 2)));
  Expr xv = kir::load(k, x, offset);
  Expr isInside = kir::var(inside);
  switch (op) {
    case WindowOp::Max: {
      kir::Var take = b.local(
          DType::Bool,
          kir::binary(BinaryOp::And, isInside,
                      kir::binary(BinaryOp::Or, kir::unary(kir::UnaryOp::Not, kir::var(found)),
                                  kir::binary(BinaryOp::Gt, xv, kir::var(acc)))),
          inner);
      inner.push_back(kir::assign(acc, kir::select(kir::var(take), xv, kir::var(acc))));
      inner.push_back(kir::assign(found, kir::binary(BinaryOp::Or, kir::var(found), isInside)));
      if (indices >= 0) {
        Expr position = add(planeBase, add(mul(add(mul(kir::var(i0), i64(g.in[1])), kir::var(i1)), i64(g.in[2])),
                                           kir::var(i2)));
        inner.push_back(kir::assign(best, kir::select(kir::var(take), position, kir::var(best))));
      }
      break;
    }
    case WindowOp::Average:
      inner.push_back(kir::assign(acc, add(kir::var(acc), kir::select(isInside, xv, f32(0)))));
      break;
    case WindowOp::Depthwise: {
      // Weight [C, 1, k0, k1, k2] (leading kernel dims padded to 3).
      Expr channel = rem(kir::var(plane), i64(channels));
      Expr widx = add(mul(add(mul(add(mul(channel, i64(g.kernel[0])), kk0), i64(g.kernel[1])), kk1),
                          i64(g.kernel[2])),
                      kk2);
      inner.push_back(kir::assign(acc, add(kir::var(acc), kir::select(isInside, mul(xv, kir::load(k, wt, widx)), f32(0)))));
      break;
    }
  }
  if (op == WindowOp::Average) {
    // count_include_pad counts positions inside the padded input too.
    Expr counted = isInside;
    if (includePad)
      counted = kir::binary(
          BinaryOp::And,
          kir::binary(BinaryOp::And, inRange(i0, -g.padBegin[0], g.in[0] + g.padEnd[0]),
                      inRange(i1, -g.padBegin[1], g.in[1] + g.padEnd[1])),
          inRange(i2, -g.padBegin[2], g.in[2] + g.padEnd[2]));
    inner.push_back(kir::assign(count, add(kir::var(count), kir::select(counted, f32(1), f32(0)))));
  }
  };
  if (g.kernelSize() <= 49) {
    // Small windows are unrolled: the only loop left in the kernel is the
    // one over output columns, which then vectorises.
    for (int64_t a = 0; a < g.kernel[0]; ++a)
      for (int64_t c = 0; c < g.kernel[1]; ++c)
        for (int64_t e = 0; e < g.kernel[2]; ++e) tap(i64(a), i64(c), i64(e), k.body);
  } else {
    kir::Var k0 = kir::newVar(k), k1 = kir::newVar(k), k2 = kir::newVar(k);
    kir::Block inner;
    tap(kir::var(k0), kir::var(k1), kir::var(k2), inner);
    k.body.push_back(kir::forLoop(
        k0, i64(0), i64(g.kernel[0]),
        {kir::forLoop(k1, i64(0), i64(g.kernel[1]), {kir::forLoop(k2, i64(0), i64(g.kernel[2]), std::move(inner))})}));
  }
  Expr result = kir::var(acc);
  if (op == WindowOp::Average) result = div(result, kir::var(count));
  if (bias >= 0) result = add(result, kir::load(k, bias, rem(kir::var(plane), i64(channels))));
  Expr outIndex = add(mul(kir::var(k.iter0), i64(g.out[2])), kir::var(k.iter1));
  k.body.push_back(kir::store(k, y, outIndex, result));
  if (indices >= 0) k.body.push_back(kir::store(k, indices, outIndex, kir::var(best)));
  // The point is output element (plane, o0, o1, o2) in order, v0 * out[2] +
  // v1: the split of the result at its last axis (2-D and 1-D windows have
  // o0, and o1, of extent 1).
  b.out.pointPerOutputElement = true;
  return std::move(b.out);
}

// Global pooling: one row (a plane) per point.
LoweredKernel lowerGlobalPool(const ir::Node& n, bool max) {
  std::vector<int64_t> xs = extentsOf(n.input(0));
  int64_t plane = product(xs, 2, xs.size());
  KernelBuilder b;
  kir::Kernel& k = b.k;
  int x = b.buffer(n.input(0), false), y = b.buffer(n.output(0), true);
  k.extent0 = xs[0] * xs[1];
  k.allowReassociation = !max;
  kir::Var acc = b.local(DType::F32, f32(max ? -std::numeric_limits<double>::infinity() : 0.0), k.body);
  kir::Var j = kir::newVar(k);
  Expr xv = kir::load(k, x, add(mul(kir::var(k.iter0), i64(plane)), kir::var(j)));
  Expr next = max ? kir::select(kir::binary(BinaryOp::Gt, xv, kir::var(acc)), xv, kir::var(acc)) : add(kir::var(acc), xv);
  // GlobalMaxPool's select(x > acc) is no Max (NaN is skipped): a serial loop.
  if (max) k.body.push_back(kir::forLoop(j, i64(0), i64(plane), {kir::assign(acc, next)}));
  else k.body.push_back(kir::rowLoop(j, i64(0), i64(plane), {kir::assign(acc, next)}, {{acc, BinaryOp::Add}}));
  Expr result = max ? kir::var(acc) : div(kir::var(acc), f32(double(plane)));
  k.body.push_back(kir::store(k, y, kir::var(k.iter0), result));
  return std::move(b.out);
}

// Transpose: each output point reads its source element; the innermost
// output axis is the inner loop.
LoweredKernel lowerTranspose(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0)), ys = extentsOf(n.output(0));
  size_t rank = xs.size();
  std::vector<int64_t> perm;
  if (n.hasAttr("perm")) perm = n.attrInts("perm");
  else
    for (size_t i = 0; i < rank; ++i) perm.push_back(int64_t(rank - 1 - i));
  std::vector<int64_t> xStride(rank, 1);
  for (size_t d = rank; d-- > 1;) xStride[d - 1] = xStride[d] * xs[d];
  KernelBuilder b;
  kir::Kernel& k = b.k;
  int x = b.buffer(n.input(0), false), y = b.buffer(n.output(0), true);
  if (rank == 0) {
    k.body.push_back(kir::store(k, y, i64(0), kir::load(k, x, i64(0))));
    return std::move(b.out);
  }
  k.extent0 = product(ys, 0, rank - 1);
  k.extent1 = ys[rank - 1];
  Expr src = mul(kir::var(k.iter1), i64(xStride[size_t(perm[rank - 1])]));
  int64_t below = 1;
  for (size_t d = rank - 1; d-- > 0;) {
    Expr coord = kir::var(k.iter0);
    if (below != 1) coord = div(coord, i64(below));
    if (d > 0) coord = rem(coord, i64(ys[d]));
    src = add(src, mul(coord, i64(xStride[size_t(perm[d])])));
    below *= ys[d];
  }
  Expr dst = add(mul(kir::var(k.iter0), i64(k.extent1)), kir::var(k.iter1));
  k.body.push_back(kir::store(k, y, dst, kir::load(k, x, src)));
  return std::move(b.out);
}

}  // namespace

bool hasAnchorLowering(const ir::Node& n) {
  switch (n.op()) {
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
    case OpKind::LayerNormalization:
    case OpKind::MaxPool:
    case OpKind::AveragePool:
    case OpKind::GlobalAveragePool:
    case OpKind::GlobalMaxPool:
    case OpKind::Transpose: return true;
    case OpKind::Conv: {
      if (!n.input(1) || !n.input(1)->type().isStatic() || !n.input(0)->type().isStatic()) return false;
      int64_t group = n.attrInt("group");
      return group > 1 && group == n.input(0)->type().shape->extents()[1] &&
             n.input(1)->type().shape->extents()[0] == group;  // depthwise
    }
    default: return false;
  }
}

LoweredKernel lowerAnchorOp(const ir::Node& n) {
  bool numericF32 = allF32(n);
  switch (n.op()) {
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
      if (!numericF32) return refuse("f32 only");
      return lowerSoftmax(n, n.op() == OpKind::LogSoftmax);
    case OpKind::LayerNormalization:
      if (!numericF32) return refuse("f32 only");
      return lowerLayerNorm(n);
    case OpKind::MaxPool:
      // Indices (I64) aside, all f32.
      if (n.input(0)->dtype() != DType::F32 || n.output(0)->dtype() != DType::F32) return refuse("f32 only");
      if (n.outputs().size() > 1 && n.attrInt("storage_order") != 0)
        return refuse("Indices in column-major storage order");
      return lowerWindow(n, WindowOp::Max);
    case OpKind::AveragePool:
      if (!numericF32) return refuse("f32 only");
      return lowerWindow(n, WindowOp::Average);
    case OpKind::GlobalAveragePool:
    case OpKind::GlobalMaxPool:
      if (!numericF32) return refuse("f32 only");
      return lowerGlobalPool(n, n.op() == OpKind::GlobalMaxPool);
    case OpKind::Conv:
      if (!numericF32) return refuse("f32 only");
      return lowerWindow(n, WindowOp::Depthwise);
    case OpKind::Transpose: return lowerTranspose(n);
    default: return refuse("no lowering");
  }
}

}  // namespace dlc::codegen
