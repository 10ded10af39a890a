// Import handlers for the index op family (older opsets, multi-op lowerings).
#include "frontend/onnx/composer.h"
#include "frontend/onnx/node_importer.h"
#include "ir/ops/op_util.h"

namespace dlc::frontend::onnx {

using ir::AttrValue;
using ir::OpKind;

namespace {

// Upsample (opsets 7-9) and Resize-10 resample with output = floor(in * scale)
// and source coordinate = out / scale ("asymmetric"); nearest picks the
// element at or left of that coordinate. They become a Resize with those
// settings. (onnxruntime rounds up instead when downsampling with nearest;
// the ONNX spec leaves that case open and its reference only covers integer
// upsampling, where both agree.)
void emitLegacyResize(NodeImporter& ni, ir::Value* scales) {
  std::string mode = "nearest";
  if (const auto* m = ni.attrAs<std::string>("mode")) mode = *m;
  if (mode == "bilinear") mode = "linear";
  if (mode != "nearest" && mode != "linear")
    ni.fail("{}: expected mode nearest or linear, found '{}'", ni.nodeName(), mode);
  ir::Attributes attrs;
  attrs.set("mode", mode);
  attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
  attrs.set("nearest_mode", std::string("floor"));
  ni.setOutputs({ni.emit1(OpKind::Resize, {ni.input(0), nullptr, scales}, attrs)});
}

// TensorScatter-24 writes `update` into a KV cache along `axis` at per-batch
// offsets: out[b, ..., (write_indices[b] + s) (mod max_seq if circular), ...]
// = update[b, ..., s, ...]. That is a ScatterElements along `axis` whose
// indices are write_indices[b] + s broadcast to update's shape.
void importTensorScatter(NodeImporter& ni) {
  ni.checkAttributes({"axis", "mode"});
  ir::Value* cache = ni.requiredInput(0, "past_cache");
  ir::Value* update = ni.requiredInput(1, "update");
  ir::Value* writeIndices = ni.input(2);
  if (update->dtype() != cache->dtype())
    ni.fail("update has dtype {} but past_cache has {}", ir::dtypeName(update->dtype()), ir::dtypeName(cache->dtype()));
  const auto& cacheShape = cache->type().shape;
  const auto& updateShape = update->type().shape;
  if (!cacheShape || !updateShape) ni.unsupported("TensorScatter needs the ranks of past_cache and update");
  int64_t rank = int64_t(cacheShape->rank());
  if (int64_t(updateShape->rank()) != rank)
    ni.fail("past_cache {} and update {} must have the same rank", cacheShape->str(), updateShape->str());
  if (rank < 2) ni.fail("past_cache must have a batch and a sequence dim, found {}", cacheShape->str());
  const int64_t* axisAttr = ni.attrAs<int64_t>("axis");
  int64_t axis = ir::ops::normalizeAxis(axisAttr ? *axisAttr : -2, rank);
  if (axis == 0) ni.fail("axis must not be the batch dim 0");
  std::string mode = "linear";
  if (const auto* m = ni.attrAs<std::string>("mode")) mode = *m;
  if (mode != "linear" && mode != "circular") ni.fail("mode must be 'linear' or 'circular', found '{}'", mode);
  for (int64_t d = 0; d < rank; ++d) {
    const ir::Dim &c = (*cacheShape)[size_t(d)], &u = (*updateShape)[size_t(d)];
    if (!c.isStatic() || !u.isStatic()) continue;
    if (d == axis ? u.value() > c.value() : u.value() != c.value())
      ni.fail("update {} does not fit past_cache {} along axis {}", updateShape->str(), cacheShape->str(), axis);
  }
  Composer c(ni);
  // s along `axis`, 1 elsewhere.
  std::vector<int64_t> along(size_t(rank), 1);
  along[size_t(axis)] = -1;
  Value* steps = c.op(OpKind::Range, {c.scalarI64(0), c.dimScalar(update, size_t(axis)), c.scalarI64(1)});
  Value* positions = c.reshape(steps, c.ints(along));
  if (writeIndices) {
    if (writeIndices->dtype() != ir::DType::I64)
      ni.fail("write_indices must be i64, found {}", ir::dtypeName(writeIndices->dtype()));
    std::vector<int64_t> perBatch(size_t(rank), 1);
    perBatch[0] = -1;
    positions = c.op(OpKind::Add, {positions, c.reshape(writeIndices, c.ints(perBatch))});
  }
  if (mode == "circular") positions = c.op(OpKind::Mod, {positions, c.dimScalar(cache, size_t(axis))});
  Value* shape = updateShape->isStatic() ? c.ints(updateShape->extents()) : c.op(OpKind::Shape, {update});
  Value* indices = c.op(OpKind::Expand, {positions, shape});
  ir::Attributes scatterAttrs;
  scatterAttrs.set("axis", axis);
  ir::Node* n = ni.emit(OpKind::ScatterElements, {cache, indices, update}, scatterAttrs, 1, ni.outputNames());
  ni.setOutputs(n->outputs());
}

}  // namespace

void addIndexImporters(ImporterTable& table) {
  // Scatter (opsets 9-10, deprecated since 11) is ScatterElements without reduction.
  table.add("Scatter", 1, kMaxOpset, [](NodeImporter& ni) {
    ni.attrs().erase("reduction");
    ni.emitSameAsOnnx(OpKind::ScatterElements);
  });

  // Upsample-1 scales the last two dims of a 4-D input by height_scale and
  // width_scale; Upsample-7 takes all scales as an attribute; from opset 9
  // they are an input.
  table.add("Upsample", 1, 8, [](NodeImporter& ni) {
    std::vector<double> scales;
    if (const auto* s = ni.attrAs<std::vector<double>>("scales")) {
      scales = *s;
    } else {
      const auto* h = ni.attrAs<double>("height_scale");
      const auto* w = ni.attrAs<double>("width_scale");
      if (!h || !w)
        ni.fail("{}: Upsample needs 'scales' (or 'height_scale' and 'width_scale')", ni.nodeName());
      scales = {1.0, 1.0, *h, *w};
    }
    ir::Tensor t(ir::DType::F32, {int64_t(scales.size())});
    for (size_t i = 0; i < scales.size(); ++i) t.setDouble(int64_t(i), scales[i]);
    emitLegacyResize(ni, ni.constant(std::move(t), "scales"));
  });
  table.add("Upsample", 9, kMaxOpset, [](NodeImporter& ni) { emitLegacyResize(ni, ni.input(1)); });

  // Resize-10: (X, scales) with the Upsample semantics; 11+ is the IR form
  // (roi, scales, sizes; later attributes take their defaults).
  table.add("Resize", 10, 10, [](NodeImporter& ni) { emitLegacyResize(ni, ni.input(1)); });
  table.add("Resize", 11, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::Resize); });

  // GridSample-16 is 4-D only and names its modes bilinear / bicubic; opset
  // 20 (the IR form) calls them linear / cubic.
  table.add("GridSample", 16, 19, [](NodeImporter& ni) {
    if (const auto* m = ni.attrAs<std::string>("mode")) {
      std::string mode = *m;
      if (mode == "bilinear") ni.attrs().set("mode", std::string("linear"));
      else if (mode == "bicubic") ni.attrs().set("mode", std::string("cubic"));
      else if (mode != "nearest")
        ni.fail("{}: expected GridSample mode bilinear, nearest or bicubic, found '{}'", ni.nodeName(), mode);
    } else {
      ni.attrs().set("mode", std::string("linear"));
    }
    ni.emitSameAsOnnx(OpKind::GridSample);
  });
  table.add("GridSample", 20, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::GridSample); });

  // RoiAlign-10 has no coordinate_transformation_mode; it behaves as
  // output_half_pixel (no half-pixel shift), not as the later default.
  table.add("RoiAlign", 10, 15, [](NodeImporter& ni) {
    ni.attrs().set("coordinate_transformation_mode", std::string("output_half_pixel"));
    ni.emitSameAsOnnx(OpKind::RoiAlign);
  });
  table.add("RoiAlign", 16, kMaxOpset, [](NodeImporter& ni) { ni.emitSameAsOnnx(OpKind::RoiAlign); });

  table.add("TensorScatter", 24, kMaxOpset, importTensorScatter);
}

}  // namespace dlc::frontend::onnx
