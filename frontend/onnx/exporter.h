// IR -> ONNX ModelProto: writes a graph (and the subgraphs of If, Loop and
// Scan), its constants as initializers, typed inputs and outputs (symbolic
// dims as dim_params), so that any ONNX runtime can run it. The default
// domain is written at kExportOpset (21), where every IR op's form is
// ONNX's (the importer reads up to 24 into the same ops); optimizer ops go into
// ai.onnx.preview.training version 1. How each op is written is decided in
// frontend/onnx/export_table.cpp. IR-only ops (Fused) are a UserError naming
// every such node; so is a model over protobuf's 2 GiB limit (external data
// is not written).
#pragma once

#include <string>

#include "frontend/onnx/node_exporter.h"
#include "ir/graph.h"

namespace dlc::frontend::onnx {

std::string exportOnnxBytes(const ir::Graph& graph);
void exportOnnxFile(const ir::Graph& graph, const std::string& path);

}  // namespace dlc::frontend::onnx
