// The IR verifier: structural invariants that every pass must preserve.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace dlc::ir {

// Checks: operand and result counts within the op's limits; attributes known
// to the op, of the right kind, required ones present; every operand defined
// before use (which also rules out cycles); result types defined; graph
// outputs defined. Returns the problems found (empty when valid).
std::vector<std::string> verify(const Graph& graph);
// The operand and result count problems of one node (absent required
// operands included); empty when the node's arity fits its op. Inference runs
// this first, so inference functions may rely on the op's arity.
std::vector<std::string> arityProblems(const Node& node);
// Throws UserError listing all problems if the graph is invalid.
void verifyOrThrow(const Graph& graph);

}  // namespace dlc::ir
