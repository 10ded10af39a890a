// Shape and type inference over a whole graph, driven by the op table.
#pragma once

#include "ir/graph.h"

namespace dlc::ir {

// Runs each node's inference in order, setting its result types. Throws
// UserError naming the node when an op rejects its inputs.
void inferTypes(Graph& graph);
// Inference for one node (its inputs' types must be set).
void inferNode(Node& node);

}  // namespace dlc::ir
