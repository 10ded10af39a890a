#include "passes/graph_util.h"

#include <algorithm>
#include <unordered_set>

#include "support/error.h"

namespace dlc::passes {

std::vector<const ir::Value*> nodeReads(const ir::Node& node) {
  std::vector<const ir::Value*> reads;
  for (const ir::Value* v : node.inputs())
    if (v) reads.push_back(v);
  for (const auto& [name, attr] : node.attrs().all())
    if (auto* g = std::get_if<std::shared_ptr<ir::Graph>>(&attr))
      for (const ir::Value* v : (*g)->outerUses()) reads.push_back(v);
  return reads;
}

Users::Users(const ir::Graph& graph) : outputs_(graph.outputs().begin(), graph.outputs().end()) {
  for (ir::Node* n : graph.nodes())
    for (const ir::Value* v : nodeReads(*n)) {
      auto& list = users_[v];
      if (list.empty() || list.back() != n) list.push_back(n);
    }
}

const std::vector<ir::Node*>& Users::of(const ir::Value* v) const {
  static const std::vector<ir::Node*> kNone;
  auto it = users_.find(v);
  return it == users_.end() ? kNone : it->second;
}

bool Users::isGraphOutput(const ir::Value* v) const {
  return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end();
}

void sortTopologically(ir::Graph& graph) {
  std::vector<ir::Node*> nodes = graph.nodes();
  std::unordered_map<const ir::Node*, int> state;  // absent: unvisited, 1: on the stack, 2: placed
  for (ir::Node* n : nodes) state.emplace(n, 0);
  std::vector<ir::Node*> order;
  order.reserve(nodes.size());
  // Depth-first over producers; explicit stack (graphs can be deep).
  for (ir::Node* root : nodes) {
    if (state[root] == 2) continue;
    std::vector<std::pair<ir::Node*, size_t>> stack = {{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      std::vector<const ir::Value*> reads = nodeReads(*node);
      ir::Node* pending = nullptr;
      while (next < reads.size() && !pending) {
        ir::Node* p = reads[next++]->producer();
        auto it = p ? state.find(p) : state.end();
        if (it == state.end() || it->second == 2) continue;  // outer value, input, constant, or placed
        DLC_CHECK(it->second != 1, "sortTopologically: a cycle through {}", p->describe());
        pending = p;
      }
      if (pending) {
        state[pending] = 1;
        stack.push_back({pending, 0});
        continue;
      }
      state[node] = 2;
      order.push_back(node);
      stack.pop_back();
    }
  }
  graph.reorderNodes(order);
}

void replaceKeepingName(ir::Graph& graph, ir::Value* old, ir::Value* replacement) {
  std::string name = old->name();
  graph.replaceAllUsesWith(old, replacement);
  if (replacement->name() == name) return;  // a graph output: renamed already
  graph.renameValue(old, graph.uniqueName(name + ".replaced"));
  graph.renameValue(replacement, name);
}

std::optional<std::vector<double>> constantDoubles(const ir::Value* v) {
  if (!v || !v->isConstant()) return std::nullopt;
  const ir::Tensor& t = v->constant();
  std::vector<double> out(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) out[size_t(i)] = t.getDouble(i);
  return out;
}

bool isStatic(const ir::Value* v) { return v && v->type().isStatic(); }

bool hasSubgraph(const ir::Node& node) {
  for (const auto& [name, attr] : node.attrs().all())
    if (std::holds_alternative<std::shared_ptr<ir::Graph>>(attr)) return true;
  return false;
}

}  // namespace dlc::passes
