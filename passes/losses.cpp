#include "passes/losses.h"

#include "support/error.h"

namespace dlc::passes {

using ir::GraphBuilder;
using ir::OpKind;
using ir::Value;

namespace {

void requireSameType(const char* loss, const Value* a, const Value* b) {
  if (a->type() != b->type())
    throwUserError("{}: '{}' is {} but '{}' is {}; expected the same type", loss, a->name(), a->type().str(),
                   b->name(), b->type().str());
  if (!ir::isFloat(a->dtype())) throwUserError("{}: '{}' must be a float tensor", loss, a->name());
}

}  // namespace

Value* reduceLoss(GraphBuilder& b, Value* x, LossReduction reduction) {
  ir::Attributes a;
  a.set("keepdims", int64_t(0));
  switch (reduction) {
    case LossReduction::Mean: return b.op(OpKind::ReduceMean, {x}, a);
    case LossReduction::Sum: return b.op(OpKind::ReduceSum, {x}, a);
    case LossReduction::None: return x;
  }
  DLC_CHECK(false, "unknown loss reduction");
}

Value* softmaxCrossEntropy(GraphBuilder& b, Value* logits, Value* labels, LossReduction reduction) {
  const auto& ls = logits->type().shape;
  if (!ir::isFloat(logits->dtype()) || !ls || ls->rank() < 2 || !(*ls)[1].isStatic())
    throwUserError("softmax cross-entropy: logits '{}' must be a float tensor [N, C, ...] with a known C, found {}",
                   logits->name(), logits->type().str());
  if (!ir::isInteger(labels->dtype()))
    throwUserError("softmax cross-entropy: labels '{}' must hold class indices (an integer type), found {}",
                   labels->name(), ir::dtypeName(labels->dtype()));
  int64_t classes = (*ls)[1].value();
  ir::Attributes axis1;
  axis1.set("axis", int64_t(1));
  Value* logp = b.op(OpKind::LogSoftmax, {logits}, axis1);
  ir::Tensor offOn(logits->dtype(), {2});
  offOn.setDouble(1, 1.0);
  Value* values = b.constant("onehot_values", offOn);
  Value* onehot = b.op(OpKind::OneHot, {labels, b.ints({classes}), values}, axis1);
  Value* picked = b.reduceSum(b.mul(logp, onehot), {1}, /*keepdims=*/false);
  return reduceLoss(b, b.neg(picked), reduction);
}

Value* meanSquaredError(GraphBuilder& b, Value* prediction, Value* target, LossReduction reduction) {
  requireSameType("mean squared error", prediction, target);
  Value* d = b.sub(prediction, target);
  return reduceLoss(b, b.mul(d, d), reduction);
}

Value* binaryCrossEntropyWithLogits(GraphBuilder& b, Value* logits, Value* target, LossReduction reduction) {
  requireSameType("binary cross-entropy", logits, target);
  Value* x = logits;
  Value* softplusNegAbs = b.unary(OpKind::Softplus, b.neg(b.unary(OpKind::Abs, x)));
  Value* loss = b.add(b.sub(b.unary(OpKind::Relu, x), b.mul(x, target)), softplusNegAbs);
  return reduceLoss(b, loss, reduction);
}

}  // namespace dlc::passes
