// Import handlers for the ai.onnx.preview.training domain (version 1).
#include "frontend/onnx/node_importer.h"
#include "ir/op_def.h"

namespace dlc::frontend::onnx {

void addTrainingImporters(ImporterTable& table) {
  const std::string domain = "ai.onnx.preview.training";
  table.addInDomain(domain, "Adagrad", 1, 1, [](NodeImporter& ni) { ni.emitSameAsOnnx(ir::OpKind::Adagrad); });
  table.addInDomain(domain, "Adam", 1, 1, [](NodeImporter& ni) { ni.emitSameAsOnnx(ir::OpKind::Adam); });
  table.addInDomain(domain, "Momentum", 1, 1, [](NodeImporter& ni) { ni.emitSameAsOnnx(ir::OpKind::Momentum); });
}

}  // namespace dlc::frontend::onnx
