// ONNX model import: .onnx file -> IR graph.
#pragma once

#include <map>
#include <string>

#include "ir/graph.h"

namespace dlc::frontend::onnx {

struct ImportOptions {
  // Bind symbolic input dims (e.g. {"N", 1}) while importing.
  std::map<std::string, int64_t> dimBindings;
  // Weights, constants and statically shaped graph inputs over this many
  // bytes are refused before anything is allocated (dlc ... --max-tensor-bytes).
  int64_t maxTensorBytes = ir::kDefaultMaxTensorBytes;
};

struct ImportedModel {
  ir::Graph graph;
  int opset = 0;
  std::string producer;  // producer_name and version
};

// Loads and imports a model. Throws UserError (UnsupportedError for valid
// models that use what dlc does not implement) naming the node, its op_type
// and opset; all unsupported ops are listed in one message.
ImportedModel importOnnxFile(const std::string& path, const ImportOptions& options = {});
ImportedModel importOnnxBytes(const std::string& bytes, const std::string& modelDir,
                              const ImportOptions& options = {});

}  // namespace dlc::frontend::onnx
