#include "passes/optimizers.h"

#include "support/error.h"

namespace dlc::passes {

using ir::GraphBuilder;
using ir::OpKind;
using ir::Value;

OptimizerSpec OptimizerSpec::sgd(double lr, double momentum, bool nesterov, double weightDecay) {
  OptimizerSpec s;
  s.kind = Kind::Sgd;
  s.lr = lr;
  s.momentum = momentum;
  s.nesterov = nesterov;
  s.weightDecay = weightDecay;
  return s;
}

OptimizerSpec OptimizerSpec::adam(double lr, double beta1, double beta2, double eps, double weightDecay) {
  OptimizerSpec s;
  s.kind = Kind::Adam;
  s.lr = lr;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  s.weightDecay = weightDecay;
  return s;
}

OptimizerSpec OptimizerSpec::adamW(double lr, double beta1, double beta2, double eps, double weightDecay) {
  OptimizerSpec s = adam(lr, beta1, beta2, eps, weightDecay);
  s.kind = Kind::AdamW;
  return s;
}

void OptimizerSpec::validate() const {
  if (!(lr >= 0)) throwUserError("optimizer: invalid learning rate {}", lr);
  if (!(weightDecay >= 0)) throwUserError("optimizer: invalid weight decay {}", weightDecay);
  if (kind == Kind::Sgd) {
    if (!(momentum >= 0)) throwUserError("SGD: invalid momentum {}", momentum);
    if (nesterov && momentum <= 0) throwUserError("SGD: Nesterov momentum requires a momentum > 0");
  } else {
    if (!(beta1 >= 0 && beta1 < 1)) throwUserError("Adam: invalid beta1 {}", beta1);
    if (!(beta2 >= 0 && beta2 < 1)) throwUserError("Adam: invalid beta2 {}", beta2);
    if (!(eps >= 0)) throwUserError("Adam: invalid eps {}", eps);
  }
}

namespace {

Value* scaled(GraphBuilder& b, Value* x, double c) { return b.mul(x, b.scalarLike(x, c)); }

StateSlot stateInput(GraphBuilder& b, Value* param, const std::string& suffix) {
  return {b.input(b.graph().uniqueName(param->name() + "." + suffix), param->type()), nullptr};
}

ParamUpdate sgd(GraphBuilder& b, const OptimizerSpec& s, Value* p, Value* g) {
  ParamUpdate u;
  if (s.weightDecay != 0) g = b.add(g, scaled(b, p, s.weightDecay));
  if (s.momentum != 0) {
    // buf = momentum * buf + g (PyTorch's first step sets buf = g: the same
    // from a zero buffer, as dampening is 0).
    StateSlot buf = stateInput(b, p, "momentum");
    buf.next = b.add(scaled(b, buf.input, s.momentum), g);
    g = s.nesterov ? b.add(g, scaled(b, buf.next, s.momentum)) : buf.next;
    u.state.push_back(buf);
  }
  u.next = b.sub(p, scaled(b, g, s.lr));
  return u;
}

// 1 - beta^step in the parameter's dtype.
Value* biasCorrection(GraphBuilder& b, Value* p, Value* step, double beta) {
  ir::Attributes to;
  to.set("to", std::string(ir::dtypeName(p->dtype())));
  Value* t = b.op(OpKind::Cast, {step}, std::move(to));
  return b.sub(b.scalarLike(p, 1.0), b.op(OpKind::Pow, {b.scalarLike(p, beta), t}));
}

ParamUpdate adam(GraphBuilder& b, const OptimizerSpec& s, Value* p, Value* g, Value* step) {
  ParamUpdate u;
  StateSlot m = stateInput(b, p, "m"), v = stateInput(b, p, "v");
  bool decoupled = s.kind == OptimizerSpec::Kind::AdamW;
  if (s.weightDecay != 0) {
    if (decoupled) p = scaled(b, p, 1.0 - s.lr * s.weightDecay);  // AdamW: p *= 1 - lr * wd first
    else g = b.add(g, scaled(b, p, s.weightDecay));               // Adam: L2 added to the gradient
  }
  m.next = b.add(scaled(b, m.input, s.beta1), scaled(b, g, 1.0 - s.beta1));
  v.next = b.add(scaled(b, v.input, s.beta2), scaled(b, b.mul(g, g), 1.0 - s.beta2));
  // PyTorch: denom = sqrt(v) / sqrt(bc2) + eps; p -= (lr / bc1) * m / denom.
  Value* bc1 = biasCorrection(b, p, step, s.beta1);
  Value* bc2 = biasCorrection(b, p, step, s.beta2);
  Value* denom = b.add(b.div(b.unary(OpKind::Sqrt, v.next), b.unary(OpKind::Sqrt, bc2)), b.scalarLike(p, s.eps));
  Value* stepSize = b.div(b.scalarLike(p, s.lr), bc1);
  u.next = b.sub(p, b.mul(stepSize, b.div(m.next, denom)));
  u.state = {m, v};
  return u;
}

}  // namespace

ParamUpdate appendOptimizerUpdate(GraphBuilder& b, const OptimizerSpec& spec, Value* param, Value* grad,
                                  Value* step) {
  spec.validate();
  if (!ir::isFloat(param->dtype()))
    throwUserError("optimizer: parameter '{}' has dtype {}, expected a float type", param->name(),
                   ir::dtypeName(param->dtype()));
  if (spec.kind == OptimizerSpec::Kind::Sgd) return sgd(b, spec, param, grad);
  DLC_CHECK(step != nullptr, "Adam needs the step input");
  return adam(b, spec, param, grad, step);
}

}  // namespace dlc::passes
