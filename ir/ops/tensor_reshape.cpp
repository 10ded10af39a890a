// Reshape: data unchanged, new extents from the `shape` input (0 copies the
// input extent unless allowzero, -1 is inferred).
#include <limits>

#include "ir/ops/op_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

static std::vector<int64_t> resolveReshape(const std::vector<int64_t>& in,
                                           std::vector<int64_t> target, bool allowZero) {
  int64_t inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allowZero) {
      if (i >= in.size()) throwUserError("shape entry {} is 0 but the input has rank {}", i, in.size());
      target[i] = in[i];
    }
    if (target[i] == -1) {
      if (inferred >= 0) throwUserError("shape has more than one -1");
      inferred = int64_t(i);
    } else if (target[i] < 0) {
      throwUserError("shape entry {} is {}", i, target[i]);
    } else {
      if (target[i] != 0 && known > std::numeric_limits<int64_t>::max() / target[i])
        throwUserError("shape [{}] has too many elements", fmt::join(target, ","));
      known *= target[i];
    }
  }
  int64_t total = checkedNumElements(in);
  if (inferred >= 0) {
    if (known == 0 || total % known != 0)
      throwUserError("cannot reshape [{}] to [{}]", fmt::join(in, ","), fmt::join(target, ","));
    target[size_t(inferred)] = total / known;
  } else if (known != total) {
    throwUserError("cannot reshape [{}] ({} elements) to [{}] ({} elements)", fmt::join(in, ","),
                   total, fmt::join(target, ","), known);
  }
  return target;
}


// Gradient rule of the reshaping ops: the gradient reshaped back.
static std::vector<Value*> gradReshapeBack(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  return {b.reshape(ctx.outputGrad(0), shapeOf(b, ctx.input(0))), nullptr};
}

const OpDef kReshapeDef{
    .name = "Reshape", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp | kDifferentiable,
    .attrs = {{"allowzero", AttrKind::Int, int64_t(0)}},
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      auto target = constantInts(ctx, 1);
      if (!target) {
        const auto& s = ctx.inputShape(1);
        if (s && s->rank() == 1 && (*s)[0].isStatic())
          return ctx.setOutput(0, TensorType(in.dtype, Shape(std::vector<Dim>(size_t((*s)[0].value())))));
        return ctx.setOutput(0, TensorType::unranked(in.dtype));
      }
      bool allowZero = ctx.node().attrInt("allowzero") != 0;
      if (in.isStatic())
        return ctx.setOutput(0, TensorType(in.dtype, Shape::fromExtents(resolveReshape(
                                                         in.shape->extents(), *target, allowZero))));
      // Symbolic input: copy dims for 0 entries, keep static entries, unknown for -1.
      std::vector<Dim> dims;
      for (size_t i = 0; i < target->size(); ++i) {
        int64_t t = (*target)[i];
        if (t == 0 && !allowZero && in.shape && i < in.shape->rank()) dims.push_back((*in.shape)[i]);
        else if (t >= 0) dims.push_back(Dim(t));
        else dims.push_back(Dim::unknown());
      }
      ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      auto shape = resolveReshape(in.shape(), ctx.input(1).toInts(),
                                  ctx.node().attrInt("allowzero") != 0);
      ctx.setOutput(0, in.reshaped(shape));
    },
    .grad = gradReshapeBack,
};

}  // namespace dlc::ir
