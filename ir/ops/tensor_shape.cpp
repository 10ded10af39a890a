// Shape (with the opset-15 start/end window) and Size: metadata as i64 tensors.
#include "ir/ops/tensor_util.h"

#include <algorithm>

namespace dlc::ir {
using namespace ops;

// The [start, end) window of a rank-`rank` shape that Shape returns; both
// bounds are clamped into [0, rank] after adding rank to negative values.
static std::pair<int64_t, int64_t> shapeWindow(const Node& node, int64_t rank) {
  auto clampBound = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = clampBound(node.attrInt("start"));
  int64_t end = node.hasAttr("end") ? clampBound(node.attrInt("end")) : rank;
  return {start, std::max(start, end)};
}

const OpDef kShapeDef{
    .name = "Shape", .minInputs = 1, .maxInputs = 1,
    .attrs = {{"start", AttrKind::Int, int64_t(0)}, {"end", AttrKind::Int, std::nullopt, true}},
    .infer = [](InferContext& ctx) {
      const auto& s = ctx.inputShape(0);
      if (!s) return ctx.setOutput(0, TensorType(DType::I64, Shape(std::vector<Dim>(1))));
      auto [start, end] = shapeWindow(ctx.node(), int64_t(s->rank()));
      ctx.setOutput(0, TensorType(DType::I64, Shape{end - start}));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      auto [start, end] = shapeWindow(ctx.node(), int64_t(in.rank()));
      std::vector<int64_t> extents(in.shape().begin() + start, in.shape().begin() + end);
      ctx.setOutput(0, Tensor::fromVector<int64_t>({end - start}, extents));
    },
};

const OpDef kSizeDef{
    .name = "Size", .minInputs = 1, .maxInputs = 1,
    .infer = [](InferContext& ctx) { ctx.setOutput(0, TensorType(DType::I64, Shape())); },
    .eval = [](EvalContext& ctx) { ctx.setOutput(0, Tensor::scalar<int64_t>(ctx.input(0).numel())); },
};

}  // namespace dlc::ir
