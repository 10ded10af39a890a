// Constant folding through the reference interpreter. A node is folded when
// all its operands are constants (or, for Shape and Size, when its operand's
// shape is static), it has no subgraphs, is deterministic, and its results
// are small enough. Its results become constants; the node is left for DCE.
// A result whose shape inference could not know (e.g. a Slice of a shape
// that was itself folded) is folded when the operands are small, then
// checked. After a sweep that folded something, types are inferred again
// (folded constants make shapes static downstream) and the sweep repeats.
// Pre: a valid, type-inferred graph. Post: no foldable node remains.
#include <algorithm>
#include <unordered_set>

#include "ir/interpreter.h"
#include "ir/op_def.h"
#include "ir/infer.h"
#include "passes/graph_util.h"
#include "passes/pass.h"

namespace dlc::passes {

namespace {

// Shape and Size need only the operand's (static) shape, not its values.
bool readsOnlyShape(const ir::Node& n) { return n.op() == ir::OpKind::Shape || n.op() == ir::OpKind::Size; }

bool foldable(const ir::Node& n) {
  if (hasSubgraph(n) || n.def().has(ir::kNondeterministic)) return false;
  for (const ir::Value* v : n.inputs()) {
    if (!v) continue;
    if (v->isConstant()) continue;
    if (readsOnlyShape(n) && v->type().isStatic()) continue;
    return false;
  }
  return true;
}

// Shape/Size of an operand with a static shape, computed from its extents.
ir::Tensor foldShapeQuery(const ir::Node& node) {
  auto extents = node.input(0)->type().shape->extents();
  if (node.op() == ir::OpKind::Size) return ir::Tensor::scalar<int64_t>(ir::checkedNumElements(extents));
  int64_t rank = int64_t(extents.size());
  int64_t start = node.attrInt("start"), end = node.hasAttr("end") ? node.attrInt("end") : rank;
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  return ir::Tensor::fromVector<int64_t>({end - start},
                                         std::vector<int64_t>(extents.begin() + start, extents.begin() + end));
}

}  // namespace

namespace {

bool foldSweep(ir::Graph& graph, const PassContext& ctx, std::unordered_set<const ir::Node*>& folded) {
  bool changed = false;
  for (ir::Node* node : graph.nodes()) {
    if (folded.count(node) || !foldable(*node)) continue;
    bool small = true;
    int64_t operandElements = 0;
    for (const ir::Value* v : node->inputs())
      if (v && v->isConstant()) operandElements += v->constant().numel();
    for (const ir::Value* out : node->outputs()) {
      auto n = out->type().shape ? out->type().shape->numElements() : std::nullopt;
      // Unknown result sizes: try when the operands are small; checked below.
      small &= n.has_value() ? *n <= ctx.maxFoldedElements : operandElements <= ctx.maxFoldedElements;
    }
    if (!small) continue;
    std::vector<ir::Tensor> results;
    if (readsOnlyShape(*node) && !node->input(0)->isConstant()) {
      results.push_back(foldShapeQuery(*node));
    } else {
      std::vector<const ir::Tensor*> args;
      for (const ir::Value* v : node->inputs()) args.push_back(v ? &v->constant() : nullptr);
      try {
        results = ir::evalNode(*node, args);
      } catch (const UserError&) {
        continue;  // leave the error to run time, where it is reported with the inputs
      }
    }
    bool tooBig = false;
    for (const ir::Tensor& r : results) tooBig |= r.numel() > ctx.maxFoldedElements;
    if (tooBig) continue;
    folded.insert(node);
    for (size_t i = 0; i < results.size(); ++i) {
      ir::Value* c = graph.addConstant(graph.uniqueName(node->output(i)->name() + ".folded"), std::move(results[i]));
      graph.replaceAllUsesWith(node->output(i), c);
    }
    changed = true;
  }
  return changed;
}

}  // namespace

bool foldConstants(ir::Graph& graph, const PassContext& ctx) {
  bool changed = false;
  std::unordered_set<const ir::Node*> folded;  // left in place for DCE
  while (foldSweep(graph, ctx, folded)) {
    changed = true;
    ir::inferTypes(graph);
  }
  return changed;
}

}  // namespace dlc::passes
