#include "ir/verifier.h"

#include <algorithm>
#include <unordered_set>

#include "ir/op_def.h"

namespace dlc::ir {

std::vector<std::string> arityProblems(const Node& n) {
  std::vector<std::string> problems;
  const OpDef& def = n.def();
  std::string who = n.describe();
  int numIn = int(n.inputs().size());
  if (numIn < def.minInputs || numIn > def.maxInputs)
    problems.push_back(fmt::format("{}: has {} operands, expected {}..{}", who, numIn, def.minInputs,
                                   def.maxInputs == kVariadic ? std::string("n") : std::to_string(def.maxInputs)));
  for (int i = 0; i < std::min(numIn, def.minInputs); ++i)
    if (n.input(size_t(i)) == nullptr) problems.push_back(fmt::format("{}: required operand {} is absent", who, i));
  int numOut = int(n.outputs().size());
  if (numOut < def.minOutputs || numOut > def.maxOutputs)
    problems.push_back(fmt::format("{}: has {} results, expected {}..{}", who, numOut, def.minOutputs,
                                   def.maxOutputs == kVariadic ? std::string("n") : std::to_string(def.maxOutputs)));
  return problems;
}

namespace {

// Verifies `graph` where `defined` already holds the values of enclosing
// graphs (which a subgraph may read).
void verifyScope(const Graph& graph, std::unordered_set<const Value*> defined, std::vector<std::string>& problems) {
  for (const Value* v : graph.inputs()) defined.insert(v);
  for (const Value* v : graph.constants()) defined.insert(v);
  for (const Node* n : graph.nodes()) {
    const OpDef& def = n->def();
    std::string who = n->describe();
    for (auto& p : arityProblems(*n)) problems.push_back(std::move(p));
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      const Value* v = n->input(i);
      if (v != nullptr && !defined.count(v))
        problems.push_back(fmt::format("{}: operand {} ('{}') is used before it is defined", who, i, v->name()));
    }
    for (const auto& [name, value] : n->attrs().all()) {
      const AttrSpec* spec = def.findAttr(name);
      if (!spec) problems.push_back(fmt::format("{}: unknown attribute '{}'", who, name));
      else if (spec->kind != attrKindOf(value))
        problems.push_back(fmt::format("{}: attribute '{}' must be {}, found {}", who, name,
                                       attrKindName(spec->kind), attrKindName(attrKindOf(value))));
    }
    for (const AttrSpec& spec : def.attrs)
      if (!spec.defaultValue && !spec.optional && !n->attrs().has(spec.name))
        problems.push_back(fmt::format("{}: required attribute '{}' is missing", who, spec.name));
    for (const auto& [name, value] : n->attrs().all())
      if (auto* sub = std::get_if<std::shared_ptr<Graph>>(&value)) {
        std::vector<std::string> inner;
        verifyScope(**sub, defined, inner);
        for (auto& p : inner) problems.push_back(fmt::format("{}: in subgraph '{}': {}", who, name, p));
      }
    for (const Value* out : n->outputs()) {
      if (out->dtype() == DType::Undefined)
        problems.push_back(fmt::format("{}: result '{}' has no type", who, out->name()));
      if (!defined.insert(out).second)
        problems.push_back(fmt::format("{}: result '{}' is defined twice", who, out->name()));
    }
  }
  for (const Value* v : graph.outputs())
    if (!defined.count(v))
      problems.push_back(fmt::format("output '{}' of graph '{}' is not defined", v->name(), graph.name()));
}

}  // namespace

std::vector<std::string> verify(const Graph& graph) {
  std::vector<std::string> problems;
  verifyScope(graph, {}, problems);
  return problems;
}

void verifyOrThrow(const Graph& graph) {
  auto problems = verify(graph);
  if (!problems.empty())
    throwUserError("invalid graph '{}':\n  {}", graph.name(), fmt::join(problems, "\n  "));
}

}  // namespace dlc::ir
