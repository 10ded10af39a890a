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

std::vector<Tensor> evalNode(const Node& node, const std::vector<const Tensor*>& inputs) {
  std::vector<Tensor> outputs(node.outputs().size());
  SubgraphRunner runner = [](const Graph& g, const std::vector<Tensor>& ins) {
    NamedTensors named;
    for (size_t i = 0; i < ins.size() && i < g.inputs().size(); ++i) named[g.inputs()[i]->name()] = ins[i];
    return interpret(g, named);
  };
  EvalContext ctx(node, inputs, outputs, &runner);
  try {
    node.def().eval(ctx);
  } catch (const UserError& e) {
    throwUserError("{}: {}", node.describe(), e.what());
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    DLC_CHECK(outputs[i].defined() || node.outputs()[i]->name().empty(),
              "{}: kernel left result {} unset", node.describe(), i);
  return outputs;
}

std::vector<Tensor> interpret(const Graph& graph, const NamedTensors& inputs) {
  checkInputs(graph, inputs);
  std::unordered_map<const Value*, Tensor> env;
  for (const Value* in : graph.inputs()) env[in] = inputs.at(in->name());
  for (const Value* c : graph.constants()) env[c] = c->constant();

  // Free each intermediate after its last use to keep peak memory low.
  std::unordered_map<const Value*, size_t> lastUse;
  auto nodes = graph.nodes();
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const Value* v : nodes[i]->inputs())
      if (v) lastUse[v] = i;
  for (const Value* v : graph.outputs()) lastUse[v] = nodes.size();

  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = *nodes[i];
    std::vector<const Tensor*> args;
    for (const Value* v : node.inputs()) {
      if (!v) {
        args.push_back(nullptr);
        continue;
      }
      auto it = env.find(v);
      DLC_CHECK(it != env.end(), "{}: operand '{}' has no value", node.describe(), v->name());
      args.push_back(&it->second);
    }
    std::vector<Tensor> results = evalNode(node, args);
    for (const Value* v : node.inputs())
      if (v && !v->isGraphInput() && !v->isConstant() && lastUse[v] == i) env.erase(v);
    for (size_t r = 0; r < results.size(); ++r) env[node.output(r)] = std::move(results[r]);
  }
  std::vector<Tensor> outs;
  for (const Value* v : graph.outputs()) {
    auto it = env.find(v);
    DLC_CHECK(it != env.end(), "graph output '{}' has no value", v->name());
    outs.push_back(it->second);
  }
  return outs;
}

}  // namespace dlc::ir
