// The graph IR: a Graph owns Values and Nodes. Nodes are kept in a valid
// execution (topological) order; every Value has exactly one definition: a
// graph input, a constant, or a node result.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/attributes.h"
#include "ir/op_kind.h"
#include "ir/shape.h"
#include "ir/tensor.h"

namespace dlc::ir {

class Node;

class Value {
 public:
  const std::string& name() const { return name_; }
  const TensorType& type() const { return type_; }
  void setType(TensorType t) { type_ = std::move(t); }
  DType dtype() const { return type_.dtype; }

  Node* producer() const { return producer_; }
  size_t producerIndex() const { return producerIndex_; }
  bool isGraphInput() const { return isGraphInput_; }
  bool isConstant() const { return constant_.has_value(); }
  const Tensor& constant() const { return *constant_; }

 private:
  friend class Graph;
  std::string name_;
  TensorType type_;
  Node* producer_ = nullptr;
  size_t producerIndex_ = 0;
  bool isGraphInput_ = false;
  std::optional<Tensor> constant_;
};

class Node {
 public:
  OpKind op() const { return op_; }
  const OpDef& def() const { return opDef(op_); }
  std::string_view opName() const { return ir::opName(op_); }
  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  // Absent optional operands are nullptr.
  const std::vector<Value*>& inputs() const { return inputs_; }
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  bool hasInput(size_t i) const { return input(i) != nullptr; }
  void setInput(size_t i, Value* v);
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* output(size_t i) const { return outputs_[i]; }

  Attributes& attrs() { return attrs_; }
  const Attributes& attrs() const { return attrs_; }
  // Typed attribute access; an attribute that is not set yields the op's
  // default. Throws UserError if it is required and missing, or of the wrong kind.
  int64_t attrInt(const std::string& name) const;
  double attrFloat(const std::string& name) const;
  const std::string& attrString(const std::string& name) const;
  const std::vector<int64_t>& attrInts(const std::string& name) const;
  const std::vector<double>& attrFloats(const std::string& name) const;
  const std::vector<std::string>& attrStrings(const std::string& name) const;
  const Tensor& attrTensor(const std::string& name) const;
  const Graph& attrGraph(const std::string& name) const;
  bool hasAttr(const std::string& name) const { return attrs_.has(name); }

  // The model nodes (e.g. ONNX node names) this node came from.
  const std::vector<std::string>& origins() const { return origins_; }
  void addOrigin(std::string o) { origins_.push_back(std::move(o)); }

  // "node 'conv1' (Conv)": for error messages.
  std::string describe() const;

 private:
  friend class Graph;
  const AttrValue& attrOrDefault(const std::string& name, AttrKind kind) const;

  OpKind op_{};
  std::string name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  Attributes attrs_;
  std::vector<std::string> origins_;
};

class Graph {
 public:
  // Values of enclosing graphs that nodes of this graph (or of graphs nested
  // in it) read: a subgraph (If/Loop/Scan body) may use outer values directly.
  std::vector<const Value*> outerUses() const;

  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  Value* addInput(const std::string& name, TensorType type);
  Value* addConstant(const std::string& name, Tensor data);
  // Appends a node; output types start undefined until inference sets them
  // (see inferTypes in ir/infer.h). Output names default to fresh ones.
  Node* addNode(OpKind op, std::vector<Value*> inputs, size_t numOutputs,
                Attributes attrs = {}, const std::string& name = "",
                const std::vector<std::string>& outputNames = {});
  void setOutputs(std::vector<Value*> outputs) { outputs_ = std::move(outputs); }

  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  // Nodes in execution order.
  std::vector<Node*> nodes() const;
  size_t numNodes() const { return nodes_.size(); }
  std::vector<Value*> constants() const;
  Value* findValue(const std::string& name) const;
  // Renames a value; the new name must be unused.
  void renameValue(Value* v, const std::string& newName);
  // Makes every reader of `old` (node operands here and in subgraphs, and
  // the graph outputs) read `replacement` instead. When `old` is a graph
  // output, `replacement` takes over its name so that the graph's interface
  // keeps its names (unless `replacement` is itself an input or output).
  void replaceAllUsesWith(Value* old, Value* replacement);

  // Removes nodes whose results are unused and are not graph outputs.
  size_t removeDeadNodes();
  // Puts the nodes in the given order, which must be a permutation of
  // nodes() (passes that add a node reading earlier results and read by
  // earlier nodes restore a topological order with this).
  void reorderNodes(const std::vector<Node*>& order);
  // A name not yet used in this graph, derived from `base`.
  std::string uniqueName(const std::string& base);

 private:
  Value* newValue(const std::string& name);

  std::string name_ = "main";
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::unordered_map<std::string, Value*> byName_;
  size_t nameCounter_ = 0;
};

}  // namespace dlc::ir
