#include "ir/builder.h"

#include "ir/infer.h"
#include "ir/verifier.h"

namespace dlc::ir {

GraphBuilder::GraphBuilder(std::string name) { graph_.setName(std::move(name)); }

Value* GraphBuilder::input(const std::string& name, TensorType type) {
  return graph_.addInput(name, std::move(type));
}

Value* GraphBuilder::constant(const std::string& name, Tensor data) {
  return graph_.addConstant(graph_.uniqueName(name), std::move(data));
}

std::vector<Value*> GraphBuilder::opN(OpKind op, std::vector<Value*> inputs, size_t numOutputs,
                                      Attributes attrs, const std::string& name) {
  Node* n = graph_.addNode(op, std::move(inputs), numOutputs, std::move(attrs), name);
  inferNode(*n);
  return n->outputs();
}

Value* GraphBuilder::op(OpKind op, std::vector<Value*> inputs, Attributes attrs, const std::string& name) {
  return opN(op, std::move(inputs), 1, std::move(attrs), name)[0];
}

void GraphBuilder::output(Value* v) { outputs_.push_back(v); }

Graph GraphBuilder::finish() {
  graph_.setOutputs(outputs_);
  verifyOrThrow(graph_);
  outputs_.clear();
  return std::move(graph_);
}

}  // namespace dlc::ir
