// Common-subexpression elimination: two nodes with the same op, operands
// and attributes compute the same results (for deterministic ops without
// subgraphs), and two constants with the same dtype, shape and bytes are the
// same value. Later duplicates are replaced by the first; DCE removes them.
// A MaxPool whose results are a prefix of an identical MaxPool's (the
// forward pool, and the one with Indices that its gradient adds) is replaced
// by the wider one, which moves up before its new readers.
// Pre: a valid graph. Post: no two mergeable nodes or constants remain;
// nodes in topological order.
#include <cstring>
#include <map>
#include <unordered_set>

#include "ir/op_def.h"
#include "passes/graph_util.h"
#include "passes/pass.h"

namespace dlc::passes {

namespace {

bool sameBytes(const ir::Tensor& a, const ir::Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.byteSize() == 0 || std::memcmp(a.rawData(), b.rawData(), a.byteSize()) == 0);
}

bool mergeable(const ir::Node& n) {
  if (n.def().has(ir::kNondeterministic)) return false;
  for (const auto& [name, attr] : n.attrs().all())
    if (std::holds_alternative<std::shared_ptr<ir::Graph>>(attr)) return false;
  return true;
}

// Whether `wider`, an identical node with more results, can stand for
// `narrower`: its first results are the same values. True for MaxPool (the
// optional Indices change nothing else); not in general (a Split's result
// count is its meaning). Graph results keep their producers.
bool widens(const ir::Node& narrower, const ir::Node& wider, const std::unordered_set<const ir::Value*>& graphOutputs) {
  if (narrower.op() != ir::OpKind::MaxPool || narrower.outputs().size() >= wider.outputs().size()) return false;
  for (const ir::Value* v : narrower.outputs())
    if (graphOutputs.count(v)) return false;
  return true;
}

}  // namespace

bool eliminateCommonSubexpressions(ir::Graph& graph, const PassContext&) {
  bool changed = false;
  // Constants: bucket by (dtype, byte size), compare bytes within a bucket.
  std::map<std::pair<ir::DType, size_t>, std::vector<ir::Value*>> constants;
  for (ir::Value* c : graph.constants()) {
    auto& bucket = constants[{c->dtype(), c->constant().byteSize()}];
    ir::Value* same = nullptr;
    for (ir::Value* earlier : bucket)
      if (sameBytes(earlier->constant(), c->constant())) same = earlier;
    if (same) {
      graph.replaceAllUsesWith(c, same);
      changed = true;
    } else {
      bucket.push_back(c);
    }
  }
  // Nodes: keyed by op and operands; attributes compared on a key match.
  std::map<std::pair<ir::OpKind, std::vector<const ir::Value*>>, std::vector<ir::Node*>> seen;
  std::unordered_set<const ir::Value*> graphOutputs(graph.outputs().begin(), graph.outputs().end());
  bool reorder = false;
  for (ir::Node* node : graph.nodes()) {
    if (!mergeable(*node)) continue;
    std::vector<const ir::Value*> operands(node->inputs().begin(), node->inputs().end());
    auto& candidates = seen[{node->op(), operands}];
    ir::Node* same = nullptr;
    for (ir::Node*& earlier : candidates) {
      if (earlier->attrs() != node->attrs()) continue;
      if (earlier->outputs().size() == node->outputs().size()) {
        same = earlier;
      } else if (widens(*earlier, *node, graphOutputs)) {
        for (size_t i = 0; i < earlier->outputs().size(); ++i)
          graph.replaceAllUsesWith(earlier->output(i), node->output(i));
        earlier = node;  // later duplicates merge into the wider one
        changed = reorder = true;
        same = node;
      }
    }
    if (same == node) continue;
    if (!same) {
      candidates.push_back(node);
      continue;
    }
    for (size_t i = 0; i < node->outputs().size(); ++i) graph.replaceAllUsesWith(node->output(i), same->output(i));
    changed = true;
  }
  if (reorder) sortTopologically(graph);
  return changed;
}

}  // namespace dlc::passes
