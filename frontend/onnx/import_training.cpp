// Import handlers for the ai.onnx.preview.training domain (version 1).
#include "frontend/onnx/node_exporter.h"
#include "frontend/onnx/node_importer.h"
#include "ir/op_def.h"

namespace dlc::frontend::onnx {

// Written back into their domain, at its version kTrainingDomainVersion.
void exportTrainingOp(NodeExporter& ne) { ne.writeAsIr(kTrainingDomain); }

void addTrainingImporters(ImporterTable& table) {
  const std::string domain = kTrainingDomain;
  table.addInDomain(domain, "Adagrad", kTrainingDomainVersion, kTrainingDomainVersion, [](NodeImporter& ni) { ni.emitSameAsOnnx(ir::OpKind::Adagrad); });
  table.addInDomain(domain, "Adam", kTrainingDomainVersion, kTrainingDomainVersion, [](NodeImporter& ni) { ni.emitSameAsOnnx(ir::OpKind::Adam); });
  table.addInDomain(domain, "Momentum", kTrainingDomainVersion, kTrainingDomainVersion, [](NodeImporter& ni) { ni.emitSameAsOnnx(ir::OpKind::Momentum); });
}

}  // namespace dlc::frontend::onnx
