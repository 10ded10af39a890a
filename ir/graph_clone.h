// Deep copies of graphs: a compiled target specialises a copy of the model
// for each input-shape signature and leaves the original untouched.
#pragma once

#include "ir/graph.h"

namespace dlc::ir {

// A copy of `graph` with new Values and Nodes (names, types, attributes and
// origins kept). Constant data is shared, not copied (Tensor storage is
// immutable once in the IR). Subgraph attributes are copied too, with their
// reads of outer values redirected to the copies.
Graph cloneGraph(const Graph& graph);

}  // namespace dlc::ir
