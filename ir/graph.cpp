#include "ir/graph.h"

#include <unordered_set>

#include "ir/op_def.h"

namespace dlc::ir {

void Node::setInput(size_t i, Value* v) {
  if (i >= inputs_.size()) inputs_.resize(i + 1, nullptr);
  inputs_[i] = v;
}

const AttrValue& Node::attrOrDefault(const std::string& name, AttrKind kind) const {
  const AttrSpec* spec = def().findAttr(name);
  DLC_CHECK(spec != nullptr, "op {} has no attribute '{}'", opName(), name);
  DLC_CHECK(spec->kind == kind, "attribute '{}' of {} is {}, read as {}", name, opName(),
            attrKindName(spec->kind), attrKindName(kind));
  if (const AttrValue* v = attrs_.find(name)) {
    if (attrKindOf(*v) != kind)
      throwUserError("{}: attribute '{}' must be {}, found {}", describe(), name,
                     attrKindName(kind), attrKindName(attrKindOf(*v)));
    return *v;
  }
  if (!spec->defaultValue)
    throwUserError("{}: required attribute '{}' is missing", describe(), name);
  return *spec->defaultValue;
}

int64_t Node::attrInt(const std::string& n) const {
  return std::get<int64_t>(attrOrDefault(n, AttrKind::Int));
}
double Node::attrFloat(const std::string& n) const {
  return std::get<double>(attrOrDefault(n, AttrKind::Float));
}
const std::string& Node::attrString(const std::string& n) const {
  return std::get<std::string>(attrOrDefault(n, AttrKind::String));
}
const std::vector<int64_t>& Node::attrInts(const std::string& n) const {
  return std::get<std::vector<int64_t>>(attrOrDefault(n, AttrKind::Ints));
}
const std::vector<double>& Node::attrFloats(const std::string& n) const {
  return std::get<std::vector<double>>(attrOrDefault(n, AttrKind::Floats));
}
const std::vector<std::string>& Node::attrStrings(const std::string& n) const {
  return std::get<std::vector<std::string>>(attrOrDefault(n, AttrKind::Strings));
}
const Tensor& Node::attrTensor(const std::string& n) const {
  return std::get<Tensor>(attrOrDefault(n, AttrKind::Tensor));
}
const Graph& Node::attrGraph(const std::string& n) const {
  return *std::get<std::shared_ptr<Graph>>(attrOrDefault(n, AttrKind::Graph));
}

std::string Node::describe() const {
  if (name_.empty()) return fmt::format("node ({})", opName());
  return fmt::format("node '{}' ({})", name_, opName());
}

Value* Graph::newValue(const std::string& name) {
  std::string n = name.empty() ? uniqueName("v") : name;
  DLC_CHECK(!byName_.count(n), "value name '{}' defined twice", n);
  values_.push_back(std::make_unique<Value>());
  Value* v = values_.back().get();
  v->name_ = n;
  byName_[n] = v;
  return v;
}

std::string Graph::uniqueName(const std::string& base) {
  if (!base.empty() && !byName_.count(base)) return base;
  std::string b = base.empty() ? "v" : base;
  for (;;) {
    std::string n = fmt::format("{}.{}", b, nameCounter_++);
    if (!byName_.count(n)) return n;
  }
}

Value* Graph::addInput(const std::string& name, TensorType type) {
  Value* v = newValue(name);
  v->type_ = std::move(type);
  v->isGraphInput_ = true;
  inputs_.push_back(v);
  return v;
}

Value* Graph::addConstant(const std::string& name, Tensor data) {
  Value* v = newValue(name);
  v->type_ = data.type();
  v->constant_ = std::move(data);
  return v;
}

Node* Graph::addNode(OpKind op, std::vector<Value*> inputs, size_t numOutputs, Attributes attrs,
                     const std::string& name, const std::vector<std::string>& outputNames) {
  nodes_.push_back(std::make_unique<Node>());
  Node* n = nodes_.back().get();
  n->op_ = op;
  n->name_ = name;
  while (!inputs.empty() && inputs.back() == nullptr) inputs.pop_back();
  n->inputs_ = std::move(inputs);
  n->attrs_ = std::move(attrs);
  for (size_t i = 0; i < numOutputs; ++i) {
    std::string outName = i < outputNames.size() ? outputNames[i] : "";
    if (outName.empty()) outName = uniqueName(name.empty() ? std::string("t") : name);
    Value* v = newValue(outName);
    v->producer_ = n;
    v->producerIndex_ = i;
    n->outputs_.push_back(v);
  }
  return n;
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

std::vector<Value*> Graph::constants() const {
  std::vector<Value*> out;
  for (const auto& v : values_)
    if (v->isConstant()) out.push_back(v.get());
  return out;
}

Value* Graph::findValue(const std::string& name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

void Graph::renameValue(Value* v, const std::string& newName) {
  if (v->name() == newName) return;
  DLC_CHECK(!byName_.count(newName), "value name '{}' is taken", newName);
  byName_.erase(v->name());
  v->name_ = newName;
  byName_[newName] = v;
}

// Replaces operand `old` by `replacement` in the nodes of `g` and of the
// graphs nested in it.
static void replaceOperands(const std::vector<std::unique_ptr<Node>>& nodes, Value* old, Value* replacement) {
  for (const auto& n : nodes) {
    for (size_t i = 0; i < n->inputs().size(); ++i)
      if (n->input(i) == old) n->setInput(i, replacement);
    for (const auto& [name, attr] : n->attrs().all())
      if (auto* g = std::get_if<std::shared_ptr<Graph>>(&attr)) (*g)->replaceAllUsesWith(old, replacement);
  }
}

void Graph::replaceAllUsesWith(Value* old, Value* replacement) {
  DLC_CHECK(old != replacement, "replacing '{}' by itself", old->name());
  replaceOperands(nodes_, old, replacement);
  bool wasOutput = false, replacementIsInterface = replacement->isGraphInput();
  for (Value* v : outputs_) {
    wasOutput |= v == old;
    replacementIsInterface |= v == replacement;
  }
  if (!wasOutput) return;
  for (Value*& v : outputs_)
    if (v == old) v = replacement;
  if (!replacementIsInterface && byName_.count(old->name()) && byName_.at(old->name()) == old &&
      byName_.count(replacement->name())) {
    std::string name = old->name();
    renameValue(old, uniqueName(name + ".replaced"));
    renameValue(replacement, name);
  }
}

std::vector<const Value*> Graph::outerUses() const {
  std::unordered_set<const Value*> own;
  for (const auto& v : values_) own.insert(v.get());
  std::vector<const Value*> out;
  std::unordered_set<const Value*> seen;
  auto note = [&](const Value* v) {
    if (v && !own.count(v) && seen.insert(v).second) out.push_back(v);
  };
  for (const auto& n : nodes_) {
    for (const Value* in : n->inputs()) note(in);
    for (const auto& [name, attr] : n->attrs().all())
      if (auto* g = std::get_if<std::shared_ptr<Graph>>(&attr))
        for (const Value* v : (*g)->outerUses()) note(v);
  }
  for (const Value* v : outputs_) note(v);
  return out;
}

// Values read by a node: its operands and what its subgraphs use from outside.
static std::vector<const Value*> nodeReads(const Node& n) {
  std::vector<const Value*> reads(n.inputs().begin(), n.inputs().end());
  for (const auto& [name, attr] : n.attrs().all())
    if (auto* g = std::get_if<std::shared_ptr<Graph>>(&attr))
      for (const Value* v : (*g)->outerUses()) reads.push_back(v);
  return reads;
}

void Graph::reorderNodes(const std::vector<Node*>& order) {
  DLC_CHECK(order.size() == nodes_.size(), "reorderNodes: {} nodes given for a graph of {}", order.size(),
            nodes_.size());
  std::unordered_map<const Node*, size_t> position;
  for (size_t i = 0; i < nodes_.size(); ++i) position[nodes_[i].get()] = i;
  std::vector<std::unique_ptr<Node>> reordered;
  reordered.reserve(nodes_.size());
  for (Node* n : order) {
    auto it = position.find(n);
    DLC_CHECK(it != position.end() && nodes_[it->second] != nullptr, "reorderNodes: a node is missing or repeated");
    reordered.push_back(std::move(nodes_[it->second]));
  }
  nodes_ = std::move(reordered);
}

size_t Graph::removeDeadNodes() {
  std::unordered_set<const Value*> live(outputs_.begin(), outputs_.end());
  std::vector<bool> keep(nodes_.size(), false);
  for (size_t i = nodes_.size(); i-- > 0;) {
    const Node& n = *nodes_[i];
    bool used = false;
    for (Value* o : n.outputs())
      if (live.count(o)) used = true;
    if (!used) continue;
    keep[i] = true;
    for (const Value* in : nodeReads(n))
      if (in) live.insert(in);
  }
  size_t removed = 0;
  std::vector<std::unique_ptr<Node>> kept;
  std::unordered_set<const Value*> deadValues;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (keep[i]) {
      kept.push_back(std::move(nodes_[i]));
    } else {
      for (Value* o : nodes_[i]->outputs()) deadValues.insert(o);
      ++removed;
    }
  }
  nodes_ = std::move(kept);
  // Drop the dead nodes' results and constants nothing reads any more.
  std::vector<std::unique_ptr<Value>> keptValues;
  for (auto& v : values_) {
    bool dead = deadValues.count(v.get()) || (v->isConstant() && !live.count(v.get()));
    if (dead) byName_.erase(v->name());
    else keptValues.push_back(std::move(v));
  }
  values_ = std::move(keptValues);
  return removed;
}

}  // namespace dlc::ir
