#include "frontend/onnx/importer.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include "frontend/onnx/node_importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/op_def.h"
#include "ir/verifier.h"

namespace dlc::frontend::onnx {

using namespace ir;
namespace fs = std::filesystem;

namespace {

bool isDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// The opset versions a model imports: the default domain's, and others'.
struct Opsets {
  int defaultDomain = 0;  // 0: the model imports no version of it
  std::map<std::string, int> others;

  // The version of `domain` or -1 when the model does not import it.
  int of(const std::string& domain) const {
    if (isDefaultDomain(domain)) return defaultDomain;
    auto it = others.find(domain);
    return it == others.end() ? -1 : it->second;
  }
};

const char* domainKey(const std::string& d) { return isDefaultDomain(d) ? "" : d.c_str(); }

std::string describeNode(const ::onnx::NodeProto& n, int opset) {
  std::string name = n.name().empty() ? (n.output_size() ? n.output(0) : std::string("?")) : n.name();
  return fmt::format("node '{}' ({}, opset {})", name, n.op_type(), opset);
}

using SubgraphImport = std::function<std::shared_ptr<Graph>(const ::onnx::GraphProto&)>;

Attributes convertAttributes(const ::onnx::NodeProto& node, const fs::path& modelDir, int64_t maxTensorBytes,
                             const SubgraphImport& importSubgraph) {
  Attributes attrs;
  for (const auto& a : node.attribute()) {
    switch (a.type()) {
      case ::onnx::AttributeProto::INT: attrs.set(a.name(), int64_t(a.i())); break;
      case ::onnx::AttributeProto::FLOAT: attrs.set(a.name(), double(a.f())); break;
      case ::onnx::AttributeProto::STRING: attrs.set(a.name(), a.s()); break;
      case ::onnx::AttributeProto::INTS:
        attrs.set(a.name(), std::vector<int64_t>(a.ints().begin(), a.ints().end()));
        break;
      case ::onnx::AttributeProto::FLOATS:
        attrs.set(a.name(), std::vector<double>(a.floats().begin(), a.floats().end()));
        break;
      case ::onnx::AttributeProto::STRINGS:
        attrs.set(a.name(), std::vector<std::string>(a.strings().begin(), a.strings().end()));
        break;
      case ::onnx::AttributeProto::TENSOR: attrs.set(a.name(), tensorFromProto(a.t(), modelDir, maxTensorBytes)); break;
      case ::onnx::AttributeProto::GRAPH:
        try {
          attrs.set(a.name(), importSubgraph(a.g()));
        } catch (const UnsupportedError& e) {
          throw UnsupportedError(fmt::format("in subgraph '{}': {}", a.name(), e.what()));
        } catch (const UserError& e) {
          throwUserError("in subgraph '{}': {}", a.name(), e.what());
        }
        break;
      case ::onnx::AttributeProto::GRAPHS:
        throw UnsupportedError(fmt::format("attribute '{}' holds a list of graphs", a.name()));
      case ::onnx::AttributeProto::SPARSE_TENSOR:
      case ::onnx::AttributeProto::SPARSE_TENSORS:
        throw UnsupportedError(fmt::format("attribute '{}' holds a sparse tensor", a.name()));
      case ::onnx::AttributeProto::TENSORS:
      case ::onnx::AttributeProto::TYPE_PROTO:
      case ::onnx::AttributeProto::TYPE_PROTOS:
        throw UnsupportedError(fmt::format("attribute '{}' has an unsupported kind", a.name()));
      case ::onnx::AttributeProto::UNDEFINED:
      default:
        throwUserError("attribute '{}' has an undefined type", a.name());
    }
  }
  return attrs;
}

// The type of a graph input. A subgraph input may leave its type out, in
// which case `hint` (derived from the op that owns the subgraph) is used.
TensorType typeFromValueInfo(const ::onnx::ValueInfoProto& vi, const ImportOptions& options,
                             const std::optional<TensorType>& hint = std::nullopt) {
  bool hasElemType = vi.has_type() && vi.type().has_tensor_type() && vi.type().tensor_type().elem_type() != 0;
  if (hint && (!hasElemType || !vi.type().tensor_type().has_shape())) return *hint;
  if (!vi.has_type() || !vi.type().has_tensor_type())
    throw UnsupportedError(fmt::format("graph input '{}' is not a tensor (sequences, maps and optionals are not supported)", vi.name()));
  const auto& tt = vi.type().tensor_type();
  DType dtype = dtypeFromOnnx(tt.elem_type());
  if (!tt.has_shape()) return TensorType::unranked(dtype);
  std::vector<Dim> dims;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) throwUserError("graph input '{}' has a negative dim {}", vi.name(), d.dim_value());
      dims.push_back(Dim(d.dim_value()));
    } else if (d.has_dim_param() && !d.dim_param().empty()) {
      auto bound = options.dimBindings.find(d.dim_param());
      dims.push_back(bound != options.dimBindings.end() ? Dim(bound->second) : Dim::symbol(d.dim_param()));
    } else {
      dims.push_back(Dim::unknown());
    }
  }
  TensorType type(dtype, Shape(std::move(dims)));
  if (type.shape->isStatic())
    checkTensorBytes(dtype, type.shape->extents(), options.maxTensorBytes, fmt::format("graph input '{}'", vi.name()));
  return type;
}

const ImporterTable& importerTable() {
  static const ImporterTable table;
  return table;
}

class GraphImporter {
 public:
  GraphImporter(const ::onnx::GraphProto& g, const Opsets& opsets, fs::path modelDir, const ImportOptions& options,
                const GraphImporter* parent = nullptr, std::vector<std::optional<TensorType>> inputHints = {})
      : proto_(g), opsets_(opsets), opset_(opsets.defaultDomain), modelDir_(std::move(modelDir)), options_(options), parent_(parent),
        inputHints_(std::move(inputHints)) {}

  Graph run() {
    graph_.setName(proto_.name().empty() ? "main" : proto_.name());
    if (proto_.sparse_initializer_size() > 0) throw UnsupportedError("sparse initializers are not supported");
    for (const auto& init : proto_.initializer()) {
      if (init.name().empty()) throwUserError("an initializer has no name");
      if (values_.count(init.name())) throwUserError("initializer '{}' is defined twice", init.name());
      try {
        values_[init.name()] = graph_.addConstant(graph_.uniqueName(init.name()), tensorFromProto(init, modelDir_, options_.maxTensorBytes));
      } catch (const UnsupportedError& e) {
        throw UnsupportedError(fmt::format("initializer '{}': {}", init.name(), e.what()));
      } catch (const UserError& e) {
        throwUserError("initializer '{}': {}", init.name(), e.what());
      }
    }
    for (int i = 0; i < proto_.input_size(); ++i) {
      const auto& in = proto_.input(i);
      if (values_.count(in.name())) continue;  // an initializer (old models list them as inputs)
      if (in.name().empty()) throwUserError("a graph input has no name");
      std::optional<TensorType> hint = size_t(i) < inputHints_.size() ? inputHints_[size_t(i)] : std::nullopt;
      try {
        values_[in.name()] = graph_.addInput(in.name(), typeFromValueInfo(in, options_, hint));
      } catch (const UnsupportedError& e) {
        if (std::string(e.what()).rfind("graph input", 0) == 0) throw;
        throw UnsupportedError(fmt::format("graph input '{}': {}", in.name(), e.what()));
      } catch (const UserError& e) {
        if (std::string(e.what()).rfind("graph input", 0) == 0) throw;
        throwUserError("graph input '{}': {}", in.name(), e.what());
      }
    }
    checkAllSupported();
    for (const auto& node : proto_.node()) importNode(node);
    bindOutputs();
    // A subgraph reads outer values, so it is verified as part of its parent.
    if (!parent_) verifyOrThrow(graph_);
    return std::move(graph_);
  }

 private:
  void checkAllSupported() {
    std::map<std::string, std::vector<std::string>> missing;  // "Op (domain, opset)" -> node names
    for (const auto& node : proto_.node()) {
      std::string key;
      int version = opsets_.of(node.domain());
      if (version < 0)
        throwUserError("node '{}' ({}) is in domain '{}', but the model imports no version of it", node.name(),
                       node.op_type(), node.domain());
      if (isDefaultDomain(node.domain()) && version == 0)
        throwUserError("node '{}' ({}) is in the default domain, but the model imports no version of it",
                       node.name(), node.op_type());
      bool isConstant = isDefaultDomain(node.domain()) && node.op_type() == "Constant";
      if (!isConstant && !importerTable().find(domainKey(node.domain()), node.op_type(), version)) {
        key = isDefaultDomain(node.domain()) ? fmt::format("{} (opset {})", node.op_type(), version)
                                             : fmt::format("{} (domain '{}' version {})", node.op_type(), node.domain(), version);
      }
      if (!key.empty())
        missing[key].push_back(node.name().empty() ? (node.output_size() ? node.output(0) : "?") : node.name());
    }
    if (missing.empty()) return;
    std::string msg = fmt::format("the model uses {} unsupported op{}:", missing.size(), missing.size() == 1 ? "" : "s");
    for (const auto& [op, nodes] : missing) {
      msg += fmt::format("\n  {}: {} node{} ('{}'{})", op, nodes.size(), nodes.size() == 1 ? "" : "s", nodes[0],
                         nodes.size() > 1 ? ", ..." : "");
    }
    throw UnsupportedError(msg);
  }

  // A value visible here: defined in this graph or an enclosing one.
  Value* find(const std::string& name) const {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    return parent_ ? parent_->find(name) : nullptr;
  }

  Value* lookup(const std::string& name, const ::onnx::NodeProto& node) {
    Value* v = find(name);
    if (!v)
      throwUserError("{}: input '{}' is not produced by any earlier node, initializer or graph input",
                     describeNode(node, opsets_.of(node.domain())), name);
    return v;
  }

  // Types for a subgraph's inputs, for bodies that leave them out: Loop's
  // body takes (iteration, condition, loop-carried values), Scan's body
  // takes (states, one slice of each scan input).
  static std::vector<std::optional<TensorType>> subgraphInputHints(const ::onnx::NodeProto& node,
                                                                   const std::vector<Value*>& inputs) {
    std::vector<std::optional<TensorType>> hints;
    auto typeOf = [&](size_t i) -> std::optional<TensorType> {
      return i < inputs.size() && inputs[i] ? std::optional<TensorType>(inputs[i]->type()) : std::nullopt;
    };
    if (node.op_type() == "Loop") {
      hints.push_back(TensorType(DType::I64, Shape()));
      hints.push_back(TensorType(DType::Bool, Shape()));
      for (size_t i = 2; i < inputs.size(); ++i) hints.push_back(typeOf(i));
    } else if (node.op_type() == "Scan") {
      int64_t numScan = 0;
      std::vector<int64_t> axes;
      for (const auto& a : node.attribute()) {
        if (a.name() == "num_scan_inputs") numScan = a.i();
        if (a.name() == "scan_input_axes") axes.assign(a.ints().begin(), a.ints().end());
      }
      size_t numStates = inputs.size() >= size_t(std::max<int64_t>(numScan, 0)) ? inputs.size() - size_t(numScan) : 0;
      for (size_t i = 0; i < inputs.size(); ++i) {
        auto t = typeOf(i);
        if (t && i >= numStates && t->shape) {
          size_t j = i - numStates;
          int64_t rank = int64_t(t->shape->rank());
          int64_t axis = j < axes.size() ? axes[j] : 0;
          if (axis < 0) axis += rank;
          if (axis < 0 || axis >= rank) t = TensorType::unranked(t->dtype);
          else t->shape->dims().erase(t->shape->dims().begin() + axis);
        }
        hints.push_back(t);
      }
    }
    return hints;
  }

  void importConstant(const ::onnx::NodeProto& node) {
    if (node.output_size() != 1) throwUserError("Constant must have one output");
    if (node.attribute_size() != 1) throwUserError("Constant must have exactly one attribute");
    const auto& a = node.attribute(0);
    Tensor t;
    if (a.name() == "value") t = tensorFromProto(a.t(), modelDir_, options_.maxTensorBytes);
    else if (a.name() == "value_float") t = Tensor::scalar<float>(a.f());
    else if (a.name() == "value_int") t = Tensor::scalar<int64_t>(a.i());
    else if (a.name() == "value_floats")
      t = Tensor::fromVector<float>({a.floats_size()}, std::vector<float>(a.floats().begin(), a.floats().end()));
    else if (a.name() == "value_ints")
      t = Tensor::fromVector<int64_t>({a.ints_size()}, std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    else throw UnsupportedError(fmt::format("Constant with attribute '{}' is not supported", a.name()));
    define(node.output(0), graph_.addConstant(graph_.uniqueName(node.output(0)), std::move(t)), node);
  }

  void define(const std::string& name, Value* v, const ::onnx::NodeProto& node) {
    if (name.empty()) return;
    if (values_.count(name))
      throwUserError("{}: output '{}' is already defined (the graph is not in SSA form)", describeNode(node, opsets_.of(node.domain())), name);
    values_[name] = v;
  }

  // ONNX graphs are in SSA form: each output a node names is new. Checked
  // before the node is imported, as IR value names must be unique too.
  void checkOutputsAreNew(const ::onnx::NodeProto& node) {
    const auto& outs = node.output();
    for (int i = 0; i < outs.size(); ++i) {
      const std::string& name = outs[i];
      if (name.empty()) continue;
      if (std::find(outs.begin(), outs.begin() + i, name) != outs.begin() + i)
        throwUserError("output '{}' is listed twice", name);
      if (values_.count(name)) throwUserError("output '{}' is already defined (the graph is not in SSA form)", name);
    }
  }

  void importNode(const ::onnx::NodeProto& node) {
    try {
      checkOutputsAreNew(node);
      if (isDefaultDomain(node.domain()) && node.op_type() == "Constant") return importConstant(node);
      int version = opsets_.of(node.domain());
      std::vector<Value*> inputs;
      for (const auto& name : node.input()) inputs.push_back(name.empty() ? nullptr : lookup(name, node));
      // Handlers read input 0 without checking: an ONNX op whose IR namesake
      // takes operands must be given its first input (Loop's trip count is
      // the one optional first input). Counts beyond that differ across
      // opsets and are checked by inference.
      if (auto op = isDefaultDomain(node.domain()) ? findOp(node.op_type()) : std::nullopt)
        if (opDef(*op).minInputs > 0 && node.op_type() != "Loop" && (inputs.empty() || inputs[0] == nullptr))
          throwUserError("required operand 0 is absent");
      auto hints = subgraphInputHints(node, inputs);
      SubgraphImport importSubgraph = [&](const ::onnx::GraphProto& g) {
        return std::make_shared<Graph>(GraphImporter(g, opsets_, modelDir_, options_, this, hints).run());
      };
      NodeImporter ni(graph_, node, version, std::move(inputs), convertAttributes(node, modelDir_, options_.maxTensorBytes, importSubgraph));
      (*importerTable().find(domainKey(node.domain()), node.op_type(), version))(ni);
      const auto& outs = ni.boundOutputs();
      for (int i = 0; i < node.output_size(); ++i) {
        if (node.output(i).empty()) continue;
        if (size_t(i) >= outs.size() || outs[size_t(i)] == nullptr)
          throw UnsupportedError(fmt::format("output {} ('{}') is not supported", i, node.output(i)));
        define(node.output(i), outs[size_t(i)], node);
      }
    } catch (const UnsupportedError& e) {
      throw UnsupportedError(prefixed(node, e.what()));
    } catch (const UserError& e) {
      throw UserError(prefixed(node, e.what()));
    }
  }

  std::string prefixed(const ::onnx::NodeProto& node, const std::string& msg) {
    std::string prefix = describeNode(node, opsets_.of(node.domain()));
    if (msg.rfind(prefix, 0) == 0) return msg;
    // Drop the IR node descriptions that inference errors start with (an
    // attribute error raised inside inference carries two).
    std::string m = msg;
    while (m.rfind("node ", 0) == 0) {
      size_t colon = m.find("): ");
      if (colon == std::string::npos) break;
      m = m.substr(colon + 3);
    }
    return prefix + ": " + m;
  }

  void bindOutputs() {
    std::vector<Value*> outs;
    for (const auto& o : proto_.output()) {
      Value* v = find(o.name());
      if (!v) throwUserError("graph output '{}' is not produced by any node", o.name());
      if (v->name() != o.name()) {
        if (v->producer() && values_.count(o.name()) && !graph_.findValue(o.name())) {
          graph_.renameValue(v, o.name());
        } else {
          Node* n = graph_.addNode(OpKind::Identity, {v}, 1, {}, o.name(), {graph_.uniqueName(o.name())});
          n->output(0)->setType(v->type());
          v = n->output(0);
        }
      }
      outs.push_back(v);
    }
    graph_.setOutputs(std::move(outs));
  }

  const ::onnx::GraphProto& proto_;
  const Opsets& opsets_;
  int opset_;  // the default domain's
  fs::path modelDir_;
  const ImportOptions& options_;
  const GraphImporter* parent_;
  std::vector<std::optional<TensorType>> inputHints_;
  Graph graph_;
  std::unordered_map<std::string, Value*> values_;
};

}  // namespace

ImportedModel importOnnxBytes(const std::string& bytes, const std::string& modelDir, const ImportOptions& options) {
  ::onnx::ModelProto model;
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()), int(bytes.size()));
  stream.SetRecursionLimit(64);
  if (!model.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    throwUserError("the file is not a valid ONNX model (protobuf parsing failed)");
  if (!model.has_graph()) throwUserError("the model has no graph");
  int opset = -1;
  Opsets opsets;
  for (const auto& o : model.opset_import()) {
    if (o.version() < 0 || o.version() > 100000)
      throwUserError("the model imports version {} of domain '{}', which does not exist", o.version(),
                     isDefaultDomain(o.domain()) ? "ai.onnx" : o.domain());
    if (isDefaultDomain(o.domain())) opset = int(o.version());
    else opsets.others[o.domain()] = int(o.version());
  }
  // IR version 2 models had no opset_import; a model that imports only other
  // domains gets opset 0, and any default-domain node in it is an error.
  if (opset < 0) opset = model.opset_import_size() == 0 ? 1 : 0;
  if (opset > kMaxOpset)
    throw UnsupportedError(fmt::format("the model uses opset {}; dlc supports opsets up to {}", opset, kMaxOpset));
  if (opset < 0) throwUserError("the model declares opset {}", opset);
  ImportedModel result;
  result.opset = opset;
  result.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  opsets.defaultDomain = opset;
  result.graph = GraphImporter(model.graph(), opsets, modelDir, options).run();
  return result;
}

ImportedModel importOnnxFile(const std::string& path, const ImportOptions& options) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throwUserError("'{}' is not a readable file", path);
  auto size = fs::file_size(path, ec);
  if (ec) throwUserError("cannot read '{}'", path);
  if (size > (uint64_t(2) << 30) - 1)
    throwUserError("'{}' is {} bytes; ONNX models over 2 GiB must keep weights in external data", path, size);
  std::ifstream f(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!f.read(bytes.data(), std::streamsize(size))) throwUserError("cannot read '{}'", path);
  try {
    // A bare file name is in the current folder (its external data too).
    fs::path dir = fs::path(path).parent_path();
    return importOnnxBytes(bytes, dir.empty() ? std::string(".") : dir.string(), options);
  } catch (const UnsupportedError& e) {
    throw UnsupportedError(fmt::format("{}: {}", path, e.what()));
  } catch (const UserError& e) {
    throw UserError(fmt::format("{}: {}", path, e.what()));
  }
}

}  // namespace dlc::frontend::onnx
