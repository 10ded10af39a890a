// Shape-op folding. Types are inferred once, at import, so when constant
// folding turns an operand of a shape computation into a constant (Shape of a
// static value, then Slice, Concat, ...), the readers' types stay as vague as
// they were (i64[?], f32[*]) and folding stops there. This pass alternates
// re-inference, in node order, with constant folding until folding changes
// nothing. Re-inference only refines: a result takes the new type when the
// old one was not static, the dtype agrees, and the rank (if known) and every
// known extent or named symbol are kept (only unknown dims become known); a
// node whose inference now fails keeps its types. Folded nodes are removed
// between rounds (with any other dead node).
// Pre: a valid, type-inferred graph. Post: no foldable node remains and every
// type is as precise as inference can make it.
#include "ir/infer.h"
#include "passes/pass.h"

namespace dlc::passes {

namespace {

bool refines(const ir::TensorType& old, const ir::TensorType& now) {
  if (old.isStatic() || old.dtype != now.dtype || !now.shape) return false;
  if (!old.shape) return true;
  if (old.shape->rank() != now.shape->rank()) return false;
  for (size_t i = 0; i < old.shape->rank(); ++i)
    if (!(*old.shape)[i].isUnknown() && !((*old.shape)[i] == (*now.shape)[i])) return false;
  return !(old == now);
}

// Re-infers every node; returns whether a type became more precise.
bool refineTypes(ir::Graph& graph) {
  bool changed = false;
  for (ir::Node* node : graph.nodes()) {
    std::vector<ir::TensorType> old;
    for (const ir::Value* v : node->outputs()) old.push_back(v->type());
    bool ok = true;
    try {
      ir::inferNode(*node);
    } catch (const UserError&) {
      ok = false;
    }
    for (size_t i = 0; i < old.size(); ++i) {
      ir::Value* v = node->output(i);
      if (ok && refines(old[i], v->type())) changed = true;
      else v->setType(old[i]);
    }
  }
  return changed;
}

}  // namespace

bool foldShapes(ir::Graph& graph, const PassContext& ctx) {
  bool changed = false;
  for (int round = 0; round < 64; ++round) {
    bool refined = refineTypes(graph);
    bool folded = foldConstants(graph, ctx);
    changed |= refined || folded;
    if (!folded) break;
    graph.removeDeadNodes();  // folded nodes would otherwise fold again
  }
  return changed;
}

}  // namespace dlc::passes
