// Memory planning: places every intermediate value of a scheduled graph in
// one arena, reusing the bytes of values that are dead.
//
// Preconditions: nodes are in execution order and every value the plan
// places has a static shape. The caller says which nodes produce views of an
// operand (reshapes: the result shares the operand's bytes) and which can
// write their result over an operand that dies at that node (elementwise
// kernels read element i before writing element i).
//
// Algorithm: views and in-place results are merged with the value whose
// bytes they reuse; each merged buffer is live from its first definition to
// its last read; buffers are placed largest first at the lowest offset that
// does not overlap a buffer live at the same time (best fit over the gaps).
// Offsets are multiples of 64 bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

#include "ir/graph.h"

namespace dlc::passes {

struct MemoryPlanOptions {
  // Result 0 of the node is a view of operand 0 (same bytes, new shape).
  std::function<bool(const ir::Node&)> isView;
  // Result 0 of the node is operand 0's bytes from this byte offset on (a
  // contiguous Slice or Gather), or nullopt. Planned as a view only where
  // operand 0 lives in the arena (an offset into an input or a constant
  // has no arena address); elsewhere the node runs.
  std::function<std::optional<int64_t>(const ir::Node&)> offsetView;
  // Result 0 may overwrite operand `i` (same byte size) if that operand dies here.
  std::function<bool(const ir::Node&, size_t operand)> canRunInPlace;
};

struct MemoryPlan {
  // Values whose bytes are in the arena, with their byte offset.
  std::unordered_map<const ir::Value*, int64_t> arenaOffset;
  // Views and in-place results: the value whose bytes they use (which may be
  // a graph input, a constant, a graph output or an arena value).
  std::unordered_map<const ir::Value*, const ir::Value*> sharesBytesWith;
  // Offset views: the byte offset into the value they share bytes with.
  std::unordered_map<const ir::Value*, int64_t> viewByteOffset;
  int64_t arenaBytes = 0;             // the peak: size of the arena
  int64_t intermediateBytes = 0;      // sum of all intermediate values' sizes, without reuse
  int64_t numIntermediates = 0;
  int64_t numInPlace = 0;
  int64_t numViews = 0;

  // The value whose buffer `v` ultimately lives in.
  const ir::Value* root(const ir::Value* v) const;
  // Where in root(v)'s bytes `v` starts.
  int64_t byteOffsetInRoot(const ir::Value* v) const;
};

MemoryPlan planMemory(const ir::Graph& graph, const MemoryPlanOptions& options);

}  // namespace dlc::passes
