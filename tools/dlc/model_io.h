// Model inputs and outputs on the command line, shared by `dlc run` and
// `dlc bench`: --input NAME=FILE|random, --shape SYM=V, --seed S, and
// outputs written as DIR/<output name>.npy.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/interpreter.h"
#include "tools/dlc/cli_args.h"

namespace dlc::tools {

// --shape SYM=V specs as symbol bindings (defined with `dlc inspect`).
std::map<std::string, int64_t> parseDimBindings(const std::vector<std::string>& specs);

// One tensor per graph input: from the file named by --input NAME=FILE (.npy
// or ONNX TensorProto .pb), else random data (seeded by --seed) whose
// symbolic dims take their value from `dims` (1 when unbound). Throws
// UserError for a name that is not an input or an unreadable file.
ir::NamedTensors gatherInputs(const ir::Graph& graph, const CliArgs& args, const std::map<std::string, int64_t>& dims);

// Writes outputs[i] to dir/<names[i]>.npy (path separators in a name become
// '_'), creating dir.
void writeOutputs(const std::string& dir, const std::vector<std::string>& names,
                  const std::vector<ir::Tensor>& outputs);

}  // namespace dlc::tools
