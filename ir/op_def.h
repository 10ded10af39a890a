// The definition of one IR op: its operands, attributes, shape/type
// inference, reference kernel and gradient rule. Each op's
// OpDef lives in one file under ir/ops/; ir/ops.def indexes them.
#pragma once

#include <climits>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "support/error.h"

namespace dlc::ir {

enum OpTrait : uint32_t {
  kNoTraits = 0,
  kElementwise = 1u << 0,     // output[i] depends on input[i] only (with broadcasting)
  kCommutative = 1u << 1,     // binary op with f(a,b) == f(b,a)
  kDifferentiable = 1u << 2,  // has a gradient rule or a decomposition
  kReduction = 1u << 3,       // reduces over axes
  kShapeOp = 1u << 4,         // moves or reinterprets data without arithmetic
  kNondeterministic = 1u << 5,
  kInternal = 1u << 6,        // formed by passes only: never imported from ONNX or exported
};

inline constexpr int kVariadic = INT_MAX;

struct AttrSpec {
  std::string name;
  AttrKind kind;
  std::optional<AttrValue> defaultValue;  // nullopt: required unless `optional`
  bool optional = false;                  // may be absent with no default
};

// Shape and type inference for one node. Reads input types (and the values of
// constant inputs), writes output types. Throws UserError (via fail) with a
// message that says what was expected and found; the caller adds the node.
class InferContext {
 public:
  explicit InferContext(Node& node) : node_(node) {}
  const Node& node() const { return node_; }
  size_t numInputs() const { return node_.inputs().size(); }
  bool hasInput(size_t i) const { return node_.hasInput(i); }
  const TensorType& inputType(size_t i) const;
  DType inputDType(size_t i) const { return inputType(i).dtype; }
  // The input's shape, or nullopt if unranked.
  const std::optional<Shape>& inputShape(size_t i) const { return inputType(i).shape; }
  // The value of a constant input, or nullptr if it is not a constant.
  const Tensor* constantInput(size_t i) const;
  size_t numOutputs() const { return node_.outputs().size(); }
  void setOutput(size_t i, TensorType t) { node_.output(i)->setType(std::move(t)); }

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw UserError(fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  Node& node_;
};

// Runs a subgraph (for control-flow ops) with the given inputs.
using SubgraphRunner =
    std::function<std::vector<Tensor>(const Graph&, const std::vector<Tensor>&)>;

// Reference-kernel context: input tensors in, output tensors out. The kernel
// decides output shapes from the actual inputs (shapes may be data-dependent).
class EvalContext {
 public:
  EvalContext(const Node& node, std::span<const Tensor* const> inputs, std::vector<Tensor>& outputs,
              const SubgraphRunner* runSubgraph = nullptr)
      : node_(node), inputs_(inputs), outputs_(outputs), runSubgraph_(runSubgraph) {}
  const Node& node() const { return node_; }
  size_t numInputs() const { return inputs_.size(); }
  bool hasInput(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const Tensor& input(size_t i) const;
  size_t numOutputs() const { return outputs_.size(); }
  void setOutput(size_t i, Tensor t) { outputs_.at(i) = std::move(t); }
  const SubgraphRunner& subgraphRunner() const;

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw UserError(fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  const Node& node_;
  std::span<const Tensor* const> inputs_;
  std::vector<Tensor>& outputs_;
  const SubgraphRunner* runSubgraph_;
};

class GraphBuilder;

// Gradient-rule context (reverse mode, used by passes/autodiff): the forward
// node, the gradients flowing into its results, and a builder that appends
// the rule's IR nodes to the training graph. A rule returns one gradient per
// operand (nullptr: none, e.g. integer operands, shapes, axes), each of the
// operand's type and shape, written with ordinary IR ops.
class GradContext {
 public:
  GradContext(const Node& node, GraphBuilder& builder, std::vector<Value*> outputGrads,
              std::vector<bool> needsGrad)
      : node_(node), builder_(builder), outputGrads_(std::move(outputGrads)), needsGrad_(std::move(needsGrad)) {}
  const Node& node() const { return node_; }
  GraphBuilder& builder() { return builder_; }
  size_t numInputs() const { return node_.inputs().size(); }
  // The forward operand / result (nullptr for an absent optional operand).
  Value* input(size_t i) const { return node_.input(i); }
  Value* output(size_t i) const { return node_.output(i); }
  // The gradient of result i, or nullptr when nothing downstream needs it.
  Value* outputGrad(size_t i) const { return i < outputGrads_.size() ? outputGrads_[i] : nullptr; }
  // Whether the gradient of operand i is wanted (a rule may skip the others).
  bool needsGrad(size_t i) const { return i < needsGrad_.size() && needsGrad_[i]; }

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw UserError(fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  const Node& node_;
  GraphBuilder& builder_;
  std::vector<Value*> outputGrads_;
  std::vector<bool> needsGrad_;
};

using InferFn = void (*)(InferContext&);
using EvalFn = void (*)(EvalContext&);
using GradFn = std::vector<Value*> (*)(GradContext&);
// Rewrites `node` as simpler IR ops appended with `builder` (which appends
// to the node's graph); returns one value per result of the node, of the
// result's type. Autodiff expands such ops on the path from a parameter to
// the loss and differentiates the expansion with the rules of its ops.
using DecomposeFn = std::vector<Value*> (*)(const Node& node, GraphBuilder& builder);

struct OpDef {
  std::string name;  // IR name; equals the ONNX op_type where there is one
  int minInputs = 0;
  int maxInputs = 0;  // kVariadic for no limit
  int minOutputs = 1;
  int maxOutputs = 1;
  uint32_t traits = kNoTraits;
  std::vector<AttrSpec> attrs;
  InferFn infer = nullptr;
  EvalFn eval = nullptr;
  GradFn grad = nullptr;  // with decompose: set exactly when traits has kDifferentiable
  DecomposeFn decompose = nullptr;  // for ops differentiated through their expansion (RNN/GRU/LSTM)

  const AttrSpec* findAttr(const std::string& attrName) const;
  bool has(OpTrait t) const { return (traits & t) != 0; }
};

// Every op's definition, declared here (so that each ir/ops/ file defines it
// with external linkage) and collected into the table by ir/op_table.cpp.
#define DLC_OP(Name) extern const OpDef k##Name##Def;
#include "ir/ops.def"
#undef DLC_OP

}  // namespace dlc::ir
