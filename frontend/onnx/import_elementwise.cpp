// Import handlers for the elementwise op family (older opsets, multi-op lowerings).
#include "frontend/onnx/node_importer.h"

namespace dlc::frontend::onnx {

void addElementwiseImporters(ImporterTable& table) {}

}  // namespace dlc::frontend::onnx
