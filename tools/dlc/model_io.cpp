#include "tools/dlc/model_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "frontend/onnx/tensor_proto.h"
#include "ir/npy.h"
#include "support/error.h"

namespace dlc::tools {

static ir::Tensor loadTensorFile(const std::string& path, int64_t maxBytes) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".npy") return ir::readNpy(path, maxBytes);
  if (ext == ".pb") return frontend::onnx::readTensorProtoFile(path, nullptr, maxBytes);
  throwUserError("input file '{}' must be .npy or .pb", path);
}

static ir::Tensor randomTensor(const ir::Value& input, const std::map<std::string, int64_t>& dims, int64_t maxBytes,
                               std::mt19937_64& rng) {
  const ir::TensorType& t = input.type();
  if (!t.shape) throwUserError("input '{}' has an unknown rank; give it with --input", input.name());
  std::vector<int64_t> extents;
  for (const auto& d : t.shape->dims()) {
    if (d.isStatic()) extents.push_back(d.value());
    else if (d.isSymbolic() && dims.count(d.symbolName())) extents.push_back(dims.at(d.symbolName()));
    else extents.push_back(1);
  }
  ir::checkTensorBytes(t.dtype, extents, maxBytes, fmt::format("input '{}'", input.name()));
  ir::Tensor out(t.dtype, extents);
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  std::uniform_int_distribution<int64_t> integer(0, 9);
  for (int64_t i = 0; i < out.numel(); ++i) {
    if (ir::isFloat(t.dtype)) out.setDouble(i, real(rng));
    else if (t.dtype == ir::DType::Bool) out.setInt(i, integer(rng) % 2);
    else out.setInt(i, integer(rng));
  }
  return out;
}

ir::NamedTensors gatherInputs(const ir::Graph& g, const CliArgs& args, const std::map<std::string, int64_t>& dims,
                              int64_t maxTensorBytes) {
  std::mt19937_64 rng(uint64_t(args.integer("seed", 0)));
  std::map<std::string, std::string> given;
  for (const auto& spec : args.values("input")) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) throwUserError("--input expects NAME=FILE, got '{}'", spec);
    given[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  ir::NamedTensors inputs;
  for (const auto& [name, file] : given) {
    if (!g.findValue(name) || !g.findValue(name)->isGraphInput()) {
      std::vector<std::string> names;
      for (const auto* v : g.inputs()) names.push_back(v->name());
      throwUserError("'{}' is not an input of the model; its inputs are: {}", name, fmt::join(names, ", "));
    }
    if (file != "random") inputs[name] = loadTensorFile(file, maxTensorBytes);
  }
  for (const auto* v : g.inputs())
    if (!inputs.count(v->name())) inputs[v->name()] = randomTensor(*v, dims, maxTensorBytes, rng);
  return inputs;
}

ShapeSpecs splitShapeSpecs(const std::vector<std::string>& specs, const std::vector<std::string>& inputNames) {
  ShapeSpecs out;
  for (const auto& spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throwUserError("--shape expects SYM=VALUE or INPUT=AxBxC, got '{}'", spec);
    std::string name = spec.substr(0, eq), value = spec.substr(eq + 1);
    bool isInput = std::find(inputNames.begin(), inputNames.end(), name) != inputNames.end();
    if (value.find('x') == std::string::npos && !isInput) {
      out.symbols.push_back(spec);
      continue;
    }
    std::vector<int64_t> extents;
    size_t pos = 0;
    while (pos <= value.size()) {
      size_t end = value.find('x', pos);
      std::string part = value.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      size_t used = 0;
      int64_t extent = -1;
      try {
        extent = std::stoll(part, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (part.empty() || used != part.size() || extent < 0)
        throwUserError("--shape {}: '{}' is not a dim (expected INPUT=AxBxC with integers >= 0)", spec, part);
      extents.push_back(extent);
      if (end == std::string::npos) break;
      pos = end + 1;
    }
    out.inputs[name] = extents;
  }
  return out;
}

void bindInputShapes(const ir::Graph& g, const std::map<std::string, std::vector<int64_t>>& shapes,
                     std::map<std::string, int64_t>& dims) {
  for (const auto& [name, extents] : shapes) {
    const ir::Value* v = g.findValue(name);
    if (!v || !v->isGraphInput()) throwUserError("--shape: '{}' is not an input of the model", name);
    const auto& shape = v->type().shape;
    if (!shape) throwUserError("--shape: input '{}' has an unknown rank; give it with --input", name);
    if (shape->rank() != extents.size())
      throwUserError("--shape: input '{}' has rank {} ({}), got {} dims", name, shape->rank(), v->type().str(),
                     extents.size());
    for (size_t i = 0; i < extents.size(); ++i) {
      const ir::Dim& d = shape->dims()[i];
      if (d.isStatic() && d.value() != extents[i])
        throwUserError("--shape: dim {} of input '{}' is {} in the model ({}), got {}", i, name, d.value(),
                       v->type().str(), extents[i]);
      if (!d.isSymbolic()) continue;
      auto [it, inserted] = dims.emplace(d.symbolName(), extents[i]);
      if (!inserted && it->second != extents[i])
        throwUserError("--shape: symbol '{}' of input '{}' is bound to both {} and {}", d.symbolName(), name,
                       it->second, extents[i]);
    }
  }
}

void writeOutputs(const std::string& dir, const std::vector<std::string>& names,
                  const std::vector<ir::Tensor>& outputs) {
  std::filesystem::create_directories(dir);
  for (size_t i = 0; i < outputs.size() && i < names.size(); ++i) {
    std::string safe = names[i];
    for (char& c : safe)
      if (c == '/' || c == '\\' || c == ':') c = '_';
    ir::writeNpy((std::filesystem::path(dir) / (safe + ".npy")).string(), outputs[i]);
  }
}

}  // namespace dlc::tools
