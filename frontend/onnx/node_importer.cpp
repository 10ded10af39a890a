#include "frontend/onnx/node_importer.h"

#include <onnx/onnx_pb.h>

#include <algorithm>

#include "ir/infer.h"
#include "ir/op_def.h"

namespace dlc::frontend::onnx {

using namespace ir;

NodeImporter::NodeImporter(Graph& graph, const ::onnx::NodeProto& node, int opset,
                           std::vector<Value*> inputs, Attributes attrs)
    : graph_(graph), node_(node), opset_(opset), inputs_(std::move(inputs)), attrs_(std::move(attrs)) {
  name_ = node.name();
  if (name_.empty() && node.output_size() > 0) name_ = node.output(0);
}

const std::string& NodeImporter::opType() const { return node_.op_type(); }
size_t NodeImporter::numOutputs() const { return size_t(node_.output_size()); }
std::vector<std::string> NodeImporter::outputNames() const { return {node_.output().begin(), node_.output().end()}; }

void NodeImporter::checkAttributes(std::initializer_list<std::string_view> known) const {
  for (const auto& a : node_.attribute())
    if (std::find(known.begin(), known.end(), a.name()) == known.end())
      fail("{}-{} has no attribute '{}'", opType(), opset_, a.name());
}

Value* NodeImporter::constant(Tensor t, const std::string& hint) {
  return graph_.addConstant(graph_.uniqueName(name_ + "/" + (hint.empty() ? "const" : hint)), std::move(t));
}

Value* NodeImporter::constantInts(const std::vector<int64_t>& values) {
  return constant(Tensor::fromVector<int64_t>({int64_t(values.size())}, values));
}

Node* NodeImporter::emit(OpKind op, std::vector<Value*> inputs, Attributes attrs, size_t numOutputs,
                         const std::vector<std::string>& outputNames) {
  std::vector<std::string> names;
  for (size_t i = 0; i < numOutputs; ++i) {
    std::string want = i < outputNames.size() ? outputNames[i] : "";
    std::string name = graph_.uniqueName(want.empty() ? name_ + "/" + std::string(opName(op)) : want);
    // uniqueName only knows the graph's values, not the names picked here.
    while (std::find(names.begin(), names.end(), name) != names.end()) name = graph_.uniqueName(name + "_");
    names.push_back(std::move(name));
  }
  Node* n = graph_.addNode(op, std::move(inputs), numOutputs, std::move(attrs), name_, names);
  n->addOrigin(name_);
  inferNode(*n);
  return n;
}

Value* NodeImporter::emit1(OpKind op, std::vector<Value*> inputs, Attributes attrs) {
  return emit(op, std::move(inputs), std::move(attrs), 1)->output(0);
}

void NodeImporter::setOutputs(std::vector<Value*> outputs) { outputs_ = std::move(outputs); }

ir::Value* NodeImporter::requiredInput(size_t i, std::string_view name) const {
  if (ir::Value* v = input(i)) return v;
  const size_t n = inputs_.size();
  fail("{} needs input {} ({}); the node gives {}", opType(), i, name,
       i < n ? "\"\" in its place" : fmt::format("{} input{}", n, n == 1 ? "" : "s"));
}

void NodeImporter::emitSameAsOnnx(OpKind op) {
  Node* n = emit(op, inputs_, attrs_, numOutputs(), outputNames());
  setOutputs(n->outputs());
}

ImporterTable::ImporterTable() {
  sameName_ = [](NodeImporter& ni) { ni.emitSameAsOnnx(*findOp(ni.opType())); };
  addElementwiseImporters(*this);
  addReductionImporters(*this);
  addTensorImporters(*this);
  addNnImporters(*this);
  addIndexImporters(*this);
  addControlImporters(*this);
  addSignalImporters(*this);
  addTrainingImporters(*this);
  addAttentionImporters(*this);
}

void ImporterTable::add(std::string opType, int sinceOpset, int untilOpset, ImportHandler h) {
  entries_.push_back({"", std::move(opType), sinceOpset, untilOpset, std::move(h)});
}

void ImporterTable::addInDomain(std::string domain, std::string opType, int sinceOpset, int untilOpset,
                                ImportHandler h) {
  entries_.push_back({std::move(domain), std::move(opType), sinceOpset, untilOpset, std::move(h)});
}

const ImportHandler* ImporterTable::find(const std::string& domain, const std::string& opType, int opset) const {
  bool listed = false;
  for (const auto& e : entries_) {
    if (e.opType != opType || e.domain != domain) continue;
    listed = true;
    if (opset >= e.sinceOpset && opset <= e.untilOpset) return &e.handler;
  }
  // Ops listed in the table are only supported in the listed opset ranges;
  // others import 1:1 when the IR has an op of the same name.
  // (IR-only ops such as Fused are no ONNX ops, whatever a model calls its nodes.)
  if (!listed && domain.empty()) {
    std::optional<OpKind> op = findOp(opType);
    if (op && !opDef(*op).has(kInternal)) return &sameName_;
  }
  return nullptr;
}

}  // namespace dlc::frontend::onnx
