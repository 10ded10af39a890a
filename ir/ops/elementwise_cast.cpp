// Cast between any two numeric or bool dtypes. The target is attribute `to`,
// an IR dtype name ("f32", "i64", "bool", ...; the ONNX importer converts
// TensorProto codes). Float to integer truncates toward zero and saturates
// (NaN becomes 0); to bool is `!= 0`; integer to integer wraps.
#include "ir/ops/elementwise.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

DType targetDType(const Node& node) {
  const std::string& name = node.attrString("to");
  std::optional<DType> t = parseDType(name);
  if (!t || *t == DType::Undefined)
    throwUserError("attribute to must name a dtype (f32, f64, f16, bf16, i8..i64, u8..u64, bool), found '{}'", name);
  return *t;
}

}  // namespace


// Gradient rule: the gradient cast back to the operand's float type.
static std::vector<Value*> gradCast(GradContext& ctx) {
  Value* x = ctx.input(0);
  if (!isFloat(x->dtype()) || !isFloat(ctx.output(0)->dtype())) return {nullptr};
  if (x->dtype() == ctx.output(0)->dtype()) return {ctx.outputGrad(0)};
  Attributes to;
  to.set("to", std::string(dtypeName(x->dtype())));
  return {ctx.builder().op(OpKind::Cast, {ctx.outputGrad(0)}, std::move(to))};
}

const OpDef kCastDef{
    .name = "Cast", .minInputs = 1, .maxInputs = 1, .traits = kElementwise | kDifferentiable,
    .attrs = {{"to", AttrKind::String, std::nullopt}},
    .infer = [](InferContext& ctx) { inferUnary(ctx, TypeSet::Any, targetDType(ctx.node())); },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      DType to = targetDType(ctx.node());
      if (to == in.dtype()) return ctx.setOutput(0, in);
      Tensor out(to, in.shape());
      dispatchDType(in.dtype(), [&](auto itag) {
        using I = decltype(itag);
        dispatchDType(to, [&](auto otag) {
          using O = decltype(otag);
          auto pi = in.data<I>();
          auto po = out.data<O>();
          for (size_t i = 0; i < pi.size(); ++i) po[i] = convertValue<O>(pi[i]);
        });
      });
      ctx.setOutput(0, std::move(out));
    },
    .grad = gradCast,
};

}  // namespace dlc::ir
