// Reverse mode over the IR. The algorithm:
//  1. Copy the forward graph; parameters that are constants become inputs.
//  2. Ops with a decomposition instead of a rule (RNN/GRU/LSTM) that lie
//     between a parameter and the loss are replaced by their expansion.
//  3. Mark the float values that depend on a parameter (forward sweep) and
//     the values the loss depends on (backward sweep); a node is
//     differentiated when it reads the first kind and produces a value of
//     both kinds. Only those nodes are visited, and every one of them must
//     have a gradient rule.
//  4. Visit them in reverse order, seeding d(loss) = 1. Each node's rule
//     reads the forward values it needs (no recomputation) and the
//     gradients of its results; gradients of a value used several times are
//     summed with Add.
//  5. Name the parameter gradients, append the optimizer update, and drop
//     whatever the outputs do not need.
#include "passes/autodiff.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/op_def.h"
#include "ir/verifier.h"
#include "passes/graph_util.h"
#include "support/error.h"

namespace dlc::passes {

using ir::Graph;
using ir::GraphBuilder;
using ir::Node;
using ir::Value;

namespace {

using ValueSet = std::unordered_set<const Value*>;

// Float values computed from `roots` through node operands.
ValueSet dependents(const Graph& g, const std::vector<Value*>& roots) {
  ValueSet s(roots.begin(), roots.end());
  for (const Node* n : g.nodes()) {
    bool reads = false;
    for (const Value* in : n->inputs()) reads |= in && s.count(in);
    if (!reads) continue;
    for (const Value* out : n->outputs())
      if (ir::isFloat(out->dtype())) s.insert(out);
  }
  return s;
}

// Values that `target` is computed from (itself included).
ValueSet ancestors(const Graph& g, const Value* target) {
  ValueSet s{target};
  auto nodes = g.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    bool feeds = false;
    for (const Value* out : (*it)->outputs()) feeds |= s.count(out) != 0;
    if (!feeds) continue;
    for (const Value* in : (*it)->inputs())
      if (in) s.insert(in);
  }
  return s;
}

Value* makeParameterInput(Graph& g, const std::string& name, ir::Tensor& initial) {
  Value* v = g.findValue(name);
  if (!v) throwUserError("autodiff: no parameter named '{}' in graph '{}'", name, g.name());
  if (!ir::isFloat(v->dtype()))
    throwUserError("autodiff: parameter '{}' has dtype {}; only float tensors can be trained", name,
                   ir::dtypeName(v->dtype()));
  if (v->isGraphInput()) return v;
  if (!v->isConstant())
    throwUserError("autodiff: '{}' is computed by {}; a parameter must be a graph input or a constant", name,
                   v->producer()->describe());
  initial = v->constant();
  g.renameValue(v, g.uniqueName(name + ".initializer"));
  Value* in = g.addInput(name, v->type());
  g.replaceAllUsesWith(v, in);
  return in;
}

struct Blocked {
  const Node* node;
  size_t input;
  bool noOutputGradient;
};

std::string describeBlock(const Blocked& b) {
  if (b.noOutputGradient) return fmt::format("{}, whose results receive no gradient", b.node->describe());
  return fmt::format("{}, which gives no gradient for its operand {} ('{}')", b.node->describe(), b.input,
                     b.node->input(b.input)->name());
}

// Gives the gradient of `param` the output name "<param>.grad" (through an
// Identity where the value cannot simply be renamed).
Value* nameGradient(Graph& g, GraphBuilder& b, Value* grad, const std::string& name,
                    const std::set<const Value*>& taken) {
  if (g.findValue(name)) throwUserError("autodiff: the graph already has a value named '{}'", name);
  if (grad->producer() && !taken.count(grad)) {
    g.renameValue(grad, name);
    return grad;
  }
  Value* v = b.op(ir::OpKind::Identity, {grad}, {}, name);
  DLC_CHECK(v->name() == name, "Identity result named '{}', expected '{}'", v->name(), name);
  return v;
}

// Replaces each node with a decomposition (and no rule) that reads a value
// computed from the parameters and feeds the loss by its expansion, which
// takes over the names of the node's results; nodes stay topologically
// ordered. The replaced nodes are left for DCE.
void expandDecomposable(Graph& g, const std::vector<Value*>& params, const Value* loss) {
  ValueSet fromParams = dependents(g, params);
  ValueSet toLoss = ancestors(g, loss);
  bool expanded = false;
  GraphBuilder b(g);
  for (Node* n : g.nodes()) {
    if (n->def().grad || !n->def().decompose) continue;
    bool reads = false, feeds = false;
    for (const Value* in : n->inputs()) reads |= in && fromParams.count(in);
    for (const Value* out : n->outputs()) feeds |= toLoss.count(out) != 0;
    if (!reads || !feeds) continue;
    b.setNamePrefix((n->name().empty() ? std::string(n->opName()) : n->name()) + ".unrolled");
    std::vector<Value*> outs;
    try {
      outs = n->def().decompose(*n, b);
    } catch (const UserError& e) {
      throwUserError("autodiff: {}", e.what());
    }
    DLC_CHECK(outs.size() == n->outputs().size(), "decomposition of {} gave {} results for {}", n->describe(),
              outs.size(), n->outputs().size());
    for (size_t i = 0; i < outs.size(); ++i) {
      Value* old = n->output(i);
      DLC_CHECK(outs[i] && outs[i]->type() == old->type(), "decomposition of {} gives {} for result {} of type {}",
                n->describe(), outs[i] ? outs[i]->type().str() : "nothing", i, old->type().str());
      replaceKeepingName(g, old, outs[i]);
    }
    expanded = true;
  }
  if (expanded) sortTopologically(g);
}

}  // namespace

TrainingGraph buildTrainingGraph(const Graph& forward, const std::string& lossName,
                                 const std::vector<std::string>& parameterNames, const OptimizerSpec* optimizer) {
  TrainingGraph result;
  result.graph = ir::cloneGraph(forward);
  Graph& g = result.graph;
  result.loss = lossName;
  result.parameters = parameterNames;

  Value* loss = g.findValue(lossName);
  if (!loss) throwUserError("autodiff: no value named '{}' (the loss) in graph '{}'", lossName, g.name());
  const auto& ls = loss->type().shape;
  if (!ir::isFloat(loss->dtype()) || !ls || ls->numElements() != std::optional<int64_t>(1))
    throwUserError("autodiff: the loss '{}' must be a float scalar, found {}", lossName, loss->type().str());
  if (parameterNames.empty()) throwUserError("autodiff: no parameters to train");

  std::vector<Value*> params;
  std::vector<ir::Tensor> initials(parameterNames.size());
  for (size_t i = 0; i < parameterNames.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (parameterNames[j] == parameterNames[i])
        throwUserError("autodiff: parameter '{}' is listed twice", parameterNames[i]);
    params.push_back(makeParameterInput(g, parameterNames[i], initials[i]));
  }

  expandDecomposable(g, params, loss);
  loss = g.findValue(lossName);
  ValueSet fromParams = dependents(g, params);
  ValueSet toLoss = ancestors(g, loss);
  for (Value* p : params)
    if (!toLoss.count(p)) throwUserError("autodiff: parameter '{}' does not affect the loss '{}'", p->name(), lossName);

  std::vector<Node*> active;
  for (Node* n : g.nodes()) {
    bool reads = false, feeds = false;
    for (const Value* in : n->inputs()) reads |= in && fromParams.count(in);
    for (const Value* out : n->outputs()) feeds |= fromParams.count(out) && toLoss.count(out);
    if (!reads || !feeds) continue;
    if (!n->def().grad)  // (decomposable ops were expanded above)
      throwUserError("autodiff: {} lies between a parameter and the loss '{}' but op {} has no gradient rule",
                     n->describe(), lossName, n->opName());
    active.push_back(n);
  }

  GraphBuilder b(g);
  std::unordered_map<const Value*, Value*> grads;
  auto accumulate = [&](const Value* v, Value* gv) {
    auto [it, fresh] = grads.emplace(v, gv);
    if (!fresh) it->second = b.add(it->second, gv);
  };
  b.setNamePrefix("loss.grad");
  Value* seed = b.scalarLike(loss, 1.0);
  if (ls->rank() != 0) seed = b.op(ir::OpKind::Reshape, {seed, b.ints(ls->extents())});
  grads[loss] = seed;

  std::vector<Blocked> blocked;
  for (auto it = active.rbegin(); it != active.rend(); ++it) {
    Node* n = *it;
    std::vector<Value*> outGrads;
    bool any = false;
    for (Value* out : n->outputs()) {
      auto f = grads.find(out);
      outGrads.push_back(f == grads.end() ? nullptr : f->second);
      any |= outGrads.back() != nullptr;
    }
    std::vector<bool> needs;
    for (const Value* in : n->inputs()) needs.push_back(in && fromParams.count(in) && ir::isFloat(in->dtype()));
    if (!any) {
      blocked.push_back({n, 0, true});
      continue;
    }
    b.setNamePrefix((n->name().empty() ? std::string(n->opName()) : n->name()) + ".grad");
    ir::GradContext ctx(*n, b, outGrads, needs);
    std::vector<Value*> inGrads;
    try {
      inGrads = n->def().grad(ctx);
    } catch (const UserError& e) {
      throwUserError("autodiff: gradient of {}: {}", n->describe(), e.what());
    }
    // Rules may list (null) gradients for absent trailing optional operands.
    for (size_t i = n->inputs().size(); i < inGrads.size(); ++i)
      DLC_CHECK(inGrads[i] == nullptr, "gradient rule of {} returned a gradient for absent operand {}",
                n->opName(), i);
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      if (!needs[i]) continue;
      Value* gi = i < inGrads.size() ? inGrads[i] : nullptr;
      if (!gi) {
        blocked.push_back({n, i, false});
        continue;
      }
      const Value* in = n->input(i);
      DLC_CHECK(gi->dtype() == in->dtype() &&
                    (!gi->type().isStatic() || !in->type().isStatic() || gi->type() == in->type()),
                "gradient rule of {} gives {} for operand {} of type {}", n->describe(), gi->type().str(), i,
                in->type().str());
      accumulate(in, gi);
    }
  }

  // Gradients, named; an error for a parameter that none reached.
  std::vector<Value*> outputs{loss};
  std::set<const Value*> taken{loss};
  b.setNamePrefix("grad");
  std::vector<Value*> paramGrads;
  for (Value* p : params) {
    auto f = grads.find(p);
    if (f == grads.end()) {
      ValueSet reach = dependents(g, {p});
      std::string why;
      for (const Blocked& bl : blocked) {
        bool relevant = bl.noOutputGradient ? false : reach.count(bl.node->input(bl.input)) != 0;
        if (bl.noOutputGradient) {
          for (const Value* in : bl.node->inputs()) relevant |= in && reach.count(in);
        }
        if (relevant) why += "\n  blocked at " + describeBlock(bl);
      }
      std::unordered_set<const Node*> isActive(active.begin(), active.end());
      for (const Node* n : g.nodes()) {
        bool reads = false, feeds = false;
        for (const Value* in : n->inputs()) reads |= in && reach.count(in);
        for (const Value* out : n->outputs()) feeds |= toLoss.count(out) != 0;
        if (reads && feeds && !isActive.count(n))
          why += fmt::format("\n  blocked at {}, whose results that the loss reads are not float tensors",
                             n->describe());
      }
      throwUserError("autodiff: parameter '{}' has no differentiable path to the loss '{}'{}", p->name(), lossName,
                     why);
    }
    Value* gp = nameGradient(g, b, f->second, p->name() + ".grad", taken);
    taken.insert(gp);
    outputs.push_back(gp);
    paramGrads.push_back(gp);
    result.gradients.push_back(gp->name());
  }

  if (optimizer) {
    Value* step = nullptr;
    if (optimizer->needsStep()) {
      step = g.addInput(g.uniqueName("optimizer.step"), ir::TensorType(ir::DType::I64, ir::Shape()));
      result.stepInput = step->name();
    }
    std::vector<Value*> stateOutputs;
    std::vector<CarriedValue> stateCarried;
    for (size_t i = 0; i < params.size(); ++i) {
      Value* p = params[i];
      b.setNamePrefix(p->name() + ".update");
      ParamUpdate u = appendOptimizerUpdate(b, *optimizer, p, paramGrads[i], step);
      Value* next = nameGradient(g, b, u.next, p->name() + ".next", taken);
      taken.insert(next);
      outputs.push_back(next);
      result.carried.push_back({p->name(), next->name(), initials[i]});
      for (const StateSlot& s : u.state) {
        Value* sn = nameGradient(g, b, s.next, s.input->name() + ".next", taken);
        taken.insert(sn);
        stateOutputs.push_back(sn);
        ir::Tensor zeros;
        if (s.input->type().isStatic()) zeros = ir::Tensor(s.input->dtype(), s.input->type().shape->extents());
        stateCarried.push_back({s.input->name(), sn->name(), zeros});
      }
    }
    outputs.insert(outputs.end(), stateOutputs.begin(), stateOutputs.end());
    result.carried.insert(result.carried.end(), stateCarried.begin(), stateCarried.end());
  }

  g.setOutputs(outputs);
  g.removeDeadNodes();
  ir::verifyOrThrow(g);
  return result;
}

}  // namespace dlc::passes
