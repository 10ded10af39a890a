// A small API to build IR graphs from C++ without ONNX. Types are inferred
// as nodes are added, so a mistake is reported at the line that makes it.
//
//   GraphBuilder b("mlp");
//   Value* x = b.input("x", TensorType(DType::F32, Shape({Dim::symbol("N"), 4})));
//   Value* w = b.constant("w", Tensor::fromVector<float>({4, 2}, weights));
//   Value* y = b.op(OpKind::Relu, {b.op(OpKind::MatMul, {x, w})});
//   b.output(y);
//   Graph g = b.finish();
//
// A builder can also append to an existing graph (gradient rules, the
// autodiff pass): GraphBuilder b(graph); nodes are added to `graph` directly.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/op_def.h"

namespace dlc::ir {

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string name = "main");
  // Appends to `target`, which must outlive the builder; finish() is not
  // used then (the caller owns and verifies the graph).
  explicit GraphBuilder(Graph& target);
  GraphBuilder(const GraphBuilder&) = delete;
  GraphBuilder& operator=(const GraphBuilder&) = delete;

  Value* input(const std::string& name, TensorType type);
  Value* constant(const std::string& name, Tensor data);
  // Adds a node with one result; returns it.
  Value* op(OpKind op, std::vector<Value*> inputs, Attributes attrs = {}, const std::string& name = "");
  // Adds a node with `numOutputs` results; returns them.
  std::vector<Value*> opN(OpKind op, std::vector<Value*> inputs, size_t numOutputs,
                          Attributes attrs = {}, const std::string& name = "");
  void output(Value* v);

  // Nodes added without a name are named from this prefix (unique in the graph).
  void setNamePrefix(std::string prefix) { namePrefix_ = std::move(prefix); }

  // Constants: a rank-0 tensor of `dtype` holding v; a 1-D i64 tensor.
  Value* scalar(double v, DType dtype);
  Value* scalarLike(const Value* x, double v) { return scalar(v, x->dtype()); }
  Value* ints(const std::vector<int64_t>& values);

  // Shorthands for common ops (one result each).
  Value* add(Value* a, Value* b) { return op(OpKind::Add, {a, b}); }
  Value* sub(Value* a, Value* b) { return op(OpKind::Sub, {a, b}); }
  Value* mul(Value* a, Value* b) { return op(OpKind::Mul, {a, b}); }
  Value* div(Value* a, Value* b) { return op(OpKind::Div, {a, b}); }
  Value* neg(Value* a) { return op(OpKind::Neg, {a}); }
  Value* unary(OpKind k, Value* a) { return op(k, {a}); }
  Value* where(Value* cond, Value* a, Value* b) { return op(OpKind::Where, {cond, a, b}); }
  Value* transpose(Value* a, const std::vector<int64_t>& perm);
  Value* reshape(Value* a, Value* shape) { return op(OpKind::Reshape, {a, shape}); }
  Value* reduceSum(Value* a, const std::vector<int64_t>& axes, bool keepdims);
  Value* reduceMean(Value* a, const std::vector<int64_t>& axes, bool keepdims);

  Graph& graph() { return *graph_; }
  // Verifies and returns the graph; the builder is empty afterwards.
  Graph finish();

 private:
  Graph owned_;
  Graph* graph_;
  bool appending_ = false;
  std::string namePrefix_;
  std::vector<Value*> outputs_;
};

}  // namespace dlc::ir
