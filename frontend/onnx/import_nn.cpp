// Import handlers for the nn op family (older opsets, multi-op lowerings).
#include "frontend/onnx/node_importer.h"

namespace dlc::frontend::onnx {

void addNnImporters(ImporterTable& table) {}

}  // namespace dlc::frontend::onnx
