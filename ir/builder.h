// A small API to build IR graphs from C++ without ONNX. Types are inferred
// as nodes are added, so a mistake is reported at the line that makes it.
//
//   GraphBuilder b("mlp");
//   Value* x = b.input("x", TensorType(DType::F32, Shape({Dim::symbol("N"), 4})));
//   Value* w = b.constant("w", Tensor::fromVector<float>({4, 2}, weights));
//   Value* y = b.op(OpKind::Relu, {b.op(OpKind::MatMul, {x, w})});
//   b.output(y);
//   Graph g = b.finish();
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace dlc::ir {

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string name = "main");

  Value* input(const std::string& name, TensorType type);
  Value* constant(const std::string& name, Tensor data);
  // Adds a node with one result; returns it.
  Value* op(OpKind op, std::vector<Value*> inputs, Attributes attrs = {}, const std::string& name = "");
  // Adds a node with `numOutputs` results; returns them.
  std::vector<Value*> opN(OpKind op, std::vector<Value*> inputs, size_t numOutputs,
                          Attributes attrs = {}, const std::string& name = "");
  void output(Value* v);

  Graph& graph() { return graph_; }
  // Verifies and returns the graph; the builder is empty afterwards.
  Graph finish();

 private:
  Graph graph_;
  std::vector<Value*> outputs_;
};

}  // namespace dlc::ir
