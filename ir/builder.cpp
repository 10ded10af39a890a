#include "ir/builder.h"

#include "ir/infer.h"
#include "ir/verifier.h"

namespace dlc::ir {

GraphBuilder::GraphBuilder(std::string name) : graph_(&owned_) { graph_->setName(std::move(name)); }

GraphBuilder::GraphBuilder(Graph& target) : graph_(&target), appending_(true) {}

Value* GraphBuilder::input(const std::string& name, TensorType type) {
  return graph_->addInput(name, std::move(type));
}

Value* GraphBuilder::constant(const std::string& name, Tensor data) {
  return graph_->addConstant(graph_->uniqueName(name), std::move(data));
}

std::vector<Value*> GraphBuilder::opN(OpKind op, std::vector<Value*> inputs, size_t numOutputs,
                                      Attributes attrs, const std::string& name) {
  std::string nodeName = name.empty() && !namePrefix_.empty() ? graph_->uniqueName(namePrefix_) : name;
  Node* n = graph_->addNode(op, std::move(inputs), numOutputs, std::move(attrs), nodeName);
  inferNode(*n);
  return n->outputs();
}

Value* GraphBuilder::op(OpKind op, std::vector<Value*> inputs, Attributes attrs, const std::string& name) {
  return opN(op, std::move(inputs), 1, std::move(attrs), name)[0];
}

void GraphBuilder::output(Value* v) { outputs_.push_back(v); }

Graph GraphBuilder::finish() {
  DLC_CHECK(!appending_, "finish() on a builder that appends to an existing graph");
  graph_->setOutputs(outputs_);
  verifyOrThrow(*graph_);
  outputs_.clear();
  return std::move(owned_);
}

Value* GraphBuilder::scalar(double v, DType dtype) {
  Tensor t(dtype, {});
  t.setDouble(0, v);
  return constant("c", std::move(t));
}

Value* GraphBuilder::ints(const std::vector<int64_t>& values) {
  return constant("c", Tensor::fromVector<int64_t>({int64_t(values.size())}, values));
}

Value* GraphBuilder::transpose(Value* a, const std::vector<int64_t>& perm) {
  Attributes at;
  at.set("perm", perm);
  return op(OpKind::Transpose, {a}, std::move(at));
}

Value* GraphBuilder::reduceSum(Value* a, const std::vector<int64_t>& axes, bool keepdims) {
  Attributes at;
  at.set("keepdims", int64_t(keepdims));
  return op(OpKind::ReduceSum, {a, ints(axes)}, std::move(at));
}

Value* GraphBuilder::reduceMean(Value* a, const std::vector<int64_t>& axes, bool keepdims) {
  Attributes at;
  at.set("keepdims", int64_t(keepdims));
  return op(OpKind::ReduceMean, {a, ints(axes)}, std::move(at));
}

}  // namespace dlc::ir
