// Import handlers for the tensor op family (older opsets, multi-op lowerings).
// The IR ops take the newest ONNX form; older opsets carried some operands
// (shape, split, starts/ends/axes, pads, axes) as attributes, which these
// handlers turn into constant operands. CenterCropPad is lowered to Pad and
// Slice.
#include "frontend/onnx/composer.h"
#include "frontend/onnx/node_importer.h"
#include "frontend/onnx/node_exporter.h"

#include <onnx/onnx_pb.h>

#include "frontend/onnx/tensor_proto.h"
#include "ir/ops/op_util.h"

namespace dlc::frontend::onnx {

using ir::OpKind;

namespace {

// Removes an ints attribute and returns it as a constant i64 operand.
ir::Value* intsAttrAsInput(NodeImporter& ni, const std::string& name) {
  const ir::AttrValue* v = ni.attrs().find(name);
  if (!v || !std::holds_alternative<std::vector<int64_t>>(*v))
    ni.fail("attribute '{}' must be a list of ints", name);
  ir::Value* c = ni.constantInts(std::get<std::vector<int64_t>>(*v));
  ni.attrs().erase(name);
  return c;
}

// Emits `op` with the given operands and the node's remaining attributes,
// binding all ONNX outputs.
void emitWith(NodeImporter& ni, OpKind op, std::vector<ir::Value*> inputs) {
  std::vector<std::string> names(ni.proto().output().begin(), ni.proto().output().end());
  ir::Node* n = ni.emit(op, std::move(inputs), ni.attrs(), ni.numOutputs(), names);
  ni.setOutputs(n->outputs());
}

void sameAsOnnx(ImporterTable& table, const std::string& opType, int since, OpKind op) {
  table.add(opType, since, kMaxOpset, [op](NodeImporter& ni) { ni.emitSameAsOnnx(op); });
}

// CenterCropPad-18 as its function body: pad each axis up to `shape`
// (centred, the odd element at the end), then crop it down (centred, the
// odd element dropped at the end).
void importCenterCropPad(NodeImporter& ni) {
  ni.checkAttributes({"axes"});
  ir::Value* x = ni.requiredInput(0, "input_data");
  ir::Value* target = ni.requiredInput(1, "shape");
  if (target->dtype() != ir::DType::I64 && target->dtype() != ir::DType::I32)
    ni.fail("shape must be i32 or i64, found {}", ir::dtypeName(target->dtype()));
  if (!x->type().shape) ni.unsupported("CenterCropPad needs the input's rank to be known");
  int64_t rank = int64_t(x->type().shape->rank());
  std::vector<int64_t> axes;
  if (const auto* a = ni.attrAs<std::vector<int64_t>>("axes")) {
    for (int64_t axis : *a) axes.push_back(ir::ops::normalizeAxis(axis, rank));
  } else {
    for (int64_t axis = 0; axis < rank; ++axis) axes.push_back(axis);
  }
  Composer c(ni);
  Value* axesValue = c.ints(axes);
  Value* two = c.ints({2});
  Value* shape = c.cast(target, ir::DType::I64);
  auto dimsAlongAxes = [&](Value* v) { return c.op(OpKind::Gather, {c.op(OpKind::Shape, {v}), axesValue}); };
  Value* dims = dimsAlongAxes(x);
  Value* padAmount = c.op(OpKind::Sub, {c.op(OpKind::Max, {dims, shape}), dims});
  Value* padBegin = c.op(OpKind::Div, {padAmount, two});
  Value* pads = c.concat({padBegin, c.op(OpKind::Sub, {padAmount, padBegin})}, 0);
  ir::Attributes constantMode;
  constantMode.set("mode", std::string("constant"));
  Value* padded = c.op(OpKind::Pad, {x, pads, nullptr, axesValue}, std::move(constantMode));
  Value* start = c.op(OpKind::Div, {c.op(OpKind::Sub, {dimsAlongAxes(padded), shape}), two});
  Value* end = c.op(OpKind::Add, {start, shape});
  ni.setOutputs({c.op(OpKind::Slice, {padded, start, end, axesValue})});
}

}  // namespace

// Split-13..17 split into equal parts when the split operand is absent;
// from opset 18 that needs num_outputs, which the IR leaves out (the node's
// result count says it).
void exportSplit(NodeExporter& ne) {
  ne.writeAsIr();
  const ir::Node& n = ne.node();
  if (!n.hasInput(1) && !n.hasAttr("num_outputs")) {
    auto* a = ne.proto().add_attribute();
    a->set_name("num_outputs");
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(int64_t(n.outputs().size()));
  }
}

// EyeLike's dtype: the IR dtype name back to the ONNX code (see its importer).
void exportEyeLike(NodeExporter& ne) {
  ne.writeAsIr();
  ne.dtypeNameToCode("dtype");
}

void addTensorImporters(ImporterTable& table) {
  // Reshape-1..4: `shape` attribute (and the obsolete consumed_inputs).
  table.add("Reshape", 1, 4, [](NodeImporter& ni) {
    ni.attrs().erase("consumed_inputs");
    ir::Value* shape = intsAttrAsInput(ni, "shape");
    emitWith(ni, OpKind::Reshape, {ni.input(0), shape});
  });
  sameAsOnnx(table, "Reshape", 5, OpKind::Reshape);

  // Concat-1..3: axis was optional, defaulting to 1.
  table.add("Concat", 1, 3, [](NodeImporter& ni) {
    if (!ni.attrs().has("axis")) ni.attrs().set("axis", int64_t(1));
    ni.emitSameAsOnnx(OpKind::Concat);
  });
  sameAsOnnx(table, "Concat", 4, OpKind::Concat);

  // Split-1..12: `split` attribute (opset 1 also allowed it as an operand).
  table.add("Split", 1, 12, [](NodeImporter& ni) {
    ir::Value* split = ni.attrs().has("split") ? intsAttrAsInput(ni, "split") : ni.input(1);
    emitWith(ni, OpKind::Split, {ni.input(0), split});
  });
  sameAsOnnx(table, "Split", 13, OpKind::Split);

  // Slice-1..9: starts/ends/axes attributes.
  table.add("Slice", 1, 9, [](NodeImporter& ni) {
    ir::Value* starts = intsAttrAsInput(ni, "starts");
    ir::Value* ends = intsAttrAsInput(ni, "ends");
    ir::Value* axes = ni.attrs().has("axes") ? intsAttrAsInput(ni, "axes") : nullptr;
    emitWith(ni, OpKind::Slice, {ni.input(0), starts, ends, axes});
  });
  sameAsOnnx(table, "Slice", 10, OpKind::Slice);

  // Squeeze-1..12 / Unsqueeze-1..12: `axes` attribute.
  table.add("Squeeze", 1, 12, [](NodeImporter& ni) {
    ir::Value* axes = ni.attrs().has("axes") ? intsAttrAsInput(ni, "axes") : nullptr;
    emitWith(ni, OpKind::Squeeze, {ni.input(0), axes});
  });
  sameAsOnnx(table, "Squeeze", 13, OpKind::Squeeze);
  table.add("Unsqueeze", 1, 12, [](NodeImporter& ni) {
    emitWith(ni, OpKind::Unsqueeze, {ni.input(0), intsAttrAsInput(ni, "axes")});
  });
  sameAsOnnx(table, "Unsqueeze", 13, OpKind::Unsqueeze);

  // Pad-1 (`paddings`) and Pad-2..10 (`pads`): attributes, with a float
  // `value` for constant mode, which becomes a scalar of the data's dtype.
  table.add("Pad", 1, 10, [](NodeImporter& ni) {
    ir::Value* pads = intsAttrAsInput(ni, ni.opset() == 1 ? "paddings" : "pads");
    double value = 0.0;
    if (const ir::AttrValue* v = ni.attrs().find("value")) {
      if (!std::holds_alternative<double>(*v)) ni.fail("attribute 'value' must be a float");
      value = std::get<double>(*v);
      ni.attrs().erase("value");
    }
    ir::Value* data = ni.requiredInput(0, "data");
    ir::Tensor fill(data->dtype(), {});
    fill.setDouble(0, value);
    emitWith(ni, OpKind::Pad, {data, pads, ni.constant(fill, "value")});
  });
  sameAsOnnx(table, "Pad", 11, OpKind::Pad);

  // Tile-1..5 took (input, tiles, axis) operands: a different op.
  table.add("Tile", 1, 5, [](NodeImporter& ni) {
    ni.unsupported("Tile before opset 6 (tiles/axis operands) is not supported");
  });
  sameAsOnnx(table, "Tile", 6, OpKind::Tile);

  table.add("CenterCropPad", 18, kMaxOpset, importCenterCropPad);

  // EyeLike: the ONNX dtype enum becomes the IR dtype name.
  table.add("EyeLike", 1, kMaxOpset, [](NodeImporter& ni) {
    if (const ir::AttrValue* v = ni.attrs().find("dtype")) {
      if (!std::holds_alternative<int64_t>(*v)) ni.fail("attribute 'dtype' must be an int");
      ir::DType dtype = dtypeFromOnnx(int(std::get<int64_t>(*v)));
      ni.attrs().set("dtype", std::string(ir::dtypeName(dtype)));
    }
    ni.emitSameAsOnnx(OpKind::EyeLike);
  });
}

}  // namespace dlc::frontend::onnx
