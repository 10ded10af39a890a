// Import handlers for the elementwise op family: Cast's TensorProto dtype
// codes, CastLike (lowered to Cast), Swish (lowered to Sigmoid and Mul), and
// older opsets of Clip and Dropout whose attributes later became inputs.
#include <onnx/onnx_pb.h>

#include <cfloat>

#include "frontend/onnx/node_exporter.h"
#include "frontend/onnx/node_importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/ops/elementwise.h"

namespace dlc::frontend::onnx {

using namespace ir;

namespace {

// Cast's `to`: a TensorProto.DataType code (opset 6+) or its name ("FLOAT",
// opsets 1-5).
DType castTarget(NodeImporter& ni) {
  const AttrValue* to = ni.attrs().find("to");
  if (!to) ni.fail("Cast needs attribute 'to'");
  if (const auto* code = std::get_if<int64_t>(to)) return dtypeFromOnnx(int(*code));
  if (const auto* name = std::get_if<std::string>(to)) {
    ::onnx::TensorProto_DataType code;
    if (!::onnx::TensorProto_DataType_Parse(*name, &code))
      ni.fail("attribute to must name a TensorProto data type, found '{}'", *name);
    return dtypeFromOnnx(int(code));
  }
  ni.fail("attribute to must be an int (a TensorProto data type), found {}", attrKindName(attrKindOf(*to)));
}

// Cast-24's round_mode names how values are rounded to float8e8m0; it means
// nothing for the types dlc has, but a value outside the spec is an error.
void checkRoundMode(const NodeImporter& ni) {
  const std::string* mode = ni.attrAs<std::string>("round_mode");
  if (!mode) return;
  if (ni.opset() < 24) ni.fail("round_mode is an attribute of {} from opset 24 on", ni.opType());
  if (*mode != "up" && *mode != "down" && *mode != "nearest")
    ni.fail("round_mode must be 'up', 'down' or 'nearest', found '{}'", *mode);
}

// The ONNX node's output names, for the IR values that stand for them.
std::vector<std::string> onnxOutputNames(const NodeImporter& ni) {
  return {ni.proto().output().begin(), ni.proto().output().end()};
}

void importCast(NodeImporter& ni) {
  DType to = castTarget(ni);
  // `saturate` (opset 19+) only affects float8 targets and `round_mode`
  // (opset 24+) only float8e8m0 targets, which dlc lacks.
  checkRoundMode(ni);
  Node* n = ni.emit(OpKind::Cast, {ni.input(0)}, ops::castAttrs(to), 1, onnxOutputNames(ni));
  ni.setOutputs(n->outputs());
}

void importCastLike(NodeImporter& ni) {
  if (!ni.input(0) || !ni.input(1)) ni.fail("CastLike needs two inputs, input and target_type");
  checkRoundMode(ni);
  Node* n = ni.emit(OpKind::Cast, {ni.input(0)}, ops::castAttrs(ni.input(1)->dtype()), 1, onnxOutputNames(ni));
  ni.setOutputs(n->outputs());
}

// A scalar constant of `dtype` holding `value`.
Value* scalarConstant(NodeImporter& ni, DType dtype, double value, const std::string& hint) {
  Tensor t(dtype, {});
  t.setDouble(0, value);
  return ni.constant(std::move(t), hint);
}

// Clip before opset 11: bounds are float attributes `min` and `max`
// (defaults: the float range, from opset 6 on).
void importClipWithAttributes(NodeImporter& ni) {
  Value* x = ni.input(0);
  if (!x) ni.fail("Clip needs an input");
  DType dtype = x->dtype();
  auto bound = [&](const char* name, double fallback) -> Value* {
    const AttrValue* a = ni.attrs().find(name);
    if (!a) return ni.opset() >= 6 ? scalarConstant(ni, dtype, fallback, name) : nullptr;
    const auto* v = std::get_if<double>(a);
    if (!v) ni.fail("attribute {} must be a float, found {}", name, attrKindName(attrKindOf(*a)));
    return scalarConstant(ni, dtype, *v, name);
  };
  Value* lo = bound("min", -FLT_MAX);
  Value* hi = bound("max", FLT_MAX);
  Node* n = ni.emit(OpKind::Clip, {x, lo, hi}, {}, 1, onnxOutputNames(ni));
  ni.setOutputs(n->outputs());
}

// Dropout before opset 12: `ratio` is an attribute; before opset 7 `is_test`
// (default 0) selects inference; before opset 10 the mask has the data's
// dtype instead of bool.
void importDropoutWithAttributes(NodeImporter& ni) {
  Value* data = ni.input(0);
  if (!data) ni.fail("Dropout needs an input");
  double ratio = 0.5;
  if (const AttrValue* a = ni.attrs().find("ratio")) {
    const auto* v = std::get_if<double>(a);
    if (!v) ni.fail("attribute ratio must be a float, found {}", attrKindName(attrKindOf(*a)));
    ratio = *v;
  }
  std::vector<Value*> inputs = {data, ni.constant(Tensor::scalar<float>(float(ratio)), "ratio")};
  if (ni.opset() < 7) {
    bool isTest = false;
    if (const AttrValue* a = ni.attrs().find("is_test"))
      if (const auto* v = std::get_if<int64_t>(a)) isTest = *v != 0;
    inputs.push_back(ni.constant(Tensor::scalar<bool>(!isTest), "training_mode"));
  }
  size_t numOutputs = std::max<size_t>(1, std::min<size_t>(2, ni.numOutputs()));
  std::vector<std::string> names = onnxOutputNames(ni);
  bool maskHasDataType = ni.opset() < 10 && numOutputs == 2;
  if (maskHasDataType) names[1].clear();  // the Cast below produces the named mask
  Node* n = ni.emit(OpKind::Dropout, inputs, {}, numOutputs, names);
  std::vector<Value*> outputs = n->outputs();
  if (maskHasDataType) {
    outputs[1] = ni.emit(OpKind::Cast, {outputs[1]}, ops::castAttrs(data->dtype()), 1,
                         {ni.proto().output(1)})->output(0);
  }
  ni.setOutputs(outputs);
}

// Swish-24: x * sigmoid(alpha * x), as its function body computes it (the
// product with alpha left out when alpha is 1, where it changes nothing).
void importSwish(NodeImporter& ni) {
  Value* x = ni.requiredInput(0, "X");
  if (!isFloat(x->dtype())) ni.fail("Swish needs a float input, found {}", dtypeName(x->dtype()));
  ni.checkAttributes({"alpha"});
  const double* alphaAttr = ni.attrAs<double>("alpha");
  Value* scaled = x;
  if (alphaAttr && *alphaAttr != 1.0) scaled = ni.emit1(OpKind::Mul, {scalarConstant(ni, x->dtype(), *alphaAttr, "alpha"), x});
  Node* n = ni.emit(OpKind::Mul, {x, ni.emit1(OpKind::Sigmoid, {scaled})}, {}, 1, onnxOutputNames(ni));
  ni.setOutputs(n->outputs());
}

}  // namespace

// The inverse of importCast: the IR's dtype name becomes a TensorProto code
// (`saturate` keeps its default, as dlc has no float8 types).
void exportCast(NodeExporter& ne) {
  ne.writeAsIr();
  ne.dtypeNameToCode("to");
}

void addElementwiseImporters(ImporterTable& table) {
  table.add("Cast", 1, kMaxOpset, importCast);
  table.add("CastLike", 15, kMaxOpset, importCastLike);
  table.add("Clip", 1, 10, importClipWithAttributes);
  table.add("Clip", 11, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::Clip); });
  table.add("Dropout", 1, 11, importDropoutWithAttributes);
  table.add("Dropout", 12, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::Dropout); });
  table.add("Swish", 24, kMaxOpset, importSwish);
}

}  // namespace dlc::frontend::onnx
