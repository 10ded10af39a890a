// Import handlers for the reduction op family (older opsets, multi-op lowerings).
#include "frontend/onnx/node_importer.h"

namespace dlc::frontend::onnx {

void addReductionImporters(ImporterTable& table) {}

}  // namespace dlc::frontend::onnx
