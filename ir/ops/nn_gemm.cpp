// Gemm: Y = alpha * op(A) * op(B) + beta * C, op = optional transpose, C
// broadcast unidirectionally to [M, N].
#include "ir/ops/nn_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

static void inferGemm(InferContext& ctx) {
  DType t = ctx.inputDType(0);
  for (size_t i = 1; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i) && ctx.inputDType(i) != t)
      ctx.fail("operands must have the same dtype, found {} and {}", dtypeName(t), dtypeName(ctx.inputDType(i)));
  const auto& sa = ctx.inputShape(0);
  const auto& sb = ctx.inputShape(1);
  if ((sa && sa->rank() != 2) || (sb && sb->rank() != 2))
    ctx.fail("A and B must be matrices, found {} and {}", ctx.inputType(0).str(), ctx.inputType(1).str());
  bool transA = ctx.node().attrInt("transA") != 0, transB = ctx.node().attrInt("transB") != 0;
  Dim m = sa ? (*sa)[transA ? 1 : 0] : Dim::unknown();
  Dim ka = sa ? (*sa)[transA ? 0 : 1] : Dim::unknown();
  Dim kb = sb ? (*sb)[transB ? 1 : 0] : Dim::unknown();
  Dim n = sb ? (*sb)[transB ? 0 : 1] : Dim::unknown();
  if (ka.isStatic() && kb.isStatic() && ka.value() != kb.value())
    ctx.fail("inner dimensions differ: op(A) is [{},{}], op(B) is [{},{}]", m.str(), ka.str(), kb.str(), n.str());
  if (ctx.hasInput(2) && ctx.inputShape(2)) {
    const Shape& sc = *ctx.inputShape(2);
    if (sc.rank() > 2) ctx.fail("C must have rank <= 2, found {}", sc.str());
    Dim target[2] = {m, n};
    for (size_t i = 0; i < sc.rank(); ++i) {
      const Dim& d = sc[i];
      const Dim& want = target[2 - sc.rank() + i];
      if (d.isStatic() && d.value() != 1 && want.isStatic() && d.value() != want.value())
        ctx.fail("C of shape {} does not broadcast to [{},{}]", sc.str(), m.str(), n.str());
    }
  }
  ctx.setOutput(0, TensorType(t, Shape(std::vector<Dim>{m, n})));
}

static void evalGemm(EvalContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.rank() != 2 || b.rank() != 2)
    ctx.fail("A and B must be matrices, found {} and {}", extentsStr(a.shape()), extentsStr(b.shape()));
  if (a.dtype() != b.dtype()) ctx.fail("A and B must have the same dtype");
  bool transA = ctx.node().attrInt("transA") != 0, transB = ctx.node().attrInt("transB") != 0;
  double alpha = ctx.node().attrFloat("alpha"), beta = ctx.node().attrFloat("beta");
  int64_t m = a.dim(transA ? 1 : 0), k = a.dim(transA ? 0 : 1);
  int64_t kb = b.dim(transB ? 1 : 0), n = b.dim(transB ? 0 : 1);
  if (k != kb) ctx.fail("inner dimensions differ: op(A) is [{},{}], op(B) is [{},{}]", m, k, kb, n);
  // Strides of C broadcast to [M, N] (zero where C has extent 1 or is missing).
  int64_t cStrideM = 0, cStrideN = 0;
  const Tensor* c = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (c) {
    if (c->dtype() != a.dtype()) ctx.fail("C must have the dtype of A");
    if (c->rank() > 2) ctx.fail("C must have rank <= 2, found {}", extentsStr(c->shape()));
    std::vector<int64_t> cs = c->shape();
    while (cs.size() < 2) cs.insert(cs.begin(), 1);
    if ((cs[0] != 1 && cs[0] != m) || (cs[1] != 1 && cs[1] != n))
      ctx.fail("C of shape {} does not broadcast to [{},{}]", extentsStr(c->shape()), m, n);
    cStrideM = cs[0] == 1 ? 0 : cs[1];
    cStrideN = cs[1] == 1 ? 0 : 1;
  }
  Tensor out(a.dtype(), {m, n});
  dispatchDType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("Gemm does not support bool tensors");
    } else {
      using Acc = AccumulatorType<T>;
      auto pa = a.data<T>();
      auto pb = b.data<T>();
      auto po = out.data<T>();
      int64_t aStrideM = transA ? 1 : k, aStrideK = transA ? m : 1;
      int64_t bStrideK = transB ? 1 : n, bStrideN = transB ? k : 1;
      std::vector<Acc> row(static_cast<size_t>(n));
      const T* pc = c ? c->data<T>().data() : nullptr;
      for (int64_t i = 0; i < m; ++i) {
        std::fill(row.begin(), row.end(), Acc{});
        for (int64_t p = 0; p < k; ++p) {
          Acc av = Acc(toCompute(pa[i * aStrideM + p * aStrideK]));
          const T* brow = pb.data() + p * bStrideK;
          for (int64_t j = 0; j < n; ++j) row[j] += av * Acc(toCompute(brow[j * bStrideN]));
        }
        for (int64_t j = 0; j < n; ++j) {
          double v = accumulatorToDouble<T>(row[j]) * alpha;
          if (pc) v += beta * double(toCompute(pc[i * cStrideM + j * cStrideN]));
          if constexpr (kIsFloatStorage<T>) po[i * n + j] = fromCompute<T>(static_cast<ComputeType<T>>(v));
          else if (alpha == 1.0 && (!c || beta == 1.0))  // exact integer arithmetic in the common case
            po[i * n + j] = fromAccumulator<T>(row[j] + (pc ? Acc(pc[i * cStrideM + j * cStrideN]) : Acc(0)));
          else po[i * n + j] = saturatingRound<T>(v);
        }
      }
    }
  });
  ctx.setOutput(0, std::move(out));
}


// Gradient rule of Y = alpha op(A) op(B) + beta C, written with Gemm:
// dA = alpha g op(B)^T (transposed back if transA), dB = alpha op(A)^T g
// (likewise), dC = beta g summed to C's shape.
static std::vector<Value*> gradGemm(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  const Node& n = ctx.node();
  double alpha = n.attrFloat("alpha"), beta = n.attrFloat("beta");
  int64_t ta = n.attrInt("transA") != 0, tb = n.attrInt("transB") != 0;
  Value *a = ctx.input(0), *w = ctx.input(1), *g = ctx.outputGrad(0);
  auto gemm = [&](Value* x, Value* y, int64_t tx, int64_t ty) {
    Attributes at;
    at.set("alpha", alpha);
    at.set("transA", tx);
    at.set("transB", ty);
    return b.op(OpKind::Gemm, {x, y}, std::move(at));
  };
  Value* da = !ctx.needsGrad(0) ? nullptr : ta ? gemm(w, g, tb, 1) : gemm(g, w, 0, 1 - tb);
  Value* dw = !ctx.needsGrad(1) ? nullptr : tb ? gemm(g, a, 1, ta) : gemm(a, g, 1 - ta, 0);
  Value* dc = nullptr;
  if (ctx.needsGrad(2)) dc = unbroadcast(b, b.mul(g, b.scalarLike(g, beta)), ctx.input(2));
  return {da, dw, dc};
}

const OpDef kGemmDef{
    .name = "Gemm", .minInputs = 2, .maxInputs = 3, .traits = kDifferentiable,
    .attrs = {{"alpha", AttrKind::Float, 1.0},
              {"beta", AttrKind::Float, 1.0},
              {"transA", AttrKind::Int, int64_t(0)},
              {"transB", AttrKind::Int, int64_t(0)}},
    .infer = inferGemm,
    .eval = evalGemm,
    .grad = gradGemm,
};

}  // namespace dlc::ir
