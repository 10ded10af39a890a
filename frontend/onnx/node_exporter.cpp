#include "frontend/onnx/node_exporter.h"

#include <onnx/onnx_pb.h>

#include "frontend/onnx/tensor_proto.h"

namespace dlc::frontend::onnx {

namespace {

void writeAttribute(::onnx::AttributeProto& a, const std::string& name, const ir::AttrValue& v,
                    const NodeExporter::SubgraphWriter& writeSubgraph) {
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
      a.set_type(A::GRAPH);
      writeSubgraph(*std::get<std::shared_ptr<ir::Graph>>(v), *a.mutable_g());
      return;
  }
}

}  // namespace

NodeExporter::NodeExporter(const ir::Node& node, ::onnx::NodeProto& proto, SubgraphWriter writeSubgraph,
                           NameMaker freshName)
    : node_(node), proto_(proto), writeSubgraph_(std::move(writeSubgraph)), freshName_(std::move(freshName)) {}

void NodeExporter::writeAsIr(const std::string& domain) {
  proto_.set_name(node_.name());
  proto_.set_op_type(std::string(node_.opName()));
  if (!domain.empty()) proto_.set_domain(domain);
  for (const ir::Value* in : node_.inputs()) proto_.add_input(in ? in->name() : "");
  for (const ir::Value* out : node_.outputs()) proto_.add_output(out->name());
  for (const auto& [name, v] : node_.attrs().all()) {
    try {
      writeAttribute(*proto_.add_attribute(), name, v, writeSubgraph_);
    } catch (const UserError& e) {
      throwUserError("in subgraph '{}' of {}: {}", name, node_.describe(), e.what());
    }
  }
}

void NodeExporter::dtypeNameToCode(const std::string& attrName) {
  for (auto& a : *proto_.mutable_attribute()) {
    if (a.name() != attrName) continue;
    std::optional<ir::DType> dtype = ir::parseDType(a.s());
    if (a.type() != ::onnx::AttributeProto::STRING || !dtype)
      throwUserError("ONNX export: {}: attribute '{}' is not a dtype name", node_.describe(), attrName);
    a.clear_s();
    a.set_type(::onnx::AttributeProto::INT);
    a.set_i(dtypeToOnnx(*dtype));
  }
}

void NodeExporter::padOutputs(int count) {
  while (proto_.output_size() < count)
    proto_.add_output(freshName_(fmt::format("{}/output{}", node_.name(), proto_.output_size())));
}

}  // namespace dlc::frontend::onnx
