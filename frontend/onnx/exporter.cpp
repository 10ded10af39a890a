// The ONNX writer: one NodeProto per IR node in graph order, written by the
// op's handler from the export table; constants read by the model as
// initializers of the graph that owns them; typed graph inputs and outputs.
#include "frontend/onnx/exporter.h"

#include <onnx/onnx_pb.h>

#include <fmt/ranges.h>

#include <climits>
#include <fstream>
#include <map>
#include <set>

#include "frontend/onnx/tensor_proto.h"
#include "support/error.h"

namespace dlc::frontend::onnx {
namespace {

void setType(::onnx::ValueInfoProto& vi, const ir::Value& v) {
  vi.set_name(v.name());
  auto* tt = vi.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtypeToOnnx(v.dtype()));
  if (!v.type().shape) return;
  auto* shape = tt->mutable_shape();
  for (const ir::Dim& d : v.type().shape->dims()) {
    auto* dim = shape->add_dim();
    if (d.isStatic()) dim->set_dim_value(d.value());
    else if (d.isSymbolic()) dim->set_dim_param(d.symbolName());
  }
}

// Writes one model: first walks every graph (the main one and, nested, the
// subgraphs) to find the values read, the names taken and any node with no
// ONNX form; then writes the graphs.
class ModelWriter {
 public:
  explicit ModelWriter(const ir::Graph& main) {
    scan(main);
    if (!noForm_.empty())
      throwUserError("ONNX export: no ONNX form for {} (IR-only ops: export the graph before fusion)",
                     fmt::format("{}", fmt::join(noForm_, ", ")));
  }

  void writeGraph(const ir::Graph& graph, ::onnx::GraphProto& g) {
    g.set_name(graph.name());
    for (const ir::Value* c : graph.constants()) {
      if (!read_.count(c)) continue;
      ::onnx::TensorProto* t = g.add_initializer();
      tensorToProto(c->constant(), *t);
      t->set_name(c->name());
    }
    for (const ir::Value* in : graph.inputs()) setType(*g.add_input(), *in);
    for (const ir::Node* n : graph.nodes()) {
      NodeExporter ne(
          *n, *g.add_node(), [this](const ir::Graph& sub, ::onnx::GraphProto& sg) { writeGraph(sub, sg); },
          [this](const std::string& hint) { return freshName(hint); });
      ExportHandler handler = exportHandler(n->op());
      DLC_CHECK(handler != nullptr);  // scan() refused the graph otherwise
      handler(ne);
      uniqueNodeName(ne.proto());
      if (!ne.proto().domain().empty()) domainsUsed_.insert(ne.proto().domain());
    }
    for (const ir::Value* out : graph.outputs()) setType(*g.add_output(), *out);
  }

  const std::set<std::string>& domainsUsed() const { return domainsUsed_; }

 private:
  void scan(const ir::Graph& graph) {
    for (const ir::Value* v : graph.inputs()) names_.insert(v->name());
    for (const ir::Value* v : graph.constants()) names_.insert(v->name());
    for (const ir::Value* v : graph.outputs()) read_.insert(v);
    for (const ir::Node* n : graph.nodes()) {
      if (!exportHandler(n->op())) noForm_.push_back(n->describe());
      for (const ir::Value* in : n->inputs())
        if (in) read_.insert(in);
      for (const ir::Value* out : n->outputs()) names_.insert(out->name());
      for (const auto& [name, v] : n->attrs().all())
        if (const auto* sub = std::get_if<std::shared_ptr<ir::Graph>>(&v)) scan(**sub);
    }
  }

  std::string freshName(const std::string& hint) {
    std::string name = hint;
    for (int i = 1; names_.count(name); ++i) name = fmt::format("{}_{}", hint, i);
    names_.insert(name);
    return name;
  }

  // An ONNX op lowered to several IR ops gives them all its name; ONNX
  // runtimes (onnxruntime) refuse a graph with two nodes of one name.
  void uniqueNodeName(::onnx::NodeProto& node) {
    if (node.name().empty()) return;
    std::string name = node.name();
    for (int i = 1; nodeNames_.count(name); ++i) name = fmt::format("{}_{}", node.name(), i);
    nodeNames_.insert(name);
    node.set_name(name);
  }

  std::set<const ir::Value*> read_;  // values some node or graph output reads
  std::set<std::string> nodeNames_;  // node names written so far
  std::set<std::string> names_;      // every value name in the model
  std::vector<std::string> noForm_;  // nodes of IR-only ops
  std::set<std::string> domainsUsed_;
};

}  // namespace

std::string exportOnnxBytes(const ir::Graph& graph) {
  ModelWriter writer(graph);
  ::onnx::ModelProto model;
  model.set_ir_version(10);  // the IR version that goes with opset 21 (ONNX 1.16)
  model.set_producer_name("dlc");
  writer.writeGraph(graph, *model.mutable_graph());
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kExportOpset);
  for (const std::string& domain : writer.domainsUsed()) {
    DLC_CHECK(domain == kTrainingDomain);  // the only other domain the export table writes
    auto* other = model.add_opset_import();
    other->set_domain(domain);
    other->set_version(kTrainingDomainVersion);
  }
  size_t size = model.ByteSizeLong();
  if (size > size_t(INT_MAX))
    throwUserError("ONNX export: the model is {} bytes; protobuf limits a file to 2 GiB and the exporter does not write "
                   "weights as external data",
                   size);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throwUserError("ONNX export: the model could not be serialized");
  return bytes;
}

void exportOnnxFile(const ir::Graph& graph, const std::string& path) {
  std::string bytes = exportOnnxBytes(graph);
  std::ofstream f(path, std::ios::binary);
  if (!f) throwUserError("ONNX export: cannot open '{}' for writing", path);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  if (!f) throwUserError("ONNX export: writing '{}' failed", path);
}

}  // namespace dlc::frontend::onnx
