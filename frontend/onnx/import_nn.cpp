// Import handlers for the nn op family (older opsets, multi-op lowerings).
#include <cmath>
#include <optional>

#include "frontend/onnx/composer.h"
#include "frontend/onnx/node_exporter.h"
#include "frontend/onnx/node_importer.h"
#include "frontend/onnx/tensor_proto.h"

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

// An int attribute holding a TensorProto data type code, as a DType (0:
// absent); a type dlc lacks (float8, int4, ...) is an UnsupportedError
// naming it.
std::optional<ir::DType> dtypeAttr(NodeImporter& ni, const std::string& name) {
  const int64_t* code = ni.attrAs<int64_t>(name);
  if (!code || *code == 0) return std::nullopt;
  try {
    return dtypeFromOnnx(int(*code));
  } catch (const UnsupportedError& e) {
    ni.unsupported("{} {}: {}", name, *code, e.what());
  } catch (const UserError& e) {
    ni.fail("{} {}: {}", name, *code, e.what());
  }
}

// QuantizeLinear: the IR op is the opset-21 form. Opset 23 lets x and
// y_scale differ in type and adds `precision`, the type the division is
// done in (by default y_scale's, as the spec says; onnx's reference uses
// numpy's promotion of the two instead); x and y_scale are cast to it here.
void importQuantizeLinear(NodeImporter& ni) {
  dtypeAttr(ni, "output_dtype");  // refuses float8 / 4-bit targets by name
  Composer c(ni);
  std::vector<ir::Value*> inputs = ni.inputs();
  if (ni.opset() >= 23 && inputs.size() >= 2 && inputs[1]) {
    std::optional<ir::DType> precision = dtypeAttr(ni, "precision");
    ni.attrs().erase("precision");
    ir::DType scaleType = inputs[1]->dtype();
    if (!ir::isFloat(scaleType))
      ni.unsupported("y_scale of dtype {} (the division needs a float precision)", ir::dtypeName(scaleType));
    ir::DType divideIn = precision.value_or(scaleType);
    if (!ir::isFloat(divideIn)) ni.fail("precision must be a float type, found {}", ir::dtypeName(divideIn));
    inputs[0] = c.cast(inputs[0], divideIn);
    inputs[1] = c.cast(inputs[1], divideIn);
  }
  ir::Node* n = ni.emit(OpKind::QuantizeLinear, inputs, ni.attrs(), 1, ni.outputNames());
  ni.setOutputs(n->outputs());
}

// DequantizeLinear: the IR op is the opset-21 form, whose result has
// y_scale's type. Opset 23's output_dtype picks another float type: the
// product is computed as onnx's reference computes it, in float (double for
// a double scale), then rounded to output_dtype.
void importDequantizeLinear(NodeImporter& ni) {
  std::optional<ir::DType> out = dtypeAttr(ni, "output_dtype");
  ni.attrs().erase("output_dtype");
  std::vector<ir::Value*> inputs = ni.inputs();
  if (!out || inputs.size() < 2 || !inputs[1] || *out == inputs[1]->dtype()) {
    ir::Node* n = ni.emit(OpKind::DequantizeLinear, inputs, ni.attrs(), 1, ni.outputNames());
    return ni.setOutputs(n->outputs());
  }
  if (*out != ir::DType::F32 && *out != ir::DType::F16 && *out != ir::DType::BF16)
    ni.fail("output_dtype must be float, float16 or bfloat16, found {}", ir::dtypeName(*out));
  Composer c(ni);
  ir::DType product = inputs[1]->dtype() == ir::DType::F64 ? ir::DType::F64 : ir::DType::F32;
  inputs[1] = c.cast(inputs[1], product);
  ni.setOutputs({c.cast(c.op(OpKind::DequantizeLinear, inputs, ni.attrs()), *out)});
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

  table.add("QuantizeLinear", 10, kMaxOpset, importQuantizeLinear);
  table.add("DequantizeLinear", 10, kMaxOpset, importDequantizeLinear);
}

}  // namespace dlc::frontend::onnx
