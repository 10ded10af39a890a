// Optimizer update ops in the form of ONNX's ai.onnx.preview.training
// domain: inputs (R learning rate, T step count, then per-tensor groups),
// outputs the updated tensors. Each op updates n tensors at once:
//   Adagrad(R, T, X1..Xn, G1..Gn, H1..Hn)       -> X1'..Xn', H1'..Hn'
//   Momentum(R, T, X1..Xn, G1..Gn, V1..Vn)      -> X1'..Xn', V1'..Vn'
//   Adam(R, T, X1..Xn, G1..Gn, V1..Vn, H1..Hn)  -> X1'..Xn', V1'..Vn', H1'..Hn'
#include <cmath>

#include "ir/ops/op_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// Number of tensors updated, given `groups` inputs per tensor.
size_t tensorCount(size_t numInputs, size_t groups) {
  if (numInputs < 2 + groups || (numInputs - 2) % groups != 0)
    throwUserError("expected R, T and {} groups of n tensors, found {} inputs", groups, numInputs);
  return (numInputs - 2) / groups;
}

// Outputs mirror the inputs after R and T: output k has the type of input 2+k.
void inferUpdate(InferContext& ctx, size_t groups, size_t outGroups) {
  size_t n = tensorCount(ctx.numInputs(), groups);
  if (ctx.numOutputs() != n * outGroups)
    ctx.fail("expected {} outputs for {} tensors, found {}", n * outGroups, n, ctx.numOutputs());
  for (size_t k = 0; k < ctx.numOutputs(); ++k) {
    size_t group = k / n, index = k % n;
    // Output groups are X, then the state groups, which follow G in the inputs.
    size_t input = 2 + (group == 0 ? index : (group + 1) * n + index);
    ctx.setOutput(k, ctx.inputType(input));
  }
}

double scalar(const EvalContext& ctx, size_t i) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1) throwUserError("input {} must be a scalar, found shape [{}]", i, fmt::join(t.shape(), ","));
  return t.getDouble(0);
}

// Runs `update(x, g, states..., outs...)` elementwise for each tensor of the op.
template <typename Update>
void evalUpdate(EvalContext& ctx, size_t groups, Update update) {
  size_t n = tensorCount(ctx.numInputs(), groups);
  size_t numStates = groups - 2;
  for (size_t i = 0; i < n; ++i) {
    const Tensor& x = ctx.input(2 + i);
    const Tensor& g = ctx.input(2 + n + i);
    std::vector<const Tensor*> states;
    for (size_t s = 0; s < numStates; ++s) {
      states.push_back(&ctx.input(2 + (2 + s) * n + i));
      if (states.back()->shape() != x.shape()) ctx.fail("state tensor {} does not match its parameter's shape", i);
    }
    if (g.shape() != x.shape())
      ctx.fail("gradient [{}] does not match parameter [{}]", fmt::join(g.shape(), ","), fmt::join(x.shape(), ","));
    Tensor xOut(x.dtype(), x.shape());
    std::vector<Tensor> stateOut;
    for (const Tensor* s : states) stateOut.emplace_back(s->dtype(), s->shape());
    std::vector<double> stateValues(numStates);
    for (int64_t e = 0; e < x.numel(); ++e) {
      for (size_t s = 0; s < numStates; ++s) stateValues[s] = states[s]->getDouble(e);
      double xNew = update(x.getDouble(e), g.getDouble(e), stateValues);
      xOut.setDouble(e, xNew);
      for (size_t s = 0; s < numStates; ++s) stateOut[s].setDouble(e, stateValues[s]);
    }
    ctx.setOutput(i, std::move(xOut));
    for (size_t s = 0; s < numStates; ++s) ctx.setOutput((s + 1) * n + i, std::move(stateOut[s]));
  }
}

}  // namespace

const OpDef kAdagradDef{
    .name = "Adagrad", .minInputs = 5, .maxInputs = kVariadic, .minOutputs = 2, .maxOutputs = kVariadic,
    .attrs = {{"decay_factor", AttrKind::Float, 0.0}, {"epsilon", AttrKind::Float, 0.0},
              {"norm_coefficient", AttrKind::Float, 0.0}},
    .infer = [](InferContext& ctx) { inferUpdate(ctx, 3, 2); },
    .eval = [](EvalContext& ctx) {
      double r = scalar(ctx, 0), t = scalar(ctx, 1);
      double decay = ctx.node().attrFloat("decay_factor"), eps = ctx.node().attrFloat("epsilon");
      double lambda = ctx.node().attrFloat("norm_coefficient");
      double rate = r / (1 + t * decay);
      evalUpdate(ctx, 3, [&](double x, double g, std::vector<double>& s) {
        double gr = lambda * x + g;
        s[0] += gr * gr;  // accumulated squared gradient
        return x - rate * gr / (std::sqrt(s[0]) + eps);
      });
    },
};

const OpDef kMomentumDef{
    .name = "Momentum", .minInputs = 5, .maxInputs = kVariadic, .minOutputs = 2, .maxOutputs = kVariadic,
    .attrs = {{"alpha", AttrKind::Float, std::nullopt}, {"beta", AttrKind::Float, std::nullopt},
              {"mode", AttrKind::String, std::nullopt}, {"norm_coefficient", AttrKind::Float, std::nullopt}},
    .infer = [](InferContext& ctx) {
      const std::string& mode = ctx.node().attrString("mode");
      if (mode != "standard" && mode != "nesterov") ctx.fail("mode must be 'standard' or 'nesterov', found '{}'", mode);
      inferUpdate(ctx, 3, 2);
    },
    .eval = [](EvalContext& ctx) {
      double r = scalar(ctx, 0), t = scalar(ctx, 1);
      double alpha = ctx.node().attrFloat("alpha"), beta = ctx.node().attrFloat("beta");
      double lambda = ctx.node().attrFloat("norm_coefficient");
      bool nesterov = ctx.node().attrString("mode") == "nesterov";
      double betaAdjusted = t > 0 ? beta : 1.0;  // the first step takes the whole gradient
      evalUpdate(ctx, 3, [&](double x, double g, std::vector<double>& s) {
        double gr = lambda * x + g;
        s[0] = alpha * s[0] + betaAdjusted * gr;  // velocity
        return nesterov ? x - r * (gr + alpha * s[0]) : x - r * s[0];
      });
    },
};

const OpDef kAdamDef{
    .name = "Adam", .minInputs = 6, .maxInputs = kVariadic, .minOutputs = 3, .maxOutputs = kVariadic,
    .attrs = {{"alpha", AttrKind::Float, 0.9}, {"beta", AttrKind::Float, 0.999}, {"epsilon", AttrKind::Float, 0.0},
              {"norm_coefficient", AttrKind::Float, 0.0}, {"norm_coefficient_post", AttrKind::Float, 0.0}},
    .infer = [](InferContext& ctx) { inferUpdate(ctx, 4, 3); },
    .eval = [](EvalContext& ctx) {
      double r = scalar(ctx, 0), t = scalar(ctx, 1);
      double alpha = ctx.node().attrFloat("alpha"), beta = ctx.node().attrFloat("beta");
      double eps = ctx.node().attrFloat("epsilon"), lambda = ctx.node().attrFloat("norm_coefficient");
      double post = ctx.node().attrFloat("norm_coefficient_post");
      // Bias correction from the second step on (T counts completed steps).
      double rate = t > 0 ? r * std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t)) : r;
      evalUpdate(ctx, 4, [&](double x, double g, std::vector<double>& s) {
        double gr = lambda * x + g;
        s[0] = alpha * s[0] + (1 - alpha) * gr;       // first moment
        s[1] = beta * s[1] + (1 - beta) * gr * gr;    // second moment
        double xNew = x - rate * s[0] / (std::sqrt(s[1]) + eps);
        return (1 - post) * xNew;
      });
    },
};

}  // namespace dlc::ir
