// Import handlers for control flow (If, Loop, Scan). The subgraphs
// themselves are imported by the importer core (frontend/onnx/importer.cpp).
#include "frontend/onnx/node_importer.h"
#include "ir/op_def.h"

namespace dlc::frontend::onnx {

void addControlImporters(ImporterTable& table) {
  // Scan-8 had a leading batch axis and a sequence_lens input; only the
  // opset-9 form is implemented, so opset 8 is reported as unsupported.
  table.add("Scan", 9, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(ir::OpKind::Scan); });
}

}  // namespace dlc::frontend::onnx
