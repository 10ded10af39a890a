// Import handlers for the nn op family (older opsets, multi-op lowerings).
#include <cmath>

#include "frontend/onnx/node_exporter.h"
#include "frontend/onnx/node_importer.h"

namespace dlc::frontend::onnx {

using ir::OpKind;

// LpPool-1 and GlobalLpPool-1 took p as a float; later opsets use an int.
static void importFloatP(NodeImporter& ni, OpKind op) {
  if (const ir::AttrValue* p = ni.attrs().find("p")) {
    if (const double* f = std::get_if<double>(p)) {
      if (*f != std::floor(*f)) ni.unsupported("p must be a whole number, found {}", *f);
      ni.attrs().set("p", int64_t(*f));
    }
  }
  ni.emitSameAsOnnx(op);
}

// DynamicQuantizeLinear imports 1:1, but the IR lets a node drop the
// results nothing reads (y_scale, y_zero_point) while ONNX requires all three.
void exportDynamicQuantizeLinear(NodeExporter& ne) {
  ne.writeAsIr();
  ne.padOutputs(3);
}

void addNnImporters(ImporterTable& table) {
  // Gemm before opset 7 had a `broadcast` flag; C broadcasting is now implied.
  table.add("Gemm", 1, 6, [](NodeImporter& ni) {
    ni.attrs().erase("broadcast");
    ni.emitSameAsOnnx(OpKind::Gemm);
  });
  table.add("Gemm", 7, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::Gemm); });

  // Recurrent ops before opset 7 had `output_sequence`, which only said
  // whether Y was wanted; the node's output list says that now.
  for (auto [name, op] : {std::pair{"RNN", OpKind::RNN}, std::pair{"GRU", OpKind::GRU}, std::pair{"LSTM", OpKind::LSTM}}) {
    table.add(name, 1, 6, [op](NodeImporter& ni) {
      ni.attrs().erase("output_sequence");
      ni.emitSameAsOnnx(op);
    });
    table.add(name, 7, kMaxOpset, [op](NodeImporter& ni) { ni.emitSameAsOnnx(op); });
  }

  table.add("LpPool", 1, 1, [](NodeImporter& ni) { importFloatP(ni, OpKind::LpPool); });
  table.add("LpPool", 2, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::LpPool); });
  table.add("GlobalLpPool", 1, 1, [](NodeImporter& ni) { importFloatP(ni, OpKind::GlobalLpPool); });
  table.add("GlobalLpPool", 2, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::GlobalLpPool); });
}

}  // namespace dlc::frontend::onnx
