// The textual form of the IR (parsed back by ir/parser.h):
//
//   graph @main(%x: f32[N,3], %b: f32[3]) {
//     %w: f32[3] = const [0.5, 1.0, 2.0]
//     %y: f32[N,3] = Add(%x, %w) loc("add1")
//     %z: f32[N,3] = Gemm(%y, %w, _) {alpha = 1.0, transB = 1}
//     return %z
//   }
//
// `_` is an absent optional operand; `loc(...)` lists the model nodes a node
// came from. Names that are not plain identifiers are quoted: %"a/b:0".
#pragma once

#include <string>

#include "ir/graph.h"

namespace dlc::ir {

struct PrintOptions {
  // Constants with more elements than this print as `const <elided>` (which
  // the parser rejects). -1 prints every value.
  int64_t elideConstantsOver = -1;
};

std::string printGraph(const Graph& graph, const PrintOptions& options = {});
std::string printNode(const Node& node);

// Pieces shared with the parser's tests.
std::string formatFloat(double v);  // round-trips; always has '.', 'e', "inf" or "nan"
std::string formatName(const std::string& name);  // bare if identifier-like, else quoted

}  // namespace dlc::ir
