#include "ir/interpreter.h"

#include <unordered_map>

#include "ir/op_def.h"

namespace dlc::ir {

void checkInputs(const Graph& graph, const NamedTensors& inputs) {
  std::map<std::string, int64_t> symbols;
  for (const Value* in : graph.inputs()) {
    auto it = inputs.find(in->name());
    if (it == inputs.end()) throwUserError("input '{}' ({}) is missing", in->name(), in->type().str());
    const Tensor& t = it->second;
    const TensorType& want = in->type();
    if (t.dtype() != want.dtype)
      throwUserError("input '{}' has dtype {}, expected {}", in->name(), dtypeName(t.dtype()),
                     dtypeName(want.dtype));
    if (!want.shape) continue;
    if (t.rank() != want.shape->rank())
      throwUserError("input '{}' has shape [{}], expected {}", in->name(), fmt::join(t.shape(), ","),
                     want.shape->str());
    for (size_t d = 0; d < t.rank(); ++d) {
      const Dim& dim = (*want.shape)[d];
      if (dim.isStatic() && dim.value() != t.dim(d))
        throwUserError("input '{}' has shape [{}], expected {}", in->name(), fmt::join(t.shape(), ","),
                       want.shape->str());
      if (dim.isSymbolic()) {
        auto [pos, inserted] = symbols.emplace(dim.symbolName(), t.dim(d));
        if (!inserted && pos->second != t.dim(d))
          throwUserError("input '{}' binds dim {} to {}, but an earlier input bound it to {}",
                         in->name(), dim.symbolName(), t.dim(d), pos->second);
      }
    }
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (const Value* in : graph.inputs()) known |= in->name() == name;
    if (!known) throwUserError("'{}' is not an input of the model", name);
  }
}

namespace {

// The values computed so far in one graph, and the enclosing graph's scope
// (a subgraph reads outer values directly).
struct Scope {
  std::unordered_map<const Value*, Tensor> values;
  const Scope* outer = nullptr;

  const Tensor* find(const Value* v) const {
    for (const Scope* s = this; s; s = s->outer) {
      auto it = s->values.find(v);
      if (it != s->values.end()) return &it->second;
    }
    return nullptr;
  }
};

std::vector<Tensor> runNode(const Node& node, const std::vector<const Tensor*>& inputs, const SubgraphRunner& runner) {
  std::vector<Tensor> outputs(node.outputs().size());
  EvalContext ctx(node, inputs, outputs, &runner);
  try {
    node.def().eval(ctx);
  } catch (const UnsupportedError& e) {
    throw UnsupportedError(fmt::format("{}: {}", node.describe(), e.what()));
  } catch (const UserError& e) {
    throwUserError("{}: {}", node.describe(), e.what());
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    DLC_CHECK(outputs[i].defined(), "{}: kernel left result {} unset", node.describe(), i);
  return outputs;
}

// Values a node reads: operands plus what its subgraphs read from outside.
std::vector<const Value*> readsOf(const Node& node) {
  std::vector<const Value*> reads(node.inputs().begin(), node.inputs().end());
  for (const auto& [name, attr] : node.attrs().all())
    if (auto* g = std::get_if<std::shared_ptr<Graph>>(&attr))
      for (const Value* v : (*g)->outerUses()) reads.push_back(v);
  return reads;
}

// Refuses a node whose results, by their static types, would exceed the
// memory limit, before its kernel allocates them.
void checkResultSizes(const Node& node, int64_t maxTensorBytes) {
  for (size_t r = 0; r < node.outputs().size(); ++r) {
    const TensorType& t = node.output(r)->type();
    if (t.shape && t.shape->isStatic())
      checkTensorBytes(t.dtype, t.shape->extents(), maxTensorBytes, fmt::format("{}: result {}", node.describe(), r));
  }
}

std::vector<Tensor> runGraph(const Graph& graph, const std::vector<Tensor>& inputs, const Scope* outer,
                             int64_t maxTensorBytes) {
  if (inputs.size() != graph.inputs().size())
    throwUserError("graph '{}' takes {} inputs, {} given", graph.name(), graph.inputs().size(), inputs.size());
  Scope scope;
  scope.outer = outer;
  for (size_t i = 0; i < inputs.size(); ++i) scope.values[graph.inputs()[i]] = inputs[i];
  for (const Value* c : graph.constants()) scope.values[c] = c->constant();

  // Free each intermediate after its last use to keep peak memory low.
  std::unordered_map<const Value*, size_t> lastUse;
  auto nodes = graph.nodes();
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const Value* v : readsOf(*nodes[i]))
      if (v) lastUse[v] = i;
  for (const Value* v : graph.outputs()) lastUse[v] = nodes.size();

  SubgraphRunner runner = [&scope, maxTensorBytes](const Graph& sub, const std::vector<Tensor>& subInputs) {
    return runGraph(sub, subInputs, &scope, maxTensorBytes);
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = *nodes[i];
    std::vector<const Tensor*> args;
    for (const Value* v : node.inputs()) {
      const Tensor* t = v ? scope.find(v) : nullptr;
      DLC_CHECK(!v || t, "{}: operand '{}' has no value", node.describe(), v->name());
      args.push_back(t);
    }
    checkResultSizes(node, maxTensorBytes);
    std::vector<Tensor> results = runNode(node, args, runner);
    for (size_t r = 0; r < results.size(); ++r)  // shapes only known now (ConstantOfShape, ...)
      checkTensorBytes(results[r].dtype(), results[r].shape(), maxTensorBytes,
                       fmt::format("{}: result {}", node.describe(), r));
    for (const Value* v : readsOf(node))
      if (v && v->producer() && lastUse[v] == i) scope.values.erase(v);
    for (size_t r = 0; r < results.size(); ++r) scope.values[node.output(r)] = std::move(results[r]);
  }
  std::vector<Tensor> outs;
  for (const Value* v : graph.outputs()) {
    const Tensor* t = scope.find(v);
    DLC_CHECK(t, "graph output '{}' has no value", v->name());
    outs.push_back(*t);
  }
  return outs;
}

}  // namespace

std::vector<Tensor> evalNode(const Node& node, const std::vector<const Tensor*>& inputs) {
  SubgraphRunner runner = [](const Graph& sub, const std::vector<Tensor>& subInputs) {
    return runGraph(sub, subInputs, nullptr, kDefaultMaxTensorBytes);
  };
  return runNode(node, inputs, runner);
}

std::vector<Tensor> evalNode(const Node& node, const std::vector<const Tensor*>& inputs,
                             const std::unordered_map<const Value*, Tensor>& outerValues) {
  Scope scope;
  scope.values = outerValues;
  SubgraphRunner runner = [&scope](const Graph& sub, const std::vector<Tensor>& subInputs) {
    return runGraph(sub, subInputs, &scope, kDefaultMaxTensorBytes);
  };
  return runNode(node, inputs, runner);
}

std::vector<Tensor> interpret(const Graph& graph, const NamedTensors& inputs, int64_t maxTensorBytes) {
  checkInputs(graph, inputs);
  std::vector<Tensor> positional;
  for (const Value* in : graph.inputs()) positional.push_back(inputs.at(in->name()));
  return runGraph(graph, positional, nullptr, maxTensorBytes);
}

}  // namespace dlc::ir
