// Parses the textual IR written by ir/printer.h back into a Graph.
#pragma once

#include <string_view>

#include "ir/graph.h"

namespace dlc::ir {

// Throws UserError with line:column and what was expected on bad text. The
// parsed graph's result types are those written in the text; call
// inferTypes / verify to check them.
Graph parseGraph(std::string_view text);

}  // namespace dlc::ir
