// The per-op half of the ONNX writer: how each IR op is written as an ONNX
// node at the export opset. exportHandler() is an exhaustive switch over
// OpKind (no default: -Werror=switch makes a new op choose), so this is the
// one place that says which ops have an ONNX form. The IR form of an op is
// its newest ONNX form (the importer converts older opsets into it), so
// most ops are written as they are; the few whose IR form differs in
// representation (dtype names instead of TensorProto codes, optional
// outputs ONNX requires, another domain) have a handler defined next to
// their import handler in frontend/onnx/import_*.cpp.
#pragma once

#include <functional>
#include <string>

#include "frontend/onnx/node_importer.h"
#include "ir/graph.h"

namespace onnx {
class NodeProto;
class GraphProto;
}  // namespace onnx

namespace dlc::frontend::onnx {

// The default domain's version written into every exported model. Every IR
// op's operands, results and attributes match its ONNX definition at this
// version (scripts/check_onnx_export.py checks that against onnx's schemas
// and onnxruntime). It stays at 21 while the importer reads up to 24: what
// opsets 22-24 added either imports into opset-21 IR ops (Attention,
// RMSNormalization, ... as compositions; DequantizeLinear's output_dtype and
// QuantizeLinear's precision as Casts around the op) or adds types dlc lacks,
// and opset 21 is what more runtimes read.
inline constexpr int kExportOpset = 21;
// Ops of the training domain (Adagrad, Adam, Momentum) are written in it,
// at its only version.
inline constexpr const char* kTrainingDomain = "ai.onnx.preview.training";
inline constexpr int kTrainingDomainVersion = 1;

// Writes one IR node into a NodeProto.
class NodeExporter {
 public:
  using SubgraphWriter = std::function<void(const ir::Graph&, ::onnx::GraphProto&)>;
  using NameMaker = std::function<std::string(const std::string& hint)>;

  NodeExporter(const ir::Node& node, ::onnx::NodeProto& proto, SubgraphWriter writeSubgraph, NameMaker freshName);

  const ir::Node& node() const { return node_; }
  ::onnx::NodeProto& proto() { return proto_; }

  // The default form: op_type is the IR op name, in `domain` ("" for the
  // default domain); operands (absent ones as ""), results and attributes
  // as in the IR.
  void writeAsIr(const std::string& domain = "");
  // Replaces a string attribute holding an IR dtype name ("f32") with the
  // ONNX TensorProto.DataType code ONNX uses; absent stays absent.
  void dtypeNameToCode(const std::string& attrName);
  // Pads the node's outputs to `count` with fresh names (results that ONNX
  // requires but the IR node left out because nothing reads them).
  void padOutputs(int count);

 private:
  const ir::Node& node_;
  ::onnx::NodeProto& proto_;
  SubgraphWriter writeSubgraph_;
  NameMaker freshName_;
};

using ExportHandler = void (*)(NodeExporter&);

// How `op` is written, or nullptr for IR-only ops (Fused), which have no
// ONNX form.
ExportHandler exportHandler(ir::OpKind op);

// Handlers, each defined next to the import handler of the same op.
void exportCast(NodeExporter& ne);                   // import_elementwise.cpp
void exportEyeLike(NodeExporter& ne);                // import_tensor.cpp
void exportSplit(NodeExporter& ne);                  // import_tensor.cpp
void exportWithOutputDType(NodeExporter& ne);        // import_signal.cpp
void exportDynamicQuantizeLinear(NodeExporter& ne);  // import_nn.cpp
void exportTrainingOp(NodeExporter& ne);             // import_training.cpp

}  // namespace dlc::frontend::onnx
