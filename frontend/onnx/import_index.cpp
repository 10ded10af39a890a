// Import handlers for the index op family (older opsets, multi-op lowerings).
#include "frontend/onnx/node_importer.h"

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
}

}  // namespace dlc::frontend::onnx
