// The gradient of MaxPool (ir/ops/nn_pool.cpp, gradMaxPool) is a
// ScatterElements with reduction "add" of the output gradient, flattened,
// into zeros at the flattened Indices of a MaxPool. A scatter-add has no
// race-free parallel form in general; this one is a gather: each input
// element of the pool visits the few windows that can contain it and adds
// the gradient of those whose maximum it was. The windows are visited in
// ascending output order, the order in which the reference kernel adds the
// updates, and no atomics are needed (deterministic on the GPU too).
#include "codegen/cpu/anchor_kernels.h"
#include "codegen/cpu/lowering_util.h"
#include "ir/ops/nn_util.h"

namespace dlc::codegen {

using ir::DType;
using ir::OpKind;
using kir::BinaryOp;
using kir::Expr;
using namespace kx;

namespace {

const ir::Value* throughViews(const ir::Value* v) {
  while (v->producer() && isViewNode(*v->producer())) v = v->producer()->input(0);
  return v;
}

// The MaxPool whose Indices `n` scatters into, when `n` is that pattern:
// f32 data and updates, 1-D operands, the data as many elements as the
// pool's input, the updates as many as its output.
const ir::Node* scatteredMaxPool(const ir::Node& n) {
  if (n.op() != OpKind::ScatterElements || n.attrString("reduction") != "add" || n.inputs().size() != 3) return nullptr;
  const ir::Value *data = n.input(0), *indices = n.input(1), *updates = n.input(2);
  for (const ir::Value* v : {data, indices, updates})
    if (!v || !v->type().isStatic() || v->type().shape->rank() != 1) return nullptr;
  if (data->dtype() != DType::F32 || updates->dtype() != DType::F32) return nullptr;
  const ir::Value* source = throughViews(indices);
  const ir::Node* pool = source->producer();
  if (!pool || pool->op() != OpKind::MaxPool || source->producerIndex() != 1 || pool->attrInt("storage_order") != 0)
    return nullptr;
  const ir::Value *x = pool->input(0), *y = pool->output(0);
  if (!x->type().isStatic() || !y->type().isStatic()) return nullptr;
  if (*x->type().shape->numElements() != extentsOf(data)[0] || *y->type().shape->numElements() != extentsOf(updates)[0])
    return nullptr;
  return pool;
}

}  // namespace

LoweredKernel lowerMaxPoolGradientScatter(const ir::Node& n) {
  const ir::Node* pool = scatteredMaxPool(n);
  if (!pool) return LoweredKernel{.unsupported = "no lowering for this op yet (only MaxPool's gradient)"};
  std::vector<int64_t> xs = extentsOf(pool->input(0));
  size_t spatial = xs.size() - 2;
  if (spatial < 1 || spatial > 3) return LoweredKernel{.unsupported = "1 to 3 spatial dims only"};
  ir::ops::WindowAttrs w = ir::ops::readWindowAttrs(*pool, spatial, pool->attrInts("kernel_shape"));
  ir::ops::Window3 g = ir::ops::windowOver(w, std::vector<int64_t>(xs.begin() + 2, xs.end()));
  if (g.kernelSize() > 64) return LoweredKernel{.unsupported = "windows of more than 64 elements"};

  LoweredKernel out;
  kir::Kernel& k = out.kernel;
  int data = bindBuffer(k, out.bufferValues, n.input(0), false);
  int indices = bindBuffer(k, out.bufferValues, n.input(1), false);
  int updates = bindBuffer(k, out.bufferValues, n.input(2), false);
  int result = bindBuffer(k, out.bufferValues, n.output(0), true);
  // Points: (plane, i0, i1) x i2, one per element of the pool's input.
  k.extent0 = xs[0] * xs[1] * g.in[0] * g.in[1];
  k.extent1 = g.in[2];
  Expr v0 = kir::var(k.iter0);
  Expr flat = add(mul(v0, i64(g.in[2])), kir::var(k.iter1));
  Expr position[3] = {rem(div(v0, i64(g.in[1])), i64(g.in[0])), rem(v0, i64(g.in[1])), kir::var(k.iter1)};
  Expr plane = div(v0, i64(g.in[0] * g.in[1]));
  kir::Var acc = kir::newVar(k, DType::F32), j = kir::newVar(k);
  k.body.push_back(kir::declare(j, flat));
  k.body.push_back(kir::declare(acc, kir::load(k, data, kir::var(j))));
  // Window offset kk puts input position i under output o = (i + pad -
  // kk * dilation) / stride when that divides exactly and lies in range;
  // offsets from the last down visit the outputs in ascending order.
  kir::Var t[3] = {kir::newVar(k), kir::newVar(k), kir::newVar(k)};
  for (kir::Var v : t) k.body.push_back(kir::declare(v, i64(0)));
  auto hits = [&](int d) {
    Expr tv = kir::var(t[d]);
    return kir::binary(BinaryOp::And,
                       kir::binary(BinaryOp::And, kir::binary(BinaryOp::Ge, tv, i64(0)),
                                   kir::binary(BinaryOp::Eq, rem(tv, i64(g.stride[d])), i64(0))),
                       kir::binary(BinaryOp::Lt, div(tv, i64(g.stride[d])), i64(g.out[d])));
  };
  for (int64_t a = g.kernel[0] - 1; a >= 0; --a)
    for (int64_t b = g.kernel[1] - 1; b >= 0; --b)
      for (int64_t c = g.kernel[2] - 1; c >= 0; --c) {
        int64_t offsets[3] = {a, b, c};
        for (int d = 0; d < 3; ++d)
          k.body.push_back(kir::assign(t[d], add(position[d], i64(g.padBegin[d] - offsets[d] * g.dilation[d]))));
        Expr o[3] = {div(kir::var(t[0]), i64(g.stride[0])), div(kir::var(t[1]), i64(g.stride[1])),
                     div(kir::var(t[2]), i64(g.stride[2]))};
        Expr p = add(mul(plane, i64(g.outSize())), add(mul(add(mul(o[0], i64(g.out[1])), o[1]), i64(g.out[2])), o[2]));
        Expr inside = kir::binary(BinaryOp::And, kir::binary(BinaryOp::And, hits(0), hits(1)), hits(2));
        k.body.push_back(kir::ifThen(
            inside, {kir::ifThen(kir::binary(BinaryOp::Eq, kir::load(k, indices, p), kir::var(j)),
                                 {kir::assign(acc, add(kir::var(acc), kir::load(k, updates, p)))})}));
      }
  k.body.push_back(kir::store(k, result, kir::var(j), kir::var(acc)));
  return out;
}

}  // namespace dlc::codegen
