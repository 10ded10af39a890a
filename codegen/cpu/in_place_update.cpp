#include "codegen/cpu/in_place_update.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "codegen/cpu/lowering_util.h"
#include "ir/graph_clone.h"
#include "ir/infer.h"
#include "ir/op_def.h"
#include "passes/graph_util.h"

namespace dlc::codegen::cpu {
namespace {

const ir::Value* findOutput(const ir::Graph& g, const std::string& name) {
  for (const ir::Value* v : g.outputs())
    if (v->name() == name) return v;
  return nullptr;
}

const ir::Value* findInput(const ir::Graph& g, const std::string& name) {
  for (const ir::Value* v : g.inputs())
    if (v->name() == name) return v;
  return nullptr;
}

// The nodes that read `v` directly or through views of it, and whether
// some view of it is a graph output (copied at the end of a run, after any
// update). Each reader is listed with whether it reads `v` itself.
struct Readers {
  std::vector<std::pair<const ir::Node*, bool>> nodes;
  bool viewIsOutput = false;
};

Readers readersOf(const passes::Users& users, const ir::Value* v) {
  Readers r;
  std::vector<const ir::Value*> work{v};
  while (!work.empty()) {
    const ir::Value* cur = work.back();
    work.pop_back();
    for (const ir::Node* n : users.of(cur)) {
      r.nodes.emplace_back(n, cur == v);
      if (isViewNode(*n)) {
        if (users.isGraphOutput(n->output(0))) r.viewIsOutput = true;
        work.push_back(n->output(0));
      }
    }
  }
  return r;
}

bool isAnchoredKernel(const ir::Node& n) {
  return n.op() == ir::OpKind::Fused && n.attrString("kind") != "elementwise" && !n.attrGraph("body").nodes().empty();
}

// Where the anchor of a fused kernel (its body's first node) leaves its raw
// result for the epilogue: in the body output that is that result, else in
// body output 0 (the epilogue then updates it in place; program_builder).
size_t anchorResultOutput(const ir::Graph& body) {
  const ir::Value* result = body.nodes().front()->output(0);
  for (size_t i = 0; i < body.outputs().size(); ++i)
    if (body.outputs()[i] == result) return i;
  return 0;
}

// Whether `producer` may write its result `out` over its operand `in` (of
// the same type). Elementwise kernels compute element i from operand
// elements at i after loading all of them (codegen/cpu/pointwise_kernel).
// A fused anchor (GEMM, convolution, row reduction) with an elementwise
// epilogue qualifies when the anchor does not read `in` and does not leave
// its raw result in `out`'s buffer (which would overwrite `in` before the
// epilogue reads it). Views are not kernels.
bool canOverwrite(const ir::Node& producer, const ir::Value* in, const ir::Value* out) {
  if (isViewNode(producer)) return false;
  if (producer.op() != ir::OpKind::Fused) return producer.def().has(ir::kElementwise);
  if (!isAnchoredKernel(producer)) return true;
  const ir::Graph& body = producer.attrGraph("body");
  const ir::Node& anchor = *body.nodes().front();
  for (size_t i = 0; i < producer.inputs().size(); ++i)
    if (producer.input(i) == in)
      for (const ir::Value* read : anchor.inputs())
        if (read == body.inputs()[i]) return false;
  return producer.output(anchorResultOutput(body)) != out;
}

// Gives the fused anchor `n` its raw result as an extra output (a buffer of
// its own in the arena) so that no in-place output holds it. Returns the
// replacement node.
ir::Node* exposeAnchorResult(ir::Graph& graph, ir::Node& n) {
  auto body = std::make_shared<ir::Graph>(ir::cloneGraph(n.attrGraph("body")));
  std::vector<ir::Value*> outs = body->outputs();
  outs.push_back(body->nodes().front()->output(0));
  body->setOutputs(outs);
  ir::Attributes attrs = n.attrs();
  attrs.set("body", body);
  ir::Node* fused = graph.addNode(ir::OpKind::Fused, n.inputs(), outs.size(), attrs, n.name(), {});
  for (const std::string& o : n.origins()) fused->addOrigin(o);
  ir::inferNode(*fused);
  for (size_t k = 0; k < n.outputs().size(); ++k) passes::replaceKeepingName(graph, n.output(k), fused->output(k));
  std::vector<ir::Node*> order = graph.nodes();
  order.erase(std::find(order.begin(), order.end(), fused));
  order.insert(std::find(order.begin(), order.end(), &n), fused);
  graph.reorderNodes(order);
  graph.removeDeadNodes();
  return fused;
}

}  // namespace

void prepareInPlaceUpdates(ir::Graph& graph, const InPlacePairs& pairs) {
  for (const auto& [outName, inName] : pairs) {
    const ir::Value* out = findOutput(graph, outName);
    ir::Node* p = out ? out->producer() : nullptr;
    if (p && isAnchoredKernel(*p) && p->output(anchorResultOutput(p->attrGraph("body"))) == out)
      exposeAnchorResult(graph, *p);
  }
  passes::Users users(graph);
  std::vector<ir::Node*> order = graph.nodes();
  auto pos = [&](const ir::Node* n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  // Each producer to move, with the last node that reads an input it overwrites.
  std::vector<std::pair<ir::Node*, const ir::Node*>> moves;
  for (const auto& [outName, inName] : pairs) {
    const ir::Value* out = findOutput(graph, outName);
    const ir::Value* in = findInput(graph, inName);
    if (!out || !in || !out->producer()) continue;
    ir::Node* p = out->producer();
    bool resultsUnread = std::all_of(p->outputs().begin(), p->outputs().end(),
                                     [&](const ir::Value* r) { return users.of(r).empty(); });
    if (!resultsUnread) continue;
    auto move = std::find_if(moves.begin(), moves.end(), [&](const auto& m) { return m.first == p; });
    if (move == moves.end()) move = moves.insert(moves.end(), {p, p});
    for (const auto& [reader, direct] : readersOf(users, in).nodes)
      if (pos(reader) > pos(move->second)) move->second = reader;
  }
  for (const auto& [p, last] : moves) {
    if (last == p) continue;  // already after every reader
    order.erase(order.begin() + pos(p));
    order.insert(order.begin() + pos(last) + 1, p);
  }
  graph.reorderNodes(order);
}

std::vector<bool> inPlaceSafety(const ir::Graph& graph, const InPlacePairs& pairs) {
  passes::Users users(graph);
  std::unordered_map<const ir::Node*, size_t> position;
  for (const ir::Node* n : graph.nodes()) position.emplace(n, position.size());
  std::set<const ir::Value*> claimedInputs, claimedOutputs;
  std::vector<bool> safe;
  for (const auto& [outName, inName] : pairs) {
    const ir::Value* out = findOutput(graph, outName);
    const ir::Value* in = findInput(graph, inName);
    bool ok = out && in && out->producer() && out->type() == in->type() && !users.isGraphOutput(in) &&
              claimedInputs.insert(in).second && claimedOutputs.insert(out).second;
    if (ok) {
      const ir::Node* p = out->producer();
      ok = canOverwrite(*p, in, out);
      Readers readers = readersOf(users, in);
      ok = ok && !readers.viewIsOutput;
      for (const auto& [reader, direct] : readers.nodes) {
        if (reader == p ? !direct : position.at(reader) > position.at(p)) ok = false;
      }
    }
    safe.push_back(ok);
  }
  return safe;
}

}  // namespace dlc::codegen::cpu
