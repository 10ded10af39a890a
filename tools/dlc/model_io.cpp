#include "tools/dlc/model_io.h"

#include <fmt/format.h>

#include <filesystem>
#include <random>

#include "frontend/onnx/tensor_proto.h"
#include "ir/npy.h"
#include "support/error.h"

namespace dlc::tools {

static ir::Tensor loadTensorFile(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".npy") return ir::readNpy(path);
  if (ext == ".pb") return frontend::onnx::readTensorProtoFile(path);
  throwUserError("input file '{}' must be .npy or .pb", path);
}

static ir::Tensor randomTensor(const ir::Value& input, const std::map<std::string, int64_t>& dims, std::mt19937_64& rng) {
  const ir::TensorType& t = input.type();
  if (!t.shape) throwUserError("input '{}' has an unknown rank; give it with --input", input.name());
  std::vector<int64_t> extents;
  for (const auto& d : t.shape->dims()) {
    if (d.isStatic()) extents.push_back(d.value());
    else if (d.isSymbolic() && dims.count(d.symbolName())) extents.push_back(dims.at(d.symbolName()));
    else extents.push_back(1);
  }
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

ir::NamedTensors gatherInputs(const ir::Graph& g, const CliArgs& args, const std::map<std::string, int64_t>& dims) {
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
    if (file != "random") inputs[name] = loadTensorFile(file);
  }
  for (const auto* v : g.inputs())
    if (!inputs.count(v->name())) inputs[v->name()] = randomTensor(*v, dims, rng);
  return inputs;
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
