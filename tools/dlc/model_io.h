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

// `dlc bench --shape` takes both SYM=V and INPUT=AxBxC (an input's full
// shape). Splits the specs into the two kinds: a spec whose value holds an
// 'x', or whose name is one of `inputNames`, is an input shape.
struct ShapeSpecs {
  std::vector<std::string> symbols;                       // SYM=V
  std::map<std::string, std::vector<int64_t>> inputs;     // INPUT -> extents
};
ShapeSpecs splitShapeSpecs(const std::vector<std::string>& specs, const std::vector<std::string>& inputNames);

// Adds to `dims` the symbol bindings that give each input in `shapes` its
// shape. Throws UserError when the rank or a static dim disagrees with the
// model, or a symbol would be bound to two values.
void bindInputShapes(const ir::Graph& graph, const std::map<std::string, std::vector<int64_t>>& shapes,
                     std::map<std::string, int64_t>& dims);

// One tensor per graph input: from the file named by --input NAME=FILE (.npy
// or ONNX TensorProto .pb), else random data (seeded by --seed) whose
// symbolic dims take their value from `dims` (1 when unbound). Throws
// UserError for a name that is not an input or an unreadable file.
// Tensors over maxTensorBytes are refused before they are allocated.
ir::NamedTensors gatherInputs(const ir::Graph& graph, const CliArgs& args, const std::map<std::string, int64_t>& dims,
                              int64_t maxTensorBytes = ir::kDefaultMaxTensorBytes);

// Writes outputs[i] to dir/<names[i]>.npy (path separators in a name become
// '_'), creating dir.
void writeOutputs(const std::string& dir, const std::vector<std::string>& names,
                  const std::vector<ir::Tensor>& outputs);

}  // namespace dlc::tools
