// Dead-code elimination. Pre: a valid graph. Post: every node has a result
// that is read (by a node, a subgraph or a graph output); constants nothing
// reads are gone.
#include "passes/pass.h"

namespace dlc::passes {

bool eliminateDeadCode(ir::Graph& graph, const PassContext&) {
  size_t constantsBefore = graph.constants().size();
  size_t removed = graph.removeDeadNodes();
  return removed > 0 || graph.constants().size() != constantsBefore;
}

}  // namespace dlc::passes
