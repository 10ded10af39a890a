// Transpose and reshape simplification.
//  - Transpose(Transpose(x, p1), p2) becomes Transpose(x, q) with
//    q[i] = p1[p2[i]]; a Transpose whose permutation is the identity is
//    replaced by its operand; one with static shapes that moves only dims of
//    extent 1 (the others keep their order: the same elements in the same
//    memory order, e.g. [128, 1, 256] -> [1, 128, 256]) becomes a Reshape,
//    which the backends run as a view.
//  - A Reshape, Flatten, Squeeze or Unsqueeze with static operand and result
//    shapes, reading (through any chain of such ops with static shapes) the
//    value x, becomes one Reshape(x, constant extents) (allowzero = 1 when
//    an extent is 0); when x already has the result's shape, x replaces it.
// A result that is a graph output is not replaced by a graph input or another
// output (the model's interface keeps its names). Pre: a valid, type-inferred
// graph. Post: no Transpose reads a Transpose, no reshape-like op with static
// shapes reads another or is an identity; superseded nodes are left for DCE.
#include <algorithm>
#include <numeric>

#include "ir/infer.h"
#include "ir/op_def.h"
#include "passes/graph_util.h"
#include "passes/pass.h"

namespace dlc::passes {

namespace {

bool isReshapeLike(const ir::Node& n) {
  switch (n.op()) {
    case ir::OpKind::Reshape:
    case ir::OpKind::Flatten:
    case ir::OpKind::Squeeze:
    case ir::OpKind::Unsqueeze:
      return n.outputs().size() == 1;
    default:
      return false;
  }
}

// The permutation of a Transpose (default: reversed axes), or nullopt if the rank is unknown.
std::optional<std::vector<int64_t>> permutationOf(const ir::Node& t) {
  if (t.hasAttr("perm")) return t.attrInts("perm");
  const auto& shape = t.input(0)->type().shape;
  if (!shape) return std::nullopt;
  std::vector<int64_t> p(shape->rank());
  std::iota(p.rbegin(), p.rend(), 0);
  return p;
}

bool isIdentity(const std::vector<int64_t>& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != int64_t(i)) return false;
  return true;
}

// Replaces `old` by `replacement` unless that would rename the graph's interface.
bool replaceValue(ir::Graph& g, ir::Value* old, ir::Value* replacement) {
  const auto& outs = g.outputs();
  bool oldIsOutput = std::find(outs.begin(), outs.end(), old) != outs.end();
  bool replacementIsInterface =
      replacement->isGraphInput() || std::find(outs.begin(), outs.end(), replacement) != outs.end();
  if (oldIsOutput && replacementIsInterface) return false;
  g.replaceAllUsesWith(old, replacement);
  return true;
}

// A Reshape of `src` to `out`'s static extents, named and located as `n`;
// replaces `out`.
void replaceByReshape(ir::Graph& g, const ir::Node& n, ir::Value* src, ir::Value* out,
                      const std::vector<const ir::Node*>& alsoFrom = {}) {
  auto extents = out->type().shape->extents();
  bool hasZero = std::find(extents.begin(), extents.end(), 0) != extents.end();
  ir::Value* shape = g.addConstant(g.uniqueName(out->name() + ".shape"),
                                   ir::Tensor::fromVector<int64_t>({int64_t(extents.size())}, extents));
  ir::Attributes attrs;
  if (hasZero) attrs.set("allowzero", int64_t(1));
  ir::Node* r = g.addNode(ir::OpKind::Reshape, {src, shape}, 1, attrs, n.name());
  for (const auto& o : n.origins()) r->addOrigin(o);
  for (const ir::Node* s : alsoFrom)
    for (const auto& o : s->origins()) r->addOrigin(o);
  ir::inferNode(*r);
  replaceKeepingName(g, out, r->output(0));
}

// The permutation moves only dims of extent 1 of `in`.
bool movesOnlyUnitDims(const std::vector<int64_t>& perm, const std::vector<int64_t>& in) {
  int64_t last = -1;
  for (int64_t axis : perm) {
    if (axis < 0 || axis >= int64_t(in.size())) return false;
    if (in[size_t(axis)] == 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

bool simplifyTranspose(ir::Graph& g, ir::Node& t) {
  bool changed = false;
  auto outer = permutationOf(t);
  if (!outer) return false;
  ir::Node* inner = t.input(0)->producer();
  if (inner && inner->op() == ir::OpKind::Transpose) {
    if (auto p1 = permutationOf(*inner); p1 && p1->size() == outer->size()) {
      std::vector<int64_t> q(outer->size());
      for (size_t i = 0; i < q.size(); ++i) q[i] = (*p1)[size_t((*outer)[i])];
      t.setInput(0, inner->input(0));
      t.attrs().set("perm", q);
      for (const auto& o : inner->origins()) t.addOrigin(o);
      *outer = q;
      changed = true;
    }
  }
  if (isIdentity(*outer)) return changed | replaceValue(g, t.output(0), t.input(0));
  if (isStatic(t.input(0)) && isStatic(t.output(0)) &&
      movesOnlyUnitDims(*outer, t.input(0)->type().shape->extents())) {
    replaceByReshape(g, t, t.input(0), t.output(0));
    return true;
  }
  return changed;
}

bool simplifyReshape(ir::Graph& g, ir::Node& n) {
  ir::Value* out = n.output(0);
  if (!isStatic(out) || !isStatic(n.input(0))) return false;
  ir::Value* src = n.input(0);
  std::vector<const ir::Node*> skipped;
  while (src->producer() && isReshapeLike(*src->producer()) && isStatic(src->producer()->input(0))) {
    skipped.push_back(src->producer());
    src = src->producer()->input(0);
  }
  if (src->type().shape == out->type().shape) return replaceValue(g, out, src);
  auto extents = out->type().shape->extents();
  if (n.op() == ir::OpKind::Reshape && src == n.input(0) && n.input(1)->isConstant() &&
      n.input(1)->constant().toInts() == extents)
    return false;  // already one Reshape by constant extents
  replaceByReshape(g, n, src, out, skipped);
  return true;
}

}  // namespace

bool simplifyLayout(ir::Graph& graph, const PassContext&) {
  bool changed = false;
  for (ir::Node* n : graph.nodes()) {
    if (n->op() == ir::OpKind::Transpose) changed |= simplifyTranspose(graph, *n);
    else if (isReshapeLike(*n)) changed |= simplifyReshape(graph, *n);
  }
  if (changed) sortTopologically(graph);
  return changed;
}

}  // namespace dlc::passes
