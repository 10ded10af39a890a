#include "ir/graph_clone.h"

#include <unordered_map>

namespace dlc::ir {

namespace {

using ValueMap = std::unordered_map<const Value*, Value*>;

Value* mapped(const ValueMap& map, const Value* v) {
  if (v == nullptr) return nullptr;
  auto it = map.find(v);
  DLC_CHECK(it != map.end(), "clone: value '{}' is read before it is defined", v->name());
  return it->second;
}

void cloneInto(const Graph& src, Graph& dst, ValueMap& map);

Attributes cloneAttributes(const Attributes& attrs, ValueMap& map) {
  Attributes out;
  for (const auto& [name, value] : attrs.all()) {
    if (const auto* sub = std::get_if<std::shared_ptr<Graph>>(&value)) {
      auto copy = std::make_shared<Graph>();
      cloneInto(**sub, *copy, map);
      out.set(name, copy);
    } else {
      out.set(name, value);
    }
  }
  return out;
}

// `map` holds the copies of every value visible from `src` (outer values
// included), so nested subgraphs resolve their outer reads through it.
void cloneInto(const Graph& src, Graph& dst, ValueMap& map) {
  dst.setName(src.name());
  for (const Value* in : src.inputs()) map[in] = dst.addInput(in->name(), in->type());
  for (const Value* c : src.constants()) {
    Value* copy = dst.addConstant(c->name(), c->constant());
    copy->setType(c->type());
    map[c] = copy;
  }
  for (const Node* node : src.nodes()) {
    std::vector<Value*> inputs;
    inputs.reserve(node->inputs().size());
    for (const Value* in : node->inputs()) inputs.push_back(mapped(map, in));
    std::vector<std::string> outputNames;
    for (const Value* out : node->outputs()) outputNames.push_back(out->name());
    Node* copy = dst.addNode(node->op(), std::move(inputs), node->outputs().size(),
                             cloneAttributes(node->attrs(), map), node->name(), outputNames);
    for (const std::string& origin : node->origins()) copy->addOrigin(origin);
    for (size_t i = 0; i < node->outputs().size(); ++i) {
      copy->output(i)->setType(node->output(i)->type());
      map[node->output(i)] = copy->output(i);
    }
  }
  std::vector<Value*> outputs;
  for (const Value* out : src.outputs()) outputs.push_back(mapped(map, out));
  dst.setOutputs(std::move(outputs));
}

}  // namespace

Graph cloneGraph(const Graph& graph) {
  Graph copy;
  ValueMap map;
  // Outer values read by the graph (when cloning a subgraph on its own) stay
  // the originals.
  for (const Value* outer : graph.outerUses()) map[outer] = const_cast<Value*>(outer);
  cloneInto(graph, copy, map);
  return copy;
}

}  // namespace dlc::ir
