#include "passes/memory_plan.h"

#include <algorithm>
#include <unordered_set>

#include "support/error.h"

namespace dlc::passes {

const ir::Value* MemoryPlan::root(const ir::Value* v) const {
  for (auto it = sharesBytesWith.find(v); it != sharesBytesWith.end(); it = sharesBytesWith.find(v)) v = it->second;
  return v;
}

int64_t MemoryPlan::byteOffsetInRoot(const ir::Value* v) const {
  int64_t offset = 0;
  for (auto it = sharesBytesWith.find(v); it != sharesBytesWith.end(); it = sharesBytesWith.find(v)) {
    if (auto o = viewByteOffset.find(v); o != viewByteOffset.end()) offset += o->second;
    v = it->second;
  }
  return offset;
}

namespace {

int64_t byteSize(const ir::Value* v) {
  const auto& shape = v->type().shape;
  DLC_CHECK(shape && shape->isStatic(), "memory plan: value '{}' has no static shape", v->name());
  return shape->numElements().value_or(0) * int64_t(ir::dtypeSize(v->dtype()));
}

struct Buffer {
  const ir::Value* root;
  int64_t bytes;
  int64_t first, last;  // live over steps [first, last]
  int64_t offset = 0;
};

int64_t alignUp(int64_t x) { return (x + 63) / 64 * 64; }

}  // namespace

MemoryPlan planMemory(const ir::Graph& graph, const MemoryPlanOptions& options) {
  MemoryPlan plan;
  std::vector<ir::Node*> nodes = graph.nodes();
  std::unordered_set<const ir::Value*> graphOutputs(graph.outputs().begin(), graph.outputs().end());
  auto isIntermediate = [&](const ir::Value* v) {
    return !v->isGraphInput() && !v->isConstant() && !graphOutputs.count(v);
  };

  // Last step at which each value is read (graph outputs live to the end).
  std::unordered_map<const ir::Value*, int64_t> lastRead;
  int64_t end = int64_t(nodes.size());
  for (int64_t step = 0; step < end; ++step) {
    for (const ir::Value* in : nodes[step]->inputs())
      if (in) lastRead[in] = step;
    // Outer values read inside subgraphs count as read by the node.
    for (const auto& [name, attr] : nodes[step]->attrs().all())
      if (const auto* sub = std::get_if<std::shared_ptr<ir::Graph>>(&attr))
        for (const ir::Value* outer : (*sub)->outerUses()) lastRead[outer] = step;
  }
  for (const ir::Value* out : graph.outputs()) lastRead[out] = end;

  // Merge views and in-place results into the value whose bytes they use.
  for (int64_t step = 0; step < end; ++step) {
    const ir::Node* node = nodes[step];
    if (node->outputs().empty() || !isIntermediate(node->output(0))) continue;
    const ir::Value* result = node->output(0);
    if (options.isView && options.isView(*node) && node->input(0)) {
      plan.sharesBytesWith[result] = node->input(0);
      ++plan.numViews;
      continue;
    }
    if (std::optional<int64_t> offset = options.offsetView ? options.offsetView(*node) : std::nullopt;
        offset && node->input(0) && isIntermediate(plan.root(node->input(0)))) {
      plan.sharesBytesWith[result] = node->input(0);
      plan.viewByteOffset[result] = *offset;
      ++plan.numViews;
      continue;
    }
    if (!options.canRunInPlace) continue;
    for (size_t i = 0; i < node->inputs().size(); ++i) {
      const ir::Value* in = node->input(i);
      if (!in || !isIntermediate(in) || lastRead[in] != step) continue;
      const ir::Value* inRoot = plan.root(in);
      if (!isIntermediate(inRoot) || byteSize(in) != byteSize(result)) continue;
      // Another live view of the same bytes would see the overwrite.
      bool otherViewLive = false;
      for (const auto& [view, target] : plan.sharesBytesWith)
        if (view != in && plan.root(view) == inRoot && lastRead[view] > step) otherViewLive = true;
      if (lastRead[inRoot] > step || otherViewLive) continue;
      if (!options.canRunInPlace(*node, i)) continue;
      plan.sharesBytesWith[result] = in;
      ++plan.numInPlace;
      break;
    }
  }

  // One buffer per arena root, live from its definition to the last read of
  // anything sharing it.
  std::unordered_map<const ir::Value*, Buffer> buffers;
  for (int64_t step = 0; step < end; ++step) {
    for (const ir::Value* out : nodes[step]->outputs()) {
      if (!isIntermediate(out)) continue;
      const ir::Value* r = plan.root(out);
      if (!isIntermediate(r)) continue;  // a view of an input, constant or output
      if (r == out) {
        buffers.emplace(r, Buffer{r, alignUp(byteSize(r)), step, step});
        plan.intermediateBytes += byteSize(r);
        ++plan.numIntermediates;
      }
      auto it = lastRead.find(out);
      Buffer& b = buffers.at(r);
      b.last = std::max(b.last, it == lastRead.end() ? step : it->second);
    }
  }

  std::vector<Buffer*> order;
  for (auto& [root, b] : buffers) order.push_back(&b);
  std::sort(order.begin(), order.end(), [](const Buffer* a, const Buffer* b) {
    if (a->bytes != b->bytes) return a->bytes > b->bytes;
    return a->first < b->first;
  });
  std::vector<const Buffer*> placed;
  for (Buffer* b : order) {
    std::vector<const Buffer*> overlapping;
    for (const Buffer* p : placed)
      if (p->first <= b->last && b->first <= p->last) overlapping.push_back(p);
    std::sort(overlapping.begin(), overlapping.end(),
              [](const Buffer* x, const Buffer* y) { return x->offset < y->offset; });
    // Best fit: the smallest gap that holds the buffer, else the end.
    int64_t cursor = 0, best = -1, bestGap = INT64_MAX;
    for (const Buffer* p : overlapping) {
      int64_t gap = p->offset - cursor;
      if (gap >= b->bytes && gap < bestGap) {
        best = cursor;
        bestGap = gap;
      }
      cursor = std::max(cursor, p->offset + p->bytes);
    }
    b->offset = best >= 0 ? best : cursor;
    plan.arenaBytes = std::max(plan.arenaBytes, b->offset + b->bytes);
    placed.push_back(b);
  }
  for (const auto& [root, b] : buffers) plan.arenaOffset[root] = b.offset;
  return plan;
}

}  // namespace dlc::passes
