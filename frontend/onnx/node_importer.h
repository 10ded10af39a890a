// The table that maps (ONNX op_type, opset range) to an import handler, and
// the context a handler works in. Most ONNX ops import 1:1 into the IR op of
// the same name (the IR uses the newest ONNX form of each op); handlers exist
// for older opsets (attributes that later became inputs) and for ops that
// lower to several IR ops.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "support/error.h"

namespace onnx {
class NodeProto;
}

namespace dlc::frontend::onnx {

class NodeImporter {
 public:
  NodeImporter(ir::Graph& graph, const ::onnx::NodeProto& node, int opset,
               std::vector<ir::Value*> inputs, ir::Attributes attrs);

  const ::onnx::NodeProto& proto() const { return node_; }
  int opset() const { return opset_; }
  const std::string& opType() const;
  // A name for error messages and for the IR node: the ONNX node name, or
  // its first output's name if the node is unnamed.
  const std::string& nodeName() const { return name_; }

  size_t numInputs() const { return inputs_.size(); }
  ir::Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  // Input i, failing (UserError) when the node omits it (fewer inputs, or
  // "" in its place): for handlers that read an input the op requires.
  ir::Value* requiredInput(size_t i, std::string_view name) const;
  const std::vector<ir::Value*>& inputs() const { return inputs_; }
  size_t numOutputs() const;
  // The ONNX node's output names ("" for an omitted optional output).
  std::vector<std::string> outputNames() const;
  // The ONNX attributes, converted; handlers may edit them before emitting.
  ir::Attributes& attrs() { return attrs_; }
  // The attribute `name` as a T, or nullptr if absent; fails (UserError) if
  // the model gives it another kind.
  template <typename T>
  const T* attrAs(const std::string& name) const {
    const ir::AttrValue* v = attrs_.find(name);
    if (!v) return nullptr;
    const T* typed = std::get_if<T>(v);
    if (!typed)
      fail("attribute '{}' must be {}, found {}", name,
           ir::attrKindName(ir::attrKindOf(ir::AttrValue(std::in_place_type<T>))),
           ir::attrKindName(ir::attrKindOf(*v)));
    return typed;
  }

  // Fails (UserError) on an ONNX attribute not in `known`: for handlers
  // that lower the op to other IR ops, reading only the attributes they know.
  void checkAttributes(std::initializer_list<std::string_view> known) const;

  // Adds a constant to the graph.
  ir::Value* constant(ir::Tensor t, const std::string& hint = "");
  ir::Value* constantInts(const std::vector<int64_t>& values);  // 1-D i64
  // Emits an IR node, infers its types and returns it.
  ir::Node* emit(ir::OpKind op, std::vector<ir::Value*> inputs, ir::Attributes attrs = {},
                 size_t numOutputs = 1, const std::vector<std::string>& outputNames = {});
  // Shorthand: emit with one result.
  ir::Value* emit1(ir::OpKind op, std::vector<ir::Value*> inputs, ir::Attributes attrs = {});
  // Binds the ONNX node's outputs (in order) to IR values.
  void setOutputs(std::vector<ir::Value*> outputs);
  // Emits `op` with the node's own inputs and (edited) attributes and binds
  // all outputs: the default 1:1 import.
  void emitSameAsOnnx(ir::OpKind op);

  const std::vector<ir::Value*>& boundOutputs() const { return outputs_; }

  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw UserError(fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  [[noreturn]] void unsupported(fmt::format_string<Args...> f, Args&&... args) const {
    throw UnsupportedError(fmt::format(f, std::forward<Args>(args)...));
  }

 private:
  ir::Graph& graph_;
  const ::onnx::NodeProto& node_;
  int opset_;
  std::string name_;
  std::vector<ir::Value*> inputs_;
  ir::Attributes attrs_;
  std::vector<ir::Value*> outputs_;
};

using ImportHandler = std::function<void(NodeImporter&)>;

struct ImporterEntry {
  std::string domain;  // "" for the default ONNX domain
  std::string opType;
  int sinceOpset;  // first opset this handler covers
  int untilOpset;  // last opset this handler covers (inclusive)
  ImportHandler handler;
};

class ImporterTable {
 public:
  ImporterTable();  // fills the table from the per-family add*Importers below
  void add(std::string opType, int sinceOpset, int untilOpset, ImportHandler h);
  // An op of another domain (e.g. "ai.onnx.preview.training"), with that
  // domain's opset versions.
  void addInDomain(std::string domain, std::string opType, int sinceOpset, int untilOpset, ImportHandler h);
  // The handler for op_type at the model's opset, or nullptr if the op is
  // neither in the table nor (in the default domain) an IR op of the same name.
  const ImportHandler* find(const std::string& opType, int opset) const { return find("", opType, opset); }
  const ImportHandler* find(const std::string& domain, const std::string& opType, int opset) const;
  // Every handler registered with add/addInDomain (not the 1:1 ones).
  const std::vector<ImporterEntry>& entries() const { return entries_; }

 private:
  std::vector<ImporterEntry> entries_;
  ImportHandler sameName_;
};

// Per-family registration functions, one per frontend/onnx/import_*.cpp.
void addElementwiseImporters(ImporterTable& table);
void addReductionImporters(ImporterTable& table);
void addTensorImporters(ImporterTable& table);
void addNnImporters(ImporterTable& table);
void addIndexImporters(ImporterTable& table);
void addControlImporters(ImporterTable& table);
void addSignalImporters(ImporterTable& table);
void addTrainingImporters(ImporterTable& table);
void addAttentionImporters(ImporterTable& table);

// The newest default-domain opset the importer reads (opsets 25-28 change
// ops in ways not audited yet).
inline constexpr int kMaxOpset = 24;

}  // namespace dlc::frontend::onnx
