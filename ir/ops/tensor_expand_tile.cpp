// Expand (broadcast to a shape) and Tile (repeat along each axis).
#include "ir/ops/tensor_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;


// Gradient rule: the gradient summed over the broadcast axes.
static std::vector<Value*> gradExpand(GradContext& ctx) {
  return {unbroadcast(ctx.builder(), ctx.outputGrad(0), ctx.input(0)), nullptr};
}

const OpDef kExpandDef{
    .name = "Expand", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp | kDifferentiable,
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      if (!in.shape) return ctx.setOutput(0, TensorType::unranked(in.dtype));
      if (auto target = constantInts(ctx, 1)) {
        for (int64_t t : *target)
          if (t < 0) ctx.fail("shape [{}] has a negative extent", fmt::join(*target, ","));
        return ctx.setOutput(0, TensorType(in.dtype, broadcastShapes(*in.shape, Shape::fromExtents(*target))));
      }
      const auto& targetShape = ctx.inputShape(1);
      if (!targetShape || targetShape->rank() != 1 || !(*targetShape)[0].isStatic())
        return ctx.setOutput(0, TensorType::unranked(in.dtype));
      // Unknown target values of known count: an input extent other than 1
      // survives (the target must be 1 or equal there); all else is unknown.
      size_t rank = std::max(in.shape->rank(), size_t((*targetShape)[0].value()));
      std::vector<Dim> dims(rank);
      size_t lead = rank - in.shape->rank();
      for (size_t d = 0; d < in.shape->rank(); ++d) {
        const Dim& x = (*in.shape)[d];
        if (x.isStatic() && x.value() != 1) dims[lead + d] = x;
      }
      ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      std::vector<int64_t> target = intsOperand(ctx.input(1), "shape");
      for (int64_t t : target)
        if (t < 0) ctx.fail("shape [{}] has a negative extent", fmt::join(target, ","));
      std::vector<int64_t> outShape = broadcastExtents(in.shape(), target);
      ctx.setOutput(0, stridedGather(in, outShape, 0, broadcastStrides(in.shape(), outShape)));
    },
    .grad = gradExpand,
};


// Gradient rule of Tile: the gradient as [r0, d0, r1, d1, ...] summed over
// the repeat axes (static shapes).
static std::vector<Value*> gradTile(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value* x = ctx.input(0);
  if (!x->type().isStatic()) ctx.fail("the gradient of Tile needs a static input shape");
  std::vector<int64_t> dims = x->type().shape->extents();
  std::vector<int64_t> repeats = constantOperand(ctx.node(), 1, "repeats")->toInts();
  std::vector<int64_t> split, repeatAxes;
  for (size_t i = 0; i < dims.size(); ++i) {
    repeatAxes.push_back(int64_t(split.size()));
    split.push_back(repeats[i]);
    split.push_back(dims[i]);
  }
  return {b.reduceSum(b.reshape(ctx.outputGrad(0), b.ints(split)), repeatAxes, false), nullptr};
}

const OpDef kTileDef{
    .name = "Tile", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp | kDifferentiable,
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      if (!isInteger(ctx.inputDType(1)))
        ctx.fail("repeats must be an integer tensor, found {}", dtypeName(ctx.inputDType(1)));
      if (!in.shape) return ctx.setOutput(0, TensorType::unranked(in.dtype));
      auto repeats = constantInts(ctx, 1);
      std::vector<Dim> dims(in.shape->rank());
      if (repeats) {
        if (repeats->size() != dims.size())
          ctx.fail("repeats has {} entries, expected one per input axis ({})", repeats->size(), dims.size());
        for (size_t d = 0; d < dims.size(); ++d) {
          int64_t r = (*repeats)[d];
          if (r < 0) ctx.fail("repeats [{}] has a negative entry", fmt::join(*repeats, ","));
          const Dim& x = (*in.shape)[d];
          int64_t extent = 0;
          if (x.isStatic() && __builtin_mul_overflow(x.value(), r, &extent))
            ctx.fail("tiling extent {} by {} overflows", x.value(), r);
          dims[d] = r == 1 ? x : x.isStatic() ? Dim(extent) : r == 0 ? Dim(0) : Dim::unknown();
        }
      }
      ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      std::vector<int64_t> repeats = intsOperand(ctx.input(1), "repeats");
      if (repeats.size() != in.rank())
        ctx.fail("repeats has {} entries, expected one per input axis ({})", repeats.size(), in.rank());
      std::vector<int64_t> outShape(in.rank());
      for (size_t d = 0; d < in.rank(); ++d) {
        if (repeats[d] < 0) ctx.fail("repeats [{}] has a negative entry", fmt::join(repeats, ","));
        if (__builtin_mul_overflow(in.dim(d), repeats[d], &outShape[d]))
          ctx.fail("tiling extent {} by {} overflows", in.dim(d), repeats[d]);
      }
      auto strides = contiguousStrides(in.shape());
      ctx.setOutput(0, gatherByIndex(in, outShape, [&](const std::vector<int64_t>& idx) {
                      int64_t s = 0;
                      for (size_t d = 0; d < idx.size(); ++d) s += (idx[d] % in.dim(d)) * strides[d];
                      return s;
                    }));
    },
    .grad = gradTile,
};

}  // namespace dlc::ir
