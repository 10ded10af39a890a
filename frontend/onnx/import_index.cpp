// Import handlers for the index op family (older opsets, multi-op lowerings).
#include "frontend/onnx/node_importer.h"

namespace dlc::frontend::onnx {

void addIndexImporters(ImporterTable& table) {}

}  // namespace dlc::frontend::onnx
