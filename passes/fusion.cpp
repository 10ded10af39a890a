// Fusion: partitions the graph into kernels, each a `Fused` node whose body
// the code generator lowers as one loop nest (see ir/ops/fused.cpp for what
// each kind's body holds).
//
// Policy (in the spirit of TVM's fuse_ops.cc):
//  - Only nodes whose operands and results all have fully static shapes fuse.
//  - Anchors are f32 MatMul (operands of rank >= 2), Gemm, Conv (1 or 2
//    spatial dims), BlockedConv (the CPU's NCHWc convolution, made by
//    passes/blocked_layout.cpp; its epilogue runs on blocked tensors), Conv (1 or 2
//    spatial dims), Softmax, LogSoftmax, single-result LayerNormalization and
//    Reduce* ops with constant axes, and f16/bf16 MatMul, Gemm and Conv
//    (mixed precision: their epilogue usually starts with the cast back to
//    f32).
//    Fusible elementwise ops are deterministic, single-result ops with the
//    kElementwise trait. The epilogue of a Softmax, LogSoftmax,
//    LayerNormalization or Reduce* keeps the anchor's dtype (its kernel
//    writes the result into the buffer of an output of that type); that of
//    a product takes no Cast to another type than f32 (changesProductType).
//  - Nodes are visited in topological order. Each anchor, and each elementwise
//    node no earlier group took, starts a group. A group greedily absorbs, in
//    topological order, consumers of its values that are fusible elementwise
//    ops with the group's result shape whose other operands are constants,
//    graph inputs or values that do not depend on the group. So whole
//    elementwise DAGs (decomposed GELU: x*0.5*(1+erf(x/sqrt2)), x read twice)
//    fuse into the epilogue, and a lone elementwise node is a one-node group:
//    every elementwise op ends up in a kernel. Anchors take no prologue and
//    never join each other: one anchor per kernel, always its first node.
//  - No cycles: a merge is illegal if any path from the group to the
//    candidate leaves the group. Dependence is searched backwards from the
//    candidate's outside operands over the graph in which the groups already
//    formed count as single nodes, so that kernels, too, form a DAG.
//  - Group values read outside the group (or returned by the graph) become
//    results of the Fused node; one-element constants (and a reduction's axes)
//    are copied into the body, every other operand is an operand of the node.
//  - Attention (with PassContext::fuseAttention, before any other group
//    forms): MatMul(Q, Kt) -> a chain of
//    f32 elementwise ops on the scores (scale, mask), each value read only
//    by the next -> Softmax over the last axis, read only by -> MatMul(P, V)
//    becomes one "attention" kernel, so the scores never reach memory as
//    separate kernels' results. Q, Kt and V must have the scores' batch
//    dims. In a training graph the backward pass reads the probabilities,
//    so attention there is not fused.
//  - Nodes that are none of these stay as they are.
// The Fused node is named after its first node and its origins are the union
// of the absorbed nodes' origins; body nodes keep their names and origins.
// Pre: a valid, type-inferred graph. Post: every fusible node is inside a
// Fused node; absorbed nodes are removed (with any other dead node); results
// keep their names; nodes are topologically ordered.
#include <algorithm>
#include <optional>
#include <queue>
#include <unordered_set>

#include "ir/infer.h"
#include "ir/op_def.h"
#include "passes/graph_util.h"
#include "passes/pass.h"
#include "support/error.h"

namespace dlc::passes {

namespace {

bool allStatic(const ir::Node& n) {
  for (const ir::Value* v : n.inputs())
    if (v && !isStatic(v)) return false;
  for (const ir::Value* v : n.outputs())
    if (!isStatic(v)) return false;
  return !hasSubgraph(n);
}

bool fusibleElementwise(const ir::Node& n) {
  const ir::OpDef& def = n.def();
  return def.has(ir::kElementwise) && !def.has(ir::kNondeterministic) && n.outputs().size() == 1 &&
         n.op() != ir::OpKind::Fused && allStatic(n);
}

size_t rankOf(const ir::Value* v) { return v->type().shape->rank(); }

bool isReduce(const ir::Node& n) { return n.def().has(ir::kReduction) && n.opName().starts_with("Reduce"); }

// The kernel kind an anchor node starts, or nullptr.
const char* anchorKind(const ir::Node& n) {
  if (n.outputs().size() != 1 || !allStatic(n)) return nullptr;
  ir::DType t = n.output(0)->dtype();
  bool half = t == ir::DType::F16 || t == ir::DType::BF16;
  bool product = n.op() == ir::OpKind::MatMul || n.op() == ir::OpKind::Gemm || n.op() == ir::OpKind::Conv;
  if (t != ir::DType::F32 && !(half && product)) return nullptr;
  switch (n.op()) {
    case ir::OpKind::MatMul:
      return rankOf(n.input(0)) >= 2 && rankOf(n.input(1)) >= 2 ? "matmul" : nullptr;
    case ir::OpKind::Gemm:
      return "gemm";
    case ir::OpKind::Conv:
      return rankOf(n.input(0)) == 3 || rankOf(n.input(0)) == 4 ? "conv" : nullptr;
    case ir::OpKind::BlockedConv:
      return "blocked_conv";
    case ir::OpKind::Softmax:
      return "softmax";
    case ir::OpKind::LogSoftmax:
      return "logsoftmax";
    case ir::OpKind::LayerNormalization:
      return "layernorm";
    default:
      if (isReduce(n) && (!n.hasInput(1) || n.input(1)->isConstant())) return "reduce";
      return nullptr;
  }
}

// A product anchor (MatMul, Gemm, Conv) stores its raw result in the buffer
// of a group result of its own type, or of f32 when it is half (mixed
// precision: the epilogue rounds on load). A Cast to another type would
// often leave no such result (an f32 depthwise conv cast to f16 for the
// next half conv), so it starts a kernel of its own instead.
bool changesProductType(const std::string& kind, const ir::Node& anchor, const ir::Node& candidate) {
  if (candidate.op() != ir::OpKind::Cast || (kind != "matmul" && kind != "gemm" && kind != "conv")) return false;
  ir::DType from = anchor.output(0)->dtype(), to = candidate.output(0)->dtype();
  bool half = from == ir::DType::F16 || from == ir::DType::BF16;
  return to != from && !(half && to == ir::DType::F32);
}

struct Group {
  std::string kind;
  std::vector<ir::Node*> members;  // in topological order; members[0] is the anchor or seed
};

class Partitioner {
 public:
  Partitioner(const ir::Graph& graph, bool fuseAttention)
      : nodes_(graph.nodes()), users_(graph), fuseAttention_(fuseAttention) {
    for (size_t i = 0; i < nodes_.size(); ++i) position_[nodes_[i]] = i;
  }

  std::vector<Group> run() {
    for (ir::Node* n : nodes_)
      if (auto members = fuseAttention_ ? matchAttention(*n) : std::nullopt) {
        size_t g = groups_.size();
        groups_.push_back({"attention", std::move(*members)});
        for (ir::Node* m : groups_[g].members) groupOf_[m] = g;
      }
    for (ir::Node* n : nodes_) {
      if (groupOf_.count(n)) continue;
      const char* kind = anchorKind(*n);
      if (!kind && fusibleElementwise(*n)) kind = "elementwise";
      if (kind) grow(n, kind);
    }
    return std::move(groups_);
  }

  const Users& users() const { return users_; }

 private:
  // A value only `reader` reads (once), that is no graph output.
  bool onlyReadBy(const ir::Value* v, const ir::Node& reader) const {
    const auto& readers = users_.of(v);
    return !users_.isGraphOutput(v) && readers.size() == 1 && readers[0] == &reader &&
           std::count(reader.inputs().begin(), reader.inputs().end(), v) == 1;
  }

  // MatMul, chain, Softmax, MatMul (the note above) ending at `softmax`, in
  // topological order; nullopt when it does not match.
  std::optional<std::vector<ir::Node*>> matchAttention(ir::Node& softmax) const {
    if (softmax.op() != ir::OpKind::Softmax || !allStatic(softmax) || softmax.output(0)->dtype() != ir::DType::F32)
      return std::nullopt;
    size_t rank = rankOf(softmax.output(0));
    int64_t axis = softmax.attrInt("axis");
    if (rank < 2 || (axis != -1 && axis != int64_t(rank) - 1)) return std::nullopt;
    const auto& readers = users_.of(softmax.output(0));
    if (readers.size() != 1) return std::nullopt;
    ir::Node* product = readers[0];
    if (product->op() != ir::OpKind::MatMul || product->input(0) != softmax.output(0) ||
        !onlyReadBy(softmax.output(0), *product) || !allStatic(*product) ||
        product->output(0)->dtype() != ir::DType::F32)
      return std::nullopt;
    const auto& scoresShape = softmax.output(0)->type().shape;
    std::vector<ir::Node*> chain;  // from the Softmax backwards
    ir::Node* reader = &softmax;
    const ir::Value* current = softmax.input(0);
    for (;;) {
      ir::Node* p = producerHere(current);
      if (!p || groupOf_.count(p) || !onlyReadBy(current, *reader) || current->type().shape != scoresShape)
        return std::nullopt;
      if (p->op() == ir::OpKind::MatMul) {
        chain.push_back(p);
        break;
      }
      if (!fusibleElementwise(*p) || p->output(0)->dtype() != ir::DType::F32 || chain.size() > 16)
        return std::nullopt;
      // The scores come through the one operand of the scores' shape made by
      // a MatMul or an elementwise op (a mask of that shape may be a graph
      // input or a constant).
      const ir::Value* next = nullptr;
      for (const ir::Value* v : p->inputs()) {
        ir::Node* q = v ? producerHere(v) : nullptr;
        if (!q || v->type().shape != scoresShape || v->dtype() != ir::DType::F32) continue;
        if (q->op() != ir::OpKind::MatMul && !fusibleElementwise(*q)) continue;
        if (next) return std::nullopt;  // two candidates: ambiguous
        next = v;
      }
      if (!next) return std::nullopt;
      chain.push_back(p);
      reader = p;
      current = next;
    }
    ir::Node* scores = chain.back();
    auto sameBatch = [&](const ir::Value* v) {
      if (!isStatic(v) || v->dtype() != ir::DType::F32 || rankOf(v) != rank) return false;
      for (size_t a = 0; a + 2 < rank; ++a)
        if (!((*v->type().shape)[a] == (*scoresShape)[a])) return false;
      return true;
    };
    if (!allStatic(*scores) || !sameBatch(scores->input(0)) || !sameBatch(scores->input(1)) ||
        !sameBatch(product->input(1)))
      return std::nullopt;
    std::vector<ir::Node*> members(chain.rbegin(), chain.rend());
    members.push_back(&softmax);
    members.push_back(product);
    return members;
  }

  ir::Node* producerHere(const ir::Value* v) const {
    ir::Node* p = v->producer();
    return p && position_.count(p) ? p : nullptr;
  }

  // Whether `v` depends on group `g`, counting formed groups as single nodes.
  bool dependsOn(const ir::Value* v, size_t g) const {
    std::vector<ir::Node*> stack;
    std::unordered_set<const ir::Node*> seen;
    auto push = [&](ir::Node* n) {
      if (n && seen.insert(n).second) stack.push_back(n);
    };
    push(producerHere(v));
    while (!stack.empty()) {
      ir::Node* n = stack.back();
      stack.pop_back();
      auto it = groupOf_.find(n);
      if (it != groupOf_.end()) {
        if (it->second == g) return true;
        for (ir::Node* m : groups_[it->second].members) push(m);
      }
      for (const ir::Value* r : nodeReads(*n)) push(producerHere(r));
    }
    return false;
  }

  void grow(ir::Node* seed, const char* kind) {
    size_t g = groups_.size();
    groups_.push_back({kind, {seed}});
    groupOf_[seed] = g;
    const auto& shape = seed->output(0)->type().shape;
    auto byPosition = [&](ir::Node* a, ir::Node* b) { return position_.at(a) > position_.at(b); };
    std::priority_queue<ir::Node*, std::vector<ir::Node*>, decltype(byPosition)> candidates(byPosition);
    std::unordered_set<const ir::Node*> queued;
    auto queueUsers = [&](const ir::Node* n) {
      for (const ir::Value* out : n->outputs())
        for (ir::Node* u : users_.of(out))
          if (position_.count(u) && queued.insert(u).second) candidates.push(u);
    };
    queueUsers(seed);
    std::string k = kind;
    bool keepsType = k == "softmax" || k == "logsoftmax" || k == "layernorm" || k == "reduce";
    while (!candidates.empty()) {
      ir::Node* c = candidates.top();
      candidates.pop();
      if (groupOf_.count(c) || !fusibleElementwise(*c) || c->output(0)->type().shape != shape) continue;
      if (keepsType && c->output(0)->dtype() != seed->output(0)->dtype()) continue;
      if (changesProductType(k, *seed, *c)) continue;
      bool legal = true;
      for (const ir::Value* v : c->inputs()) {
        if (!v) continue;
        ir::Node* p = producerHere(v);
        if (p && groupOf_.count(p) && groupOf_.at(p) == g) continue;
        if (dependsOn(v, g)) legal = false;
      }
      if (!legal) continue;
      groupOf_[c] = g;
      groups_[g].members.push_back(c);
      queueUsers(c);
    }
  }

  std::vector<ir::Node*> nodes_;
  Users users_;
  bool fuseAttention_;
  std::unordered_map<const ir::Node*, size_t> position_;
  std::unordered_map<const ir::Node*, size_t> groupOf_;
  std::vector<Group> groups_;
};

// Replaces a group by one Fused node (the members are left unread).
void materialise(ir::Graph& graph, const Group& group, const Users& users) {
  std::unordered_set<const ir::Node*> members(group.members.begin(), group.members.end());
  const ir::Node& first = *group.members[0];
  auto body = std::make_shared<ir::Graph>();
  body->setName(first.name().empty() ? group.kind : first.name());
  std::unordered_map<const ir::Value*, ir::Value*> inBody;
  std::vector<ir::Value*> operands;
  std::vector<std::string> origins;
  for (const ir::Node* m : group.members) {
    std::vector<ir::Value*> ins;
    for (size_t i = 0; i < m->inputs().size(); ++i) {
      ir::Value* v = m->input(i);
      if (!v) {
        ins.push_back(nullptr);
        continue;
      }
      auto it = inBody.find(v);
      if (it == inBody.end()) {
        bool reduceAxes = group.kind == "reduce" && m == &first && i == 1;
        bool copy = v->isConstant() && (v->constant().numel() == 1 || reduceAxes);
        ir::Value* b = copy ? body->addConstant(v->name(), v->constant()) : body->addInput(v->name(), v->type());
        if (!copy) operands.push_back(v);
        it = inBody.emplace(v, b).first;
      }
      ins.push_back(it->second);
    }
    std::vector<std::string> names;
    for (const ir::Value* o : m->outputs()) names.push_back(o->name());
    ir::Node* bn = body->addNode(m->op(), ins, m->outputs().size(), m->attrs(), m->name(), names);
    for (const auto& o : m->origins()) {
      bn->addOrigin(o);
      if (std::find(origins.begin(), origins.end(), o) == origins.end()) origins.push_back(o);
    }
    for (size_t k = 0; k < m->outputs().size(); ++k) {
      bn->output(k)->setType(m->output(k)->type());
      inBody[m->output(k)] = bn->output(k);
    }
  }
  std::vector<ir::Value*> results, bodyOutputs;
  for (const ir::Node* m : group.members)
    for (ir::Value* o : m->outputs()) {
      bool external = users.isGraphOutput(o);
      for (const ir::Node* u : users.of(o)) external |= !members.count(u);
      if (!external) continue;
      results.push_back(o);
      bodyOutputs.push_back(inBody.at(o));
    }
  body->setOutputs(bodyOutputs);
  ir::Attributes attrs;
  attrs.set("kind", group.kind);
  attrs.set("body", body);
  ir::Node* fused = graph.addNode(ir::OpKind::Fused, operands, results.size(), attrs, first.name());
  for (auto& o : origins) fused->addOrigin(o);
  try {
    ir::inferNode(*fused);
  } catch (const UserError& e) {
    throw InternalError(fmt::format("fusion formed an invalid kernel from {}: {}", first.describe(), e.what()));
  }
  // The results take over the replaced values' names (so that later kernels'
  // bodies and the printed graph read as before).
  for (size_t k = 0; k < results.size(); ++k) replaceKeepingName(graph, results[k], fused->output(k));
}

}  // namespace

bool fuse(ir::Graph& graph, const PassContext& ctx) {
  Partitioner partitioner(graph, ctx.fuseAttention);
  std::vector<Group> groups = partitioner.run();
  if (groups.empty()) return false;
  for (const Group& g : groups) materialise(graph, g, partitioner.users());
  sortTopologically(graph);  // removeDeadNodes needs readers after their producers
  graph.removeDeadNodes();
  return true;
}

}  // namespace dlc::passes
