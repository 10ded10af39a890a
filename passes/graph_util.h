// Helpers shared by the rewriting passes: who reads a value, restoring a
// topological node order after nodes were appended, small constant queries.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"

namespace dlc::passes {

// For each value of the graph, the nodes that read it (as an operand or from
// inside one of their subgraphs), each node once, in node order.
class Users {
 public:
  explicit Users(const ir::Graph& graph);
  const std::vector<ir::Node*>& of(const ir::Value* v) const;
  // Whether `v` is a result of the graph.
  bool isGraphOutput(const ir::Value* v) const;

 private:
  std::unordered_map<const ir::Value*, std::vector<ir::Node*>> users_;
  std::vector<const ir::Value*> outputs_;
};

// The values a node reads: its operands (absent ones skipped) and the outer
// values its subgraphs use.
std::vector<const ir::Value*> nodeReads(const ir::Node& node);

// Reorders the nodes so that each runs after the producers of what it reads,
// keeping the existing order wherever it is already valid (nodes appended by
// a pass move up to just before their first reader). InternalError on a cycle.
void sortTopologically(ir::Graph& graph);

// Replaces every use of `old` (a node result) by `replacement` (a fresh node
// result) and gives `replacement` old's name, so that the printed graph reads
// as before; `old` is renamed "<name>.replaced" and left for DCE.
void replaceKeepingName(ir::Graph& graph, ir::Value* old, ir::Value* replacement);

// A constant's elements as doubles, or nullopt if `v` is not a constant.
std::optional<std::vector<double>> constantDoubles(const ir::Value* v);

// Values with fully known extents.
bool isStatic(const ir::Value* v);

// Whether the node has a graph attribute (If/Loop/Scan bodies, Fused).
bool hasSubgraph(const ir::Node& node);

}  // namespace dlc::passes
