// Pooling: MaxPool (with Indices), AveragePool, LpPool, their global forms,
// and MaxUnpool. Windows cover 1 to 3 spatial dims; values are compared and
// summed in double (exact for the small integer types MaxPool accepts).
#include <cmath>

#include "ir/ops/nn_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

enum class PoolKind { Max, Average, Lp };

std::vector<AttrSpec> poolAttrs(PoolKind kind) {
  std::vector<AttrSpec> a = {
      {"auto_pad", AttrKind::String, std::string("NOTSET")},
      {"ceil_mode", AttrKind::Int, int64_t(0)},
      {"dilations", AttrKind::Ints, std::nullopt, true},
      {"kernel_shape", AttrKind::Ints, std::nullopt},
      {"pads", AttrKind::Ints, std::nullopt, true},
      {"strides", AttrKind::Ints, std::nullopt, true},
  };
  if (kind == PoolKind::Max) a.push_back({"storage_order", AttrKind::Int, int64_t(0)});
  if (kind == PoolKind::Average) a.push_back({"count_include_pad", AttrKind::Int, int64_t(0)});
  if (kind == PoolKind::Lp) a.push_back({"p", AttrKind::Int, int64_t(2)});
  return a;
}

void checkPoolInput(const InferContext& ctx, bool allowInt8) {
  DType t = ctx.inputDType(0);
  bool ok = isFloat(t) || (allowInt8 && (t == DType::I8 || t == DType::U8));
  if (!ok)
    ctx.fail("X must be a floating-point{} tensor, found {}", allowInt8 ? ", i8 or u8" : "", dtypeName(t));
}

void inferPool(InferContext& ctx, bool allowInt8) {
  checkPoolInput(ctx, allowInt8);
  DType t = ctx.inputDType(0);
  const Shape* xs = rankedAtLeast(ctx, 0, 3, "X");
  if (!xs) {
    for (size_t i = 0; i < ctx.numOutputs(); ++i) ctx.setOutput(i, TensorType::unranked(i == 0 ? t : DType::I64));
    return;
  }
  WindowAttrs w = readWindowAttrs(ctx.node(), xs->rank() - 2, ctx.node().attrInts("kernel_shape"));
  std::vector<Dim> dims = {(*xs)[0], (*xs)[1]};
  for (const Dim& d : windowOutputDims(w, *xs)) dims.push_back(d);
  ctx.setOutput(0, TensorType(t, Shape(dims)));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, TensorType(DType::I64, Shape(dims)));
}

struct PoolGeometry {
  Window3 window;
  std::vector<int64_t> outShape;  // full output shape [N, C, spatial...]
};

PoolGeometry poolGeometry(const EvalContext& ctx, const Tensor& x) {
  if (x.rank() < 3) ctx.fail("X must have rank >= 3, found {}", extentsStr(x.shape()));
  size_t spatial = x.rank() - 2;
  WindowAttrs w = readWindowAttrs(ctx.node(), spatial, ctx.node().attrInts("kernel_shape"));
  PoolGeometry g{windowOver(w, std::vector<int64_t>(x.shape().begin() + 2, x.shape().end())), {x.dim(0), x.dim(1)}};
  g.outShape.insert(g.outShape.end(), g.window.out.end() - ptrdiff_t(spatial), g.window.out.end());
  return g;
}

// Calls visit(inputOffsetWithinPlane, i0, i1, i2) for every in-bounds window
// position of output (o0, o1, o2); returns the number of positions inside the
// padded input (what count_include_pad divides by).
template <typename Visit>
int64_t forEachWindowPosition(const Window3& g, int64_t o0, int64_t o1, int64_t o2, Visit&& visit) {
  int64_t o[3] = {o0, o1, o2};
  int64_t paddedCount = 1;
  for (int d = 0; d < 3; ++d) {
    int64_t n = 0;
    for (int64_t k = 0; k < g.kernel[d]; ++k) {
      int64_t i = o[d] * g.stride[d] - g.padBegin[d] + k * g.dilation[d];
      if (i >= -g.padBegin[d] && i < g.in[d] + g.padEnd[d]) ++n;
    }
    paddedCount *= n;
  }
  for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
    int64_t i0 = o0 * g.stride[0] - g.padBegin[0] + k0 * g.dilation[0];
    if (i0 < 0 || i0 >= g.in[0]) continue;
    for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
      int64_t i1 = o1 * g.stride[1] - g.padBegin[1] + k1 * g.dilation[1];
      if (i1 < 0 || i1 >= g.in[1]) continue;
      for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
        int64_t i2 = o2 * g.stride[2] - g.padBegin[2] + k2 * g.dilation[2];
        if (i2 < 0 || i2 >= g.in[2]) continue;
        visit((i0 * g.in[1] + i1) * g.in[2] + i2, i0, i1, i2);
      }
    }
  }
  return paddedCount;
}

void evalPool(EvalContext& ctx, PoolKind kind) {
  const Tensor& x = ctx.input(0);
  PoolGeometry geo = poolGeometry(ctx, x);
  const Window3& g = geo.window;
  int64_t planes = x.dim(0) * x.dim(1), inSize = g.inSize(), outSize = g.outSize();
  Tensor y(x.dtype(), geo.outShape);
  bool wantIndices = kind == PoolKind::Max && ctx.numOutputs() > 1;
  Tensor indices = wantIndices ? Tensor(DType::I64, geo.outShape) : Tensor();
  bool columnMajor = kind == PoolKind::Max && ctx.node().attrInt("storage_order") != 0;
  bool includePad = kind == PoolKind::Average && ctx.node().attrInt("count_include_pad") != 0;
  double p = kind == PoolKind::Lp ? double(ctx.node().attrInt("p")) : 0.0;
  if (kind == PoolKind::Lp && p <= 0) ctx.fail("p must be positive, found {}", p);
  size_t spatial = x.rank() - 2;
  dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto px = x.data<T>();
    auto py = y.data<T>();
    for (int64_t plane = 0; plane < planes; ++plane) {
      const T* xp = px.data() + plane * inSize;
      int64_t outIndex = plane * outSize;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2, ++outIndex) {
            double acc = kind == PoolKind::Max ? -INFINITY : 0.0;
            int64_t count = 0, best = -1, bestPos[3] = {0, 0, 0};
            int64_t padded = forEachWindowPosition(g, o0, o1, o2, [&](int64_t off, int64_t i0, int64_t i1, int64_t i2) {
              double v = double(toCompute(xp[off]));
              ++count;
              if (kind == PoolKind::Max) {
                if (best < 0 || v > acc) {
                  acc = v;
                  best = off;
                  bestPos[0] = i0, bestPos[1] = i1, bestPos[2] = i2;
                }
              } else if (kind == PoolKind::Average) {
                acc += v;
              } else {
                acc += std::pow(std::abs(v), p);
              }
            });
            double result = acc;
            if (kind == PoolKind::Average) {
              int64_t divisor = includePad ? padded : count;
              result = divisor > 0 ? acc / double(divisor) : 0.0;
            } else if (kind == PoolKind::Lp) {
              result = std::pow(acc, 1.0 / p);
            } else if (best < 0) {
              result = 0.0;  // a window entirely in the padding (only possible with large pads)
            }
            if constexpr (kIsFloatStorage<T>) py[outIndex] = fromCompute<T>(static_cast<ComputeType<T>>(result));
            else py[outIndex] = saturatingRound<T>(result);
            if (wantIndices) {
              int64_t local = best;
              if (columnMajor && best >= 0) {
                // Column-major over the real spatial dims (the padded leading dims have extent 1).
                local = 0;
                int64_t stride = 1;
                for (size_t d = 3 - spatial; d < 3; ++d) {
                  local += bestPos[d] * stride;
                  stride *= g.in[d];
                }
              }
              indices.data<int64_t>()[outIndex] = best < 0 ? -1 : plane * inSize + local;
            }
          }
    }
  });
  ctx.setOutput(0, std::move(y));
  if (wantIndices) ctx.setOutput(1, std::move(indices));
}

void inferGlobalPool(InferContext& ctx) {
  requireFloatInput(ctx, 0, "X");
  DType t = ctx.inputDType(0);
  const Shape* xs = rankedAtLeast(ctx, 0, 2, "X");
  if (!xs) return ctx.setOutput(0, TensorType::unranked(t));
  std::vector<Dim> dims = xs->dims();
  for (size_t i = 2; i < dims.size(); ++i) dims[i] = Dim(1);
  ctx.setOutput(0, TensorType(t, Shape(dims)));
}

void evalGlobalPool(EvalContext& ctx, PoolKind kind) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.fail("X must have rank >= 2, found {}", extentsStr(x.shape()));
  std::vector<int64_t> outShape = x.shape();
  int64_t planeSize = 1;
  for (size_t i = 2; i < outShape.size(); ++i) {
    planeSize *= outShape[i];
    outShape[i] = 1;
  }
  if (planeSize == 0) ctx.fail("X has an empty spatial extent {}", extentsStr(x.shape()));
  double p = kind == PoolKind::Lp ? double(ctx.node().attrInt("p")) : 0.0;
  if (kind == PoolKind::Lp && p <= 0) ctx.fail("p must be positive, found {}", p);
  Tensor y(x.dtype(), outShape);
  dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloatStorage<T>) {
      auto px = x.data<T>();
      auto py = y.data<T>();
      for (int64_t plane = 0; plane < x.dim(0) * x.dim(1); ++plane) {
        double acc = kind == PoolKind::Max ? -INFINITY : 0.0;
        for (int64_t i = 0; i < planeSize; ++i) {
          double v = double(toCompute(px[plane * planeSize + i]));
          if (kind == PoolKind::Max) acc = std::max(acc, v);
          else if (kind == PoolKind::Average) acc += v;
          else acc += std::pow(std::abs(v), p);
        }
        if (kind == PoolKind::Average) acc /= double(planeSize);
        if (kind == PoolKind::Lp) acc = std::pow(acc, 1.0 / p);
        py[plane] = fromCompute<T>(static_cast<ComputeType<T>>(acc));
      }
    } else {
      ctx.fail("X must be a floating-point tensor, found {}", dtypeName(x.dtype()));
    }
  });
  ctx.setOutput(0, std::move(y));
}

// MaxUnpool's natural output shape: the inverse of the pooling formula.
std::vector<int64_t> unpoolInferredShape(const Node& node, const std::vector<int64_t>& xShape) {
  size_t spatial = xShape.size() - 2;
  WindowAttrs w = readWindowAttrs(node, spatial, node.attrInts("kernel_shape"));
  std::vector<int64_t> out = {xShape[0], xShape[1]};
  for (size_t i = 0; i < spatial; ++i)
    out.push_back((xShape[i + 2] - 1) * w.strides[i] + w.kernel[i] - w.pads[i] - w.pads[i + spatial]);
  return out;
}

void inferMaxUnpool(InferContext& ctx) {
  requireFloatInput(ctx, 0, "X");
  DType t = ctx.inputDType(0);
  if (ctx.inputDType(1) != DType::I64) ctx.fail("I must be i64, found {}", dtypeName(ctx.inputDType(1)));
  const Shape* xs = rankedAtLeast(ctx, 0, 3, "X");
  if (!xs) return ctx.setOutput(0, TensorType::unranked(t));
  if (ctx.hasInput(2)) {
    if (auto req = constantInts(ctx, 2)) {
      if (req->size() != xs->rank())
        ctx.fail("output_shape must have {} entries, found {}", xs->rank(), extentsStr(*req));
      return ctx.setOutput(0, TensorType(t, Shape::fromExtents(*req)));
    }
    return ctx.setOutput(0, TensorType(t, Shape(std::vector<Dim>(xs->rank(), Dim::unknown()))));
  }
  WindowAttrs w = readWindowAttrs(ctx.node(), xs->rank() - 2, ctx.node().attrInts("kernel_shape"));
  std::vector<Dim> dims = {(*xs)[0], (*xs)[1]};
  for (size_t i = 2; i < xs->rank(); ++i) {
    size_t s = i - 2;
    const Dim& d = (*xs)[i];
    dims.push_back(d.isStatic() ? Dim((d.value() - 1) * w.strides[s] + w.kernel[s] - w.pads[s] -
                                      w.pads[s + xs->rank() - 2])
                                : Dim::unknown());
  }
  ctx.setOutput(0, TensorType(t, Shape(dims)));
}

void evalMaxUnpool(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  if (x.rank() < 3) ctx.fail("X must have rank >= 3, found {}", extentsStr(x.shape()));
  if (idx.dtype() != DType::I64) ctx.fail("I must be i64, found {}", dtypeName(idx.dtype()));
  if (idx.shape() != x.shape())
    ctx.fail("I must have the shape of X {}, found {}", extentsStr(x.shape()), extentsStr(idx.shape()));
  std::vector<int64_t> inferred = unpoolInferredShape(ctx.node(), x.shape());
  for (int64_t d : inferred)
    if (d <= 0) ctx.fail("the unpooled shape {} has a non-positive extent", extentsStr(inferred));
  // Indices address the flattened unpooled tensor (as MaxPool produced them);
  // a larger output_shape pads that tensor at the end of each dim.
  Tensor unpooled(x.dtype(), inferred);
  auto pi = idx.data<int64_t>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t target = pi[i];
    if (target < 0 || target >= unpooled.numel())
      ctx.fail("index {} at position {} is outside the unpooled output of {} elements", target, i,
               unpooled.numel());
    unpooled.setDouble(target, x.getDouble(i));
  }
  if (!ctx.hasInput(2)) return ctx.setOutput(0, std::move(unpooled));
  std::vector<int64_t> requested = ctx.input(2).toInts();
  if (requested.size() != inferred.size())
    ctx.fail("output_shape must have {} entries, found {}", inferred.size(), extentsStr(requested));
  for (size_t i = 0; i < inferred.size(); ++i)
    if (requested[i] < inferred[i])
      ctx.fail("output_shape {} is smaller than the unpooled shape {}", extentsStr(requested), extentsStr(inferred));
  Tensor y(x.dtype(), requested);
  std::vector<int64_t> yStrides = contiguousStrides(requested);
  int64_t from = 0;
  forEachIndex(inferred, [&](const std::vector<int64_t>& at) { y.setDouble(offsetOf(at, yStrides), unpooled.getDouble(from++)); });
  ctx.setOutput(0, std::move(y));
}

}  // namespace


// Gradient rules (reverse mode; see passes/autodiff.h).
namespace {

std::vector<int64_t> staticShape(const GradContext& ctx, const Value* v) {
  if (!v->type().isStatic()) ctx.fail("the gradient of {} needs static shapes", ctx.node().opName());
  return v->type().shape->extents();
}

// MaxPool: a MaxPool with indices (flat over N, C and space) and the
// gradient added at them.
std::vector<Value*> gradMaxPool(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *x = ctx.input(0), *g = ctx.outputGrad(0);
  Attributes at = ctx.node().attrs();
  // Indices in row-major order; the attribute is left as it is when it
  // already says so, so that CSE sees the forward pool as the same node.
  if (ctx.node().attrInt("storage_order") != 0) at.set("storage_order", int64_t(0));
  Value* indices = b.opN(OpKind::MaxPool, {x}, 2, at)[1];
  Attributes add;
  add.set("reduction", std::string("add"));
  Value* flat = b.op(OpKind::ScatterElements, {b.reshape(zerosLike(b, x), b.ints({-1})),
                                               b.reshape(indices, b.ints({-1})), b.reshape(g, b.ints({-1}))},
                     add);
  return {b.reshape(flat, shapeOf(b, x))};
}

// AveragePool: g divided by each window's element count, spread over the
// window with a depthwise ConvTranspose of ones.
std::vector<Value*> gradAveragePool(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  const Node& n = ctx.node();
  Value *x = ctx.input(0), *g = ctx.outputGrad(0);
  std::vector<int64_t> xs = staticShape(ctx, x), ys = staticShape(ctx, ctx.output(0));
  size_t sr = xs.size() - 2;
  WindowAttrs wa = readWindowAttrs(n, sr, n.attrInts("kernel_shape"));
  if (wa.ceilMode) ctx.fail("no gradient rule for AveragePool with ceil_mode");
  std::vector<int64_t> pb(sr), pe(sr), outPad(sr);
  int64_t windowSize = 1;
  for (size_t i = 0; i < sr; ++i) {
    WindowDim d = windowDim(wa, i, xs[2 + i]);
    pb[i] = d.padBegin;
    pe[i] = d.padEnd;
    outPad[i] = xs[2 + i] - (wa.strides[i] * (ys[2 + i] - 1) + (wa.kernel[i] - 1) * wa.dilations[i] + 1 - pb[i] - pe[i]);
    windowSize *= wa.kernel[i];
  }
  std::vector<int64_t> pads = pb;
  pads.insert(pads.end(), pe.begin(), pe.end());
  auto onesOf = [&](std::vector<int64_t> head, const std::vector<int64_t>& tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    Tensor t(x->dtype(), head);
    for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, 1.0);
    return b.constant("ones", t);
  };
  Attributes geometry;
  geometry.set("strides", wa.strides);
  geometry.set("dilations", wa.dilations);
  geometry.set("pads", pads);
  Value* count;
  if (n.attrInt("count_include_pad") != 0) {
    count = b.scalarLike(x, double(windowSize));
  } else {
    std::vector<int64_t> spatial(xs.begin() + 2, xs.end());
    count = b.op(OpKind::Conv, {onesOf({1, 1}, spatial), onesOf({1, 1}, wa.kernel)}, geometry);
  }
  Attributes at = geometry;
  at.set("group", xs[1]);
  at.set("output_padding", outPad);
  return {b.op(OpKind::ConvTranspose, {b.div(g, count), onesOf({xs[1], 1}, wa.kernel)}, std::move(at))};
}

std::vector<Value*> gradGlobalAveragePool(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value* x = ctx.input(0);
  std::vector<int64_t> xs = staticShape(ctx, x);
  int64_t count = 1;
  for (size_t i = 2; i < xs.size(); ++i) count *= xs[i];
  return {expandLike(b, b.div(ctx.outputGrad(0), b.scalarLike(x, double(count))), x)};
}

std::vector<Value*> gradGlobalMaxPool(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value* x = ctx.input(0);
  return {b.where(b.op(OpKind::Equal, {x, ctx.output(0)}), expandLike(b, ctx.outputGrad(0), x),
                  b.scalarLike(x, 0.0))};
}

}  // namespace

const OpDef kMaxPoolDef{
    .name = "MaxPool", .minInputs = 1, .maxInputs = 1, .minOutputs = 1, .maxOutputs = 2,
    .traits = kDifferentiable, .attrs = poolAttrs(PoolKind::Max),
    .infer = [](InferContext& ctx) { inferPool(ctx, true); },
    .eval = [](EvalContext& ctx) { evalPool(ctx, PoolKind::Max); },
    .grad = gradMaxPool,
};
const OpDef kAveragePoolDef{
    .name = "AveragePool", .minInputs = 1, .maxInputs = 1, .traits = kDifferentiable,
    .attrs = poolAttrs(PoolKind::Average),
    .infer = [](InferContext& ctx) { inferPool(ctx, false); },
    .eval = [](EvalContext& ctx) { evalPool(ctx, PoolKind::Average); },
    .grad = gradAveragePool,
};
const OpDef kLpPoolDef{
    .name = "LpPool", .minInputs = 1, .maxInputs = 1,
    .attrs = poolAttrs(PoolKind::Lp),
    .infer = [](InferContext& ctx) { inferPool(ctx, false); },
    .eval = [](EvalContext& ctx) { evalPool(ctx, PoolKind::Lp); },
};
const OpDef kGlobalAveragePoolDef{
    .name = "GlobalAveragePool", .minInputs = 1, .maxInputs = 1, .traits = kDifferentiable,
    .infer = inferGlobalPool,
    .eval = [](EvalContext& ctx) { evalGlobalPool(ctx, PoolKind::Average); },
    .grad = gradGlobalAveragePool,
};
const OpDef kGlobalMaxPoolDef{
    .name = "GlobalMaxPool", .minInputs = 1, .maxInputs = 1, .traits = kDifferentiable,
    .infer = inferGlobalPool,
    .eval = [](EvalContext& ctx) { evalGlobalPool(ctx, PoolKind::Max); },
    .grad = gradGlobalMaxPool,
};
const OpDef kGlobalLpPoolDef{
    .name = "GlobalLpPool", .minInputs = 1, .maxInputs = 1,
    .attrs = {{"p", AttrKind::Int, int64_t(2)}},
    .infer = inferGlobalPool,
    .eval = [](EvalContext& ctx) { evalGlobalPool(ctx, PoolKind::Lp); },
};
const OpDef kMaxUnpoolDef{
    .name = "MaxUnpool", .minInputs = 2, .maxInputs = 3,
    .attrs = {{"kernel_shape", AttrKind::Ints, std::nullopt},
              {"pads", AttrKind::Ints, std::nullopt, true},
              {"strides", AttrKind::Ints, std::nullopt, true}},
    .infer = inferMaxUnpool,
    .eval = evalMaxUnpool,
};

}  // namespace dlc::ir
