#include "ir/op_def.h"

namespace dlc::ir {

const TensorType& InferContext::inputType(size_t i) const {
  DLC_CHECK(hasInput(i), "{}: input {} is absent", node_.describe(), i);
  return node_.input(i)->type();
}

const Tensor* InferContext::constantInput(size_t i) const {
  if (!hasInput(i)) return nullptr;
  const Value* v = node_.input(i);
  return v->isConstant() ? &v->constant() : nullptr;
}

const Tensor& EvalContext::input(size_t i) const {
  if (!hasInput(i)) throwUserError("{}: input {} is required but absent", node_.describe(), i);
  return *inputs_[i];
}

const SubgraphRunner& EvalContext::subgraphRunner() const {
  DLC_CHECK(runSubgraph_ != nullptr, "{} needs a subgraph runner", node_.describe());
  return *runSubgraph_;
}

}  // namespace dlc::ir
