// Import handlers for signal ops: ONNX dtype enums become dtype names, and
// DFT's axis attribute (before opset 20) becomes an input.
#include "frontend/onnx/node_exporter.h"
#include "frontend/onnx/node_importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/op_def.h"

namespace dlc::frontend::onnx {

using namespace ir;

// output_datatype: an ONNX TensorProto.DataType number in the model, a dtype
// name in the IR (so that the IR does not depend on ONNX's numbering).
static void importWithOutputDType(NodeImporter& ni, OpKind op) {
  if (const int64_t* v = ni.attrAs<int64_t>("output_datatype"))
    ni.attrs().set("output_datatype", std::string(dtypeName(dtypeFromOnnx(int(*v)))));
  ni.emitSameAsOnnx(op);
}

// The inverse: the dtype name back to the ONNX number.
void exportWithOutputDType(NodeExporter& ne) {
  ne.writeAsIr();
  ne.dtypeNameToCode("output_datatype");
}

void addSignalImporters(ImporterTable& table) {
  table.add("HannWindow", 17, kMaxOpset, [](NodeImporter& ni) { importWithOutputDType(ni, OpKind::HannWindow); });
  table.add("HammingWindow", 17, kMaxOpset, [](NodeImporter& ni) { importWithOutputDType(ni, OpKind::HammingWindow); });
  table.add("BlackmanWindow", 17, kMaxOpset, [](NodeImporter& ni) { importWithOutputDType(ni, OpKind::BlackmanWindow); });
  table.add("MelWeightMatrix", 17, kMaxOpset, [](NodeImporter& ni) { importWithOutputDType(ni, OpKind::MelWeightMatrix); });
  table.add("DFT", 17, 19, [](NodeImporter& ni) {
    int64_t axis = 1;  // DFT-17's default
    if (const int64_t* v = ni.attrAs<int64_t>("axis")) axis = *v;
    ni.attrs().erase("axis");
    Value* axisInput = ni.constant(Tensor::scalar<int64_t>(axis), "axis");
    ni.setOutputs({ni.emit1(OpKind::DFT, {ni.input(0), ni.input(1), axisInput}, ni.attrs())});
  });
  table.add("DFT", 20, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::DFT); });
  table.add("STFT", 17, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::STFT); });
}

}  // namespace dlc::frontend::onnx
