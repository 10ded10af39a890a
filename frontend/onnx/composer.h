// IR building blocks for import handlers that lower an ONNX op to several
// IR ops: shorthand for the ops they emit, with shape arithmetic done at
// import where the dims are static (so that inference sees static shapes)
// and with Shape ops where they are not.
#pragma once

#include <optional>
#include <vector>

#include "frontend/onnx/node_importer.h"
#include "ir/ops/elementwise.h"

namespace dlc::frontend::onnx {

using ir::OpKind;
using ir::Value;

class Composer {
 public:
  explicit Composer(NodeImporter& ni) : ni_(ni) {}

  Value* op(OpKind k, std::vector<Value*> inputs, ir::Attributes attrs = {}) {
    return ni_.emit1(k, std::move(inputs), std::move(attrs));
  }
  Value* ints(const std::vector<int64_t>& values) { return ni_.constantInts(values); }
  Value* scalarI64(int64_t v) { return ni_.constant(ir::Tensor::scalar<int64_t>(v), "scalar"); }
  Value* scalar(ir::DType dtype, double v, const char* hint) {
    ir::Tensor t(dtype, {});
    t.setDouble(0, v);
    return ni_.constant(std::move(t), hint);
  }
  Value* cast(Value* v, ir::DType to) { return v->dtype() == to ? v : op(OpKind::Cast, {v}, ir::ops::castAttrs(to)); }
  Value* transpose(Value* v, std::vector<int64_t> perm) {
    ir::Attributes a;
    a.set("perm", std::move(perm));
    return op(OpKind::Transpose, {v}, std::move(a));
  }
  // Reshape with ONNX's 0 (copy the dim) and -1 (the rest).
  Value* reshape(Value* v, Value* shape) { return op(OpKind::Reshape, {v, shape}); }
  Value* unsqueeze(Value* v, std::vector<int64_t> axes) { return op(OpKind::Unsqueeze, {v, ints(axes)}); }
  Value* slice(Value* v, int64_t start, int64_t end, int64_t axis, int64_t step = 1) {
    return op(OpKind::Slice, {v, ints({start}), ints({end}), ints({axis}), ints({step})});
  }
  Value* concat(std::vector<Value*> parts, int64_t axis) {
    ir::Attributes a;
    a.set("axis", axis);
    return op(OpKind::Concat, std::move(parts), std::move(a));
  }

  // Dim `axis` of v as a static extent, or nullopt.
  static std::optional<int64_t> staticDim(const Value* v, size_t axis) {
    const auto& s = v->type().shape;
    if (!s || axis >= s->rank() || !(*s)[axis].isStatic()) return std::nullopt;
    return (*s)[axis].value();
  }
  // Dim `axis` of v as a 0-d i64 value: a constant when static.
  Value* dimScalar(Value* v, size_t axis) {
    if (auto d = staticDim(v, axis)) return scalarI64(*d);
    ir::Attributes a;
    a.set("start", int64_t(axis));
    a.set("end", int64_t(axis) + 1);
    return op(OpKind::Squeeze, {op(OpKind::Shape, {v}, std::move(a)), ints({0})});
  }

 private:
  NodeImporter& ni_;
};

}  // namespace dlc::frontend::onnx
