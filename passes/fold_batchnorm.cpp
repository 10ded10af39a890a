// BatchNorm folding. An inference-mode BatchNormalization with constant
// scale, B, mean and var computes y = x * s + t per channel (dim 1), with
// s = scale / sqrt(var + epsilon) and t = B - mean * s.
//  - After a Conv with a constant weight (and constant or absent bias) whose
//    only reader is the BN: W'[m,...] = W[m,...] * s[m], b' = b * s + t.
//  - After a Gemm with a constant B (result [M,N], channels N) whose only
//    reader is the BN: B's columns scale by s, C' = beta * C * s + t, beta = 1.
//  - After a 2-D MatMul with a constant [K,N] weight whose only reader is the
//    BN: it becomes Gemm(A, W * s, t).
//  - Otherwise (X of known rank): Mul(X, s) then Add(t), with s and t shaped
//    [C,1,...,1] so that they broadcast over (N, C, D...) and fuse later as an
//    elementwise epilogue.
// The folded node takes the BN's origins. Pre: a valid, type-inferred graph.
// Post: no foldable BN is read (DCE removes it); nodes stay topologically ordered.
#include <cmath>

#include "ir/infer.h"
#include "ir/op_def.h"
#include "passes/graph_util.h"
#include "passes/pass.h"

namespace dlc::passes {

namespace {

struct Affine {
  std::vector<double> s, t;
};

// The per-channel affine form of a foldable BN, or nullopt.
std::optional<Affine> affineOf(const ir::Node& bn) {
  if (bn.attrInt("training_mode") != 0 || bn.outputs().size() != 1) return std::nullopt;
  auto scale = constantDoubles(bn.input(1)), bias = constantDoubles(bn.input(2));
  auto mean = constantDoubles(bn.input(3)), var = constantDoubles(bn.input(4));
  if (!scale || !bias || !mean || !var) return std::nullopt;
  size_t c = scale->size();
  if (bias->size() != c || mean->size() != c || var->size() != c) return std::nullopt;
  double eps = bn.attrFloat("epsilon");
  Affine a;
  for (size_t i = 0; i < c; ++i) {
    double s = (*scale)[i] / std::sqrt((*var)[i] + eps);
    a.s.push_back(s);
    a.t.push_back((*bias)[i] - (*mean)[i] * s);
  }
  return a;
}

ir::Value* addTensor(ir::Graph& g, const std::string& base, ir::DType dtype, std::vector<int64_t> shape,
                     const std::vector<double>& values) {
  ir::Tensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, values[size_t(i)]);
  return g.addConstant(g.uniqueName(base), std::move(t));
}

// `producer`'s result feeds only `bn` (and is not a graph result).
bool onlyFeeds(const Users& users, const ir::Node& producer, const ir::Node& bn) {
  const ir::Value* out = producer.output(0);
  return producer.outputs().size() == 1 && !users.isGraphOutput(out) && users.of(out).size() == 1 &&
         users.of(out)[0] == &bn;
}

void takeOrigins(ir::Node& into, const ir::Node& from) {
  for (const auto& o : from.origins()) into.addOrigin(o);
}

bool foldIntoConv(ir::Graph& g, ir::Node& conv, ir::Node& bn, const Affine& a) {
  const ir::Value* w = conv.input(1);
  if (!w->isConstant() || !ir::isFloat(w->dtype()) || w->constant().rank() < 1) return false;
  if (conv.hasInput(2) && !conv.input(2)->isConstant()) return false;
  const ir::Tensor& wt = w->constant();
  int64_t m = wt.dim(0);
  if (m != int64_t(a.s.size())) return false;
  int64_t per = m == 0 ? 0 : wt.numel() / m;
  std::vector<double> wv(static_cast<size_t>(wt.numel())), bv(static_cast<size_t>(m));
  for (int64_t i = 0; i < wt.numel(); ++i) wv[size_t(i)] = wt.getDouble(i) * a.s[size_t(i / per)];
  auto b = constantDoubles(conv.input(2));
  if (b && int64_t(b->size()) != m) return false;
  for (int64_t i = 0; i < m; ++i) bv[size_t(i)] = (b ? (*b)[size_t(i)] : 0.0) * a.s[size_t(i)] + a.t[size_t(i)];
  conv.setInput(1, addTensor(g, w->name() + ".bn", wt.dtype(), wt.shape(), wv));
  conv.setInput(2, addTensor(g, conv.output(0)->name() + ".bias.bn", wt.dtype(), {m}, bv));
  takeOrigins(conv, bn);
  g.replaceAllUsesWith(bn.output(0), conv.output(0));
  return true;
}

// Gemm(A, B, C): result [M,N]; the BN's channels are N.
bool foldIntoGemm(ir::Graph& g, ir::Node& gemm, ir::Node& bn, const Affine& a) {
  const ir::Value* bval = gemm.input(1);
  const auto& outType = gemm.output(0)->type();
  if (!bval->isConstant() || bval->constant().rank() != 2 || !outType.isStatic()) return false;
  if (gemm.hasInput(2) && !gemm.input(2)->isConstant()) return false;
  const ir::Tensor& bt = bval->constant();
  auto extents = outType.shape->extents();
  int64_t rows = extents[0], n = extents[1];
  if (n != int64_t(a.s.size())) return false;
  bool transB = gemm.attrInt("transB") != 0;
  std::vector<double> bv(size_t(bt.numel()));
  for (int64_t i = 0; i < bt.dim(0); ++i)
    for (int64_t j = 0; j < bt.dim(1); ++j)
      bv[size_t(i * bt.dim(1) + j)] = bt.getDouble(i * bt.dim(1) + j) * a.s[size_t(transB ? i : j)];
  // C broadcast to [N] or, if it varies along M, to [M,N].
  double beta = gemm.attrFloat("beta");
  std::vector<int64_t> cShape = gemm.hasInput(2) ? gemm.input(2)->constant().shape() : std::vector<int64_t>{};
  bool perRow = cShape.size() == 2 && cShape[0] != 1;
  int64_t cRows = perRow ? rows : 1;
  std::vector<double> cv(size_t(cRows * n));
  for (int64_t r = 0; r < cRows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double c = 0;
      if (gemm.hasInput(2)) {
        const ir::Tensor& ct = gemm.input(2)->constant();
        int64_t at = 0;
        if (cShape.size() == 2) at = (cShape[0] == 1 ? 0 : r) * cShape[1] + (cShape[1] == 1 ? 0 : j);
        else if (cShape.size() == 1) at = cShape[0] == 1 ? 0 : j;
        c = ct.getDouble(at);
      }
      cv[size_t(r * n + j)] = beta * c * a.s[size_t(j)] + a.t[size_t(j)];
    }
  gemm.setInput(1, addTensor(g, bval->name() + ".bn", bt.dtype(), bt.shape(), bv));
  gemm.setInput(2, addTensor(g, gemm.output(0)->name() + ".bias.bn", bt.dtype(),
                             perRow ? std::vector<int64_t>{rows, n} : std::vector<int64_t>{n}, cv));
  gemm.attrs().set("beta", 1.0);
  takeOrigins(gemm, bn);
  g.replaceAllUsesWith(bn.output(0), gemm.output(0));
  return true;
}

// MatMul(A[M,K], W[K,N]) -> Gemm(A, W * s, t).
bool foldIntoMatMul(ir::Graph& g, ir::Node& mm, ir::Node& bn, const Affine& a) {
  ir::Value* w = mm.input(1);
  const auto& aType = mm.input(0)->type();
  if (!w->isConstant() || w->constant().rank() != 2 || !aType.shape || aType.shape->rank() != 2) return false;
  if (mm.output(0)->dtype() != ir::DType::F32) return false;  // Gemm is for floats; keep to f32
  const ir::Tensor& wt = w->constant();
  int64_t n = wt.dim(1);
  if (n != int64_t(a.s.size())) return false;
  std::vector<double> wv(size_t(wt.numel()));
  for (int64_t i = 0; i < wt.numel(); ++i) wv[size_t(i)] = wt.getDouble(i) * a.s[size_t(i % n)];
  ir::Value* w2 = addTensor(g, w->name() + ".bn", wt.dtype(), wt.shape(), wv);
  ir::Value* c = addTensor(g, mm.output(0)->name() + ".bias.bn", wt.dtype(), {n}, a.t);
  ir::Node* gemm = g.addNode(ir::OpKind::Gemm, {mm.input(0), w2, c}, 1, {}, mm.name());
  takeOrigins(*gemm, mm);
  takeOrigins(*gemm, bn);
  ir::inferNode(*gemm);
  replaceKeepingName(g, bn.output(0), gemm->output(0));
  return true;
}

// y = x * s + t with s, t of shape [C,1,...,1].
bool rewriteAsMulAdd(ir::Graph& g, ir::Node& bn, const Affine& a) {
  ir::Value* x = bn.input(0);
  if (!x->type().shape || x->type().shape->rank() < 2) return false;
  std::vector<int64_t> shape(x->type().shape->rank() - 1, 1);
  shape[0] = int64_t(a.s.size());
  const std::string& base = bn.output(0)->name();
  ir::Value* s = addTensor(g, base + ".scale", x->dtype(), shape, a.s);
  ir::Value* t = addTensor(g, base + ".shift", x->dtype(), shape, a.t);
  ir::Node* mul = g.addNode(ir::OpKind::Mul, {x, s}, 1, {}, bn.name());
  takeOrigins(*mul, bn);
  ir::inferNode(*mul);
  ir::Node* add = g.addNode(ir::OpKind::Add, {mul->output(0), t}, 1, {}, bn.name());
  takeOrigins(*add, bn);
  ir::inferNode(*add);
  replaceKeepingName(g, bn.output(0), add->output(0));
  return true;
}

}  // namespace

bool foldBatchNorm(ir::Graph& graph, const PassContext&) {
  bool changed = false;
  for (ir::Node* bn : graph.nodes()) {
    if (bn->op() != ir::OpKind::BatchNormalization) continue;
    auto affine = affineOf(*bn);
    if (!affine) continue;
    Users users(graph);
    ir::Node* p = bn->input(0)->producer();
    bool folded = false;
    if (p && onlyFeeds(users, *p, *bn)) {
      if (p->op() == ir::OpKind::Conv) folded = foldIntoConv(graph, *p, *bn, *affine);
      else if (p->op() == ir::OpKind::Gemm) folded = foldIntoGemm(graph, *p, *bn, *affine);
      else if (p->op() == ir::OpKind::MatMul) folded = foldIntoMatMul(graph, *p, *bn, *affine);
    }
    if (!folded) folded = rewriteAsMulAdd(graph, *bn, *affine);
    changed |= folded;
  }
  if (changed) sortTopologically(graph);
  return changed;
}

}  // namespace dlc::passes
