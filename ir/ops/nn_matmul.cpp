// MatMul with numpy semantics: 1-D operands are promoted and the promoted
// dim removed; leading (batch) dims broadcast.
#include "ir/ops/nn_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace ops {

std::optional<Shape> matMulShape(const InferContext& ctx, size_t ia, size_t ib) {
  const TensorType& a = ctx.inputType(ia);
  const TensorType& b = ctx.inputType(ib);
  if (!a.shape || !b.shape) return std::nullopt;
  Shape sa = *a.shape, sb = *b.shape;
  if (sa.rank() == 0 || sb.rank() == 0) ctx.fail("MatMul operands must have rank >= 1");
  bool vecA = sa.rank() == 1, vecB = sb.rank() == 1;
  if (vecA) sa = Shape(std::vector<Dim>{Dim(1), sa[0]});
  if (vecB) sb = Shape(std::vector<Dim>{sb[0], Dim(1)});
  const Dim& k1 = sa[sa.rank() - 1];
  const Dim& k2 = sb[sb.rank() - 2];
  if (k1.isStatic() && k2.isStatic() && k1.value() != k2.value())
    ctx.fail("inner dimensions differ: {} x {}", a.shape->str(), b.shape->str());
  Shape batchA(std::vector<Dim>(sa.dims().begin(), sa.dims().end() - 2));
  Shape batchB(std::vector<Dim>(sb.dims().begin(), sb.dims().end() - 2));
  std::vector<Dim> dims = broadcastShapes(batchA, batchB).dims();
  if (!vecA) dims.push_back(sa[sa.rank() - 2]);
  if (!vecB) dims.push_back(sb[sb.rank() - 1]);
  return Shape(dims);
}

Tensor matMulTensors(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) throwUserError("MatMul operands have different dtypes");
  if (a.rank() == 0 || b.rank() == 0) throwUserError("MatMul operands must have rank >= 1");
  std::vector<int64_t> sa = a.shape(), sb = b.shape();
  bool vecA = sa.size() == 1, vecB = sb.size() == 1;
  if (vecA) sa.insert(sa.begin(), 1);
  if (vecB) sb.push_back(1);
  int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k)
    throwUserError("inner dimensions differ: {} x {}", extentsStr(a.shape()), extentsStr(b.shape()));
  std::vector<int64_t> batchA(sa.begin(), sa.end() - 2), batchB(sb.begin(), sb.end() - 2);
  std::vector<int64_t> batch = broadcastExtents(batchA, batchB);
  std::vector<int64_t> fullShape = batch;
  fullShape.push_back(m);
  fullShape.push_back(n);
  Tensor out(a.dtype(), fullShape);
  std::vector<int64_t> strideA = broadcastStrides(batchA, batch);
  std::vector<int64_t> strideB = broadcastStrides(batchB, batch);
  dispatchDType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Acc = AccumulatorType<T>;
    auto pa = a.data<T>();
    auto pb = b.data<T>();
    auto po = out.data<T>();
    int64_t batchIndex = 0;
    forEachIndex(batch, [&](const std::vector<int64_t>& idx) {
      const T* A = pa.data() + offsetOf(idx, strideA) * m * k;
      const T* B = pb.data() + offsetOf(idx, strideB) * k * n;
      T* O = po.data() + batchIndex++ * m * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          Acc acc{};
          for (int64_t p = 0; p < k; ++p) acc += Acc(toCompute(A[i * k + p])) * Acc(toCompute(B[p * n + j]));
          O[i * n + j] = fromAccumulator<T>(acc);
        }
    });
  });
  std::vector<int64_t> outShape = batch;
  if (!vecA) outShape.push_back(m);
  if (!vecB) outShape.push_back(n);
  return out.reshaped(outShape);
}

}  // namespace ops

static void inferMatMul(InferContext& ctx) {
  DType a = ctx.inputDType(0), b = ctx.inputDType(1);
  if (a != b) ctx.fail("operands have different dtypes {} and {}", dtypeName(a), dtypeName(b));
  auto shape = matMulShape(ctx, 0, 1);
  ctx.setOutput(0, shape ? TensorType(a, *shape) : TensorType::unranked(a));
}


// Gradient rule: dA = g B^T, dB = A^T g over the last two axes, summed over
// broadcast batch axes; 1-D operands are promoted to matrices and back.
static std::vector<Value*> gradMatMul(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *a = ctx.input(0), *w = ctx.input(1), *g = ctx.outputGrad(0);
  int64_t ra = rankOf(a), rw = rankOf(w);
  Value* a2 = ra == 1 ? b.op(OpKind::Unsqueeze, {a, b.ints({0})}) : a;
  Value* w2 = rw == 1 ? b.op(OpKind::Unsqueeze, {w, b.ints({1})}) : w;
  Value* g2 = g;
  if (ra == 1 && rw == 1) g2 = b.op(OpKind::Unsqueeze, {g, b.ints({0, 1})});
  else if (ra == 1) g2 = b.op(OpKind::Unsqueeze, {g, b.ints({-2})});
  else if (rw == 1) g2 = b.op(OpKind::Unsqueeze, {g, b.ints({-1})});
  auto swapLast = [&](Value* v) {
    std::vector<int64_t> perm;
    int64_t r = rankOf(v);
    for (int64_t i = 0; i < r - 2; ++i) perm.push_back(i);
    perm.push_back(r - 1);
    perm.push_back(r - 2);
    return b.transpose(v, perm);
  };
  Value *da = nullptr, *dw = nullptr;
  if (ctx.needsGrad(0)) {
    da = unbroadcast(b, b.op(OpKind::MatMul, {g2, swapLast(w2)}), a2);
    if (ra == 1) da = b.op(OpKind::Squeeze, {da, b.ints({0})});
  }
  if (ctx.needsGrad(1)) {
    dw = unbroadcast(b, b.op(OpKind::MatMul, {swapLast(a2), g2}), w2);
    if (rw == 1) dw = b.op(OpKind::Squeeze, {dw, b.ints({1})});
  }
  return {da, dw};
}

const OpDef kMatMulDef{
    .name = "MatMul", .minInputs = 2, .maxInputs = 2, .traits = kDifferentiable,
    .infer = inferMatMul,
    .eval = [](EvalContext& ctx) { ctx.setOutput(0, matMulTensors(ctx.input(0), ctx.input(1))); },
    .grad = gradMatMul,
};

}  // namespace dlc::ir
