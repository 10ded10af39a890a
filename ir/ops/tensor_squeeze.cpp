// Squeeze, Unsqueeze and Flatten: reshapes whose target follows from the
// input shape and the axes, so the data is shared, not copied.
#include "ir/ops/tensor_util.h"

#include <algorithm>
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

// ---- Squeeze(data, axes?) ----

// Which axes to drop for an input of `extents` (nullopt axes: every axis of
// extent 1).
static std::vector<bool> squeezedAxes(const std::vector<int64_t>& extents,
                                      const std::optional<std::vector<int64_t>>& axes) {
  std::vector<bool> drop(extents.size(), false);
  if (!axes) {
    for (size_t d = 0; d < extents.size(); ++d) drop[d] = extents[d] == 1;
    return drop;
  }
  for (int64_t a : normalizeAxes(*axes, int64_t(extents.size()), "axes")) {
    if (extents[size_t(a)] != 1 && extents[size_t(a)] >= 0)
      throwUserError("cannot squeeze axis {} of extent {}; only extent-1 axes can be removed", a,
                     extents[size_t(a)]);
    drop[size_t(a)] = true;
  }
  return drop;
}


// Gradient rule of the reshaping ops: the gradient reshaped back.
static std::vector<Value*> gradReshapeBack(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  return {b.reshape(ctx.outputGrad(0), shapeOf(b, ctx.input(0))), nullptr};
}

const OpDef kSqueezeDef{
    .name = "Squeeze", .minInputs = 1, .maxInputs = 2, .traits = kShapeOp | kDifferentiable,
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      std::optional<std::vector<int64_t>> axes;
      if (ctx.hasInput(1)) {
        axes = constantInts(ctx, 1);
        if (!axes) return ctx.setOutput(0, TensorType::unranked(in.dtype));
      }
      if (!in.shape) return ctx.setOutput(0, TensorType::unranked(in.dtype));
      std::vector<int64_t> extents;  // -1 for non-static dims
      for (const Dim& d : in.shape->dims()) extents.push_back(d.isStatic() ? d.value() : -1);
      // Without axes, a non-static dim may or may not be 1: the rank is unknown.
      if (!axes && std::count(extents.begin(), extents.end(), -1) > 0)
        return ctx.setOutput(0, TensorType::unranked(in.dtype));
      std::vector<bool> drop = squeezedAxes(extents, axes);
      std::vector<Dim> dims;
      for (size_t d = 0; d < drop.size(); ++d)
        if (!drop[d]) dims.push_back((*in.shape)[d]);
      ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      std::optional<std::vector<int64_t>> axes;
      if (ctx.hasInput(1)) axes = intsOperand(ctx.input(1), "axes");
      std::vector<bool> drop = squeezedAxes(in.shape(), axes);
      std::vector<int64_t> shape;
      for (size_t d = 0; d < drop.size(); ++d)
        if (!drop[d]) shape.push_back(in.dim(d));
      ctx.setOutput(0, in.reshaped(shape));
    },
    .grad = gradReshapeBack,
};

// ---- Unsqueeze(data, axes) ----

// For each output axis, whether it is a new extent-1 axis.
static std::vector<bool> insertedAxes(size_t inRank, const std::vector<int64_t>& axes) {
  size_t outRank = inRank + axes.size();
  std::vector<bool> inserted(outRank, false);
  for (int64_t a : normalizeAxes(axes, int64_t(outRank), "axes")) inserted[size_t(a)] = true;
  return inserted;
}

const OpDef kUnsqueezeDef{
    .name = "Unsqueeze", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp | kDifferentiable,
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      auto axes = constantInts(ctx, 1);
      if (!in.shape || !axes) return ctx.setOutput(0, TensorType::unranked(in.dtype));
      std::vector<Dim> dims;
      size_t next = 0;
      for (bool isNew : insertedAxes(in.shape->rank(), *axes))
        dims.push_back(isNew ? Dim(1) : (*in.shape)[next++]);
      ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      std::vector<int64_t> shape;
      size_t next = 0;
      for (bool isNew : insertedAxes(in.rank(), intsOperand(ctx.input(1), "axes", true)))
        shape.push_back(isNew ? 1 : in.dim(next++));
      ctx.setOutput(0, in.reshaped(shape));
    },
    .grad = gradReshapeBack,
};

// ---- Flatten(input): [d0..d(axis-1)] x [d(axis)..] ----

static int64_t flattenAxis(const Node& node, size_t rank) {
  int64_t axis = node.attrInt("axis");
  int64_t r = int64_t(rank);
  if (axis < -r || axis > r) throwUserError("axis {} is out of range [{}, {}]", axis, -r, r);
  return axis < 0 ? axis + r : axis;
}

const OpDef kFlattenDef{
    .name = "Flatten", .minInputs = 1, .maxInputs = 1, .traits = kShapeOp | kDifferentiable,
    .attrs = {{"axis", AttrKind::Int, int64_t(1)}},
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      if (!in.shape) return ctx.setOutput(0, TensorType(in.dtype, Shape(std::vector<Dim>(2))));
      const auto& dims = in.shape->dims();
      auto split = dims.begin() + flattenAxis(ctx.node(), dims.size());
      ctx.setOutput(0, TensorType(in.dtype, Shape(std::vector<Dim>{
                                                productOfDims(std::vector<Dim>(dims.begin(), split)),
                                                productOfDims(std::vector<Dim>(split, dims.end()))})));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      int64_t axis = flattenAxis(ctx.node(), in.rank());
      int64_t outer = 1;
      for (int64_t d = 0; d < axis; ++d) outer *= in.dim(size_t(d));
      int64_t inner = 1;
      for (size_t d = size_t(axis); d < in.rank(); ++d) inner *= in.dim(d);
      ctx.setOutput(0, in.reshaped({outer, inner}));
    },
    .grad = gradReshapeBack,
};

}  // namespace dlc::ir
