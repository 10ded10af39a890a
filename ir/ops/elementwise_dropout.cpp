// Dropout for inference: the output is the input and the optional mask is
// all true. Training mode with a non-zero ratio drops random elements, which
// the reference interpreter does not model: it is reported as unsupported.
#include "ir/ops/elementwise.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

constexpr double kDefaultRatio = 0.5;

void checkRatio(double ratio) {
  if (!(ratio >= 0.0 && ratio < 1.0)) throwUserError("ratio must be in [0, 1), found {}", ratio);
}

[[noreturn]] void rejectTraining(double ratio) {
  throw UnsupportedError(fmt::format(
      "Dropout in training mode with ratio {} drops random elements; only inference (training_mode false, or "
      "ratio 0) is supported",
      ratio));
}

}  // namespace


// Gradient rule: Dropout runs as the identity here (training mode with a
// non-zero ratio is rejected by the kernel), so the gradient passes through.
static std::vector<Value*> gradDropout(GradContext& ctx) { return {ctx.outputGrad(0)}; }

// Operands: data, ratio (scalar float, default 0.5), training_mode (scalar
// bool, default false). Results: output, mask (bool).
const OpDef kDropoutDef{
    .name = "Dropout", .minInputs = 1, .maxInputs = 3, .minOutputs = 1, .maxOutputs = 2,
    .traits = kElementwise | kDifferentiable | kNondeterministic,
    .attrs = {{.name = "seed", .kind = AttrKind::Int, .optional = true}},
    .infer = [](InferContext& ctx) {
      checkInputType(ctx, 0, TypeSet::Float, "data");
      if (ctx.hasInput(1)) checkInputType(ctx, 1, TypeSet::Float, "ratio");
      if (ctx.hasInput(2)) checkInputType(ctx, 2, TypeSet::Bool, "training_mode");
      double ratio = kDefaultRatio;
      if (const Tensor* r = ctx.hasInput(1) ? ctx.constantInput(1) : nullptr) {
        if (r->numel() != 1) ctx.fail("ratio has {} elements, expected a scalar", r->numel());
        ratio = r->getDouble(0);
        checkRatio(ratio);
      }
      if (const Tensor* t = ctx.hasInput(2) ? ctx.constantInput(2) : nullptr) {
        if (t->numel() != 1) ctx.fail("training_mode has {} elements, expected a scalar", t->numel());
        bool ratioKnown = !ctx.hasInput(1) || ctx.constantInput(1);
        if (t->getInt(0) != 0 && ratioKnown && ratio != 0.0) rejectTraining(ratio);
      }
      ctx.setOutput(0, ctx.inputType(0));
      if (ctx.numOutputs() > 1) {
        TensorType mask = ctx.inputType(0);
        mask.dtype = DType::Bool;
        ctx.setOutput(1, std::move(mask));
      }
    },
    .eval = [](EvalContext& ctx) {
      double ratio = kDefaultRatio;
      if (ctx.hasInput(1)) {
        if (ctx.input(1).numel() != 1) ctx.fail("ratio has {} elements, expected a scalar", ctx.input(1).numel());
        ratio = ctx.input(1).getDouble(0);
        checkRatio(ratio);
      }
      bool training = false;
      if (ctx.hasInput(2)) {
        if (ctx.input(2).numel() != 1)
          ctx.fail("training_mode has {} elements, expected a scalar", ctx.input(2).numel());
        training = ctx.input(2).getInt(0) != 0;
      }
      if (training && ratio != 0.0) rejectTraining(ratio);
      const Tensor& data = ctx.input(0);
      ctx.setOutput(0, data);
      if (ctx.numOutputs() > 1) {
        Tensor mask(DType::Bool, data.shape());
        for (bool& m : mask.data<bool>()) m = true;
        ctx.setOutput(1, std::move(mask));
      }
    },
    .grad = gradDropout,
};

}  // namespace dlc::ir
