// IR -> ONNX ModelProto (opset 17): writes a forward graph, its constants as
// initializers, so that any ONNX runtime can run it. Covers the ops whose IR
// form is their ONNX form (elementwise arithmetic and activations, MatMul,
// Gemm, Conv, pooling, Flatten, Reshape, Transpose, Concat, Softmax, ...);
// any other op is a UserError naming the node.
#pragma once

#include <string>

#include "ir/graph.h"

namespace dlc::frontend::onnx {

inline constexpr int kExportOpset = 17;

std::string exportOnnxBytes(const ir::Graph& graph);
void exportOnnxFile(const ir::Graph& graph, const std::string& path);

}  // namespace dlc::frontend::onnx
