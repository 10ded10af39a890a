// The ONNX writer: one NodeProto per IR node (the IR op name is the ONNX
// op_type for the exported ops, and their attributes have ONNX's names),
// constants read by the graph as initializers, typed inputs and outputs.
#include "frontend/onnx/exporter.h"

#include <onnx/onnx_pb.h>

#include <fmt/ranges.h>

#include <fstream>
#include <set>

#include "frontend/onnx/tensor_proto.h"
#include "support/error.h"

namespace dlc::frontend::onnx {
namespace {

using ir::OpKind;

// Ops written as themselves: same operands, attributes and meaning at opset 17.
bool exportable(OpKind op) {
  static const std::set<OpKind> ops = {
      OpKind::Add,       OpKind::Sub,        OpKind::Mul,       OpKind::Div,
      OpKind::Neg,       OpKind::Relu,       OpKind::Sigmoid,   OpKind::Tanh,
      OpKind::Exp,       OpKind::Log,        OpKind::Sqrt,      OpKind::Identity,
      OpKind::MatMul,    OpKind::Gemm,       OpKind::Conv,      OpKind::MaxPool,
      OpKind::AveragePool, OpKind::GlobalAveragePool, OpKind::Flatten, OpKind::Reshape,
      OpKind::Transpose, OpKind::Concat,     OpKind::Softmax,   OpKind::LogSoftmax,
  };
  return ops.count(op) != 0;
}

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

void setAttribute(::onnx::AttributeProto& a, const std::string& name, const ir::AttrValue& v,
                  const ir::Node& node) {
  using A = ::onnx::AttributeProto;
  a.set_name(name);
  switch (ir::attrKindOf(v)) {
    case ir::AttrKind::Int: a.set_type(A::INT); a.set_i(std::get<int64_t>(v)); return;
    case ir::AttrKind::Float: a.set_type(A::FLOAT); a.set_f(float(std::get<double>(v))); return;
    case ir::AttrKind::String: a.set_type(A::STRING); a.set_s(std::get<std::string>(v)); return;
    case ir::AttrKind::Ints:
      a.set_type(A::INTS);
      for (int64_t i : std::get<std::vector<int64_t>>(v)) a.add_ints(i);
      return;
    case ir::AttrKind::Floats:
      a.set_type(A::FLOATS);
      for (double f : std::get<std::vector<double>>(v)) a.add_floats(float(f));
      return;
    case ir::AttrKind::Strings:
      a.set_type(A::STRINGS);
      for (const std::string& s : std::get<std::vector<std::string>>(v)) a.add_strings(s);
      return;
    case ir::AttrKind::Tensor:
      a.set_type(A::TENSOR);
      tensorToProto(std::get<ir::Tensor>(v), *a.mutable_t());
      return;
    case ir::AttrKind::Graph:
      throwUserError("ONNX export: {} has a subgraph attribute '{}', which the exporter does not write",
                     node.describe(), name);
  }
}

}  // namespace

std::string exportOnnxBytes(const ir::Graph& graph) {
  std::vector<std::string> unsupported;
  for (const ir::Node* n : graph.nodes())
    if (!exportable(n->op())) unsupported.push_back(n->describe());
  if (!unsupported.empty())
    throwUserError("ONNX export: no ONNX form for {}", fmt::format("{}", fmt::join(unsupported, ", ")));

  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("dlc");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kExportOpset);
  ::onnx::GraphProto* g = model.mutable_graph();
  g->set_name(graph.name());

  std::set<const ir::Value*> used(graph.outputs().begin(), graph.outputs().end());
  for (const ir::Node* n : graph.nodes()) {
    ::onnx::NodeProto* np = g->add_node();
    np->set_name(n->name());
    np->set_op_type(std::string(n->opName()));
    for (const ir::Value* in : n->inputs()) {
      np->add_input(in ? in->name() : "");
      if (in) used.insert(in);
    }
    for (const ir::Value* out : n->outputs()) np->add_output(out->name());
    for (const auto& [name, v] : n->attrs().all()) setAttribute(*np->add_attribute(), name, v, *n);
  }
  for (const ir::Value* c : graph.constants()) {
    if (!used.count(c)) continue;
    ::onnx::TensorProto* t = g->add_initializer();
    tensorToProto(c->constant(), *t);
    t->set_name(c->name());
  }
  for (const ir::Value* in : graph.inputs()) setType(*g->add_input(), *in);
  for (const ir::Value* out : graph.outputs()) setType(*g->add_output(), *out);
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
