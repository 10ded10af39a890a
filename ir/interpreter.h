// The reference interpreter: executes any IR graph on the CPU, node by node,
// with each op's reference kernel. Simple and obviously correct; it is the
// oracle for every backend, for constant folding and for gradient checks.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"

namespace dlc::ir {

using NamedTensors = std::map<std::string, Tensor>;

// Checks that `inputs` supplies every graph input with a matching dtype and
// rank, static extents equal, and each symbolic dim bound consistently.
// Throws UserError saying which input is wrong and how.
void checkInputs(const Graph& graph, const NamedTensors& inputs);

// Runs the graph; returns its outputs in order. Throws UserError for bad
// inputs or a kernel's error, naming the node. A node whose results' static
// shapes need more than maxTensorBytes (each) is refused before it runs.
std::vector<Tensor> interpret(const Graph& graph, const NamedTensors& inputs,
                              int64_t maxTensorBytes = kDefaultMaxTensorBytes);

// Runs one node on concrete inputs (absent optional inputs as nullptr).
std::vector<Tensor> evalNode(const Node& node, const std::vector<const Tensor*>& inputs);
// The same for a node whose subgraphs read values of the enclosing graph
// (If/Loop/Scan bodies): `outerValues` supplies them.
std::vector<Tensor> evalNode(const Node& node, const std::vector<const Tensor*>& inputs,
                             const std::unordered_map<const Value*, Tensor>& outerValues);

}  // namespace dlc::ir
