// Import handlers for the tensor op family (older opsets, multi-op lowerings).
#include "frontend/onnx/node_importer.h"

namespace dlc::frontend::onnx {

void addTensorImporters(ImporterTable& table) {}

}  // namespace dlc::frontend::onnx
