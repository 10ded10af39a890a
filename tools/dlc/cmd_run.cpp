// dlc run: run a model on given or random inputs.
#include <fmt/format.h>

#include <filesystem>
#include <random>

#include "frontend/onnx/importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/npy.h"
#include "support/error.h"
#include "tools/dlc/cli_args.h"
#include "tools/dlc/commands.h"
#include "tools/dlc/targets.h"

namespace dlc::tools {

std::map<std::string, int64_t> parseDimBindings(const std::vector<std::string>& specs);

static constexpr const char* kHelp = R"(usage: dlc run MODEL.onnx [options]

Runs the model and prints a summary of each output (dtype, shape, first
values, min/max/mean).

options:
  --input NAME=FILE   an input from a .npy or ONNX TensorProto .pb file;
                      NAME=random for random data (repeatable). Inputs not
                      given are random.
  --shape N=V         bind a symbolic dim for random inputs (default 1)
  --seed S            seed for random inputs (default 0)
  --output-dir DIR    write each output to DIR/<output name>.npy
  --target T          where to run: ref (default)
  --optimize          run the optimisation passes first (constant folding, CSE, DCE)
  --print-after P     print the IR after pass P (comma-separated, or "all")
  --max-tensor-bytes B  refuse any weight, input or intermediate tensor over
                      B bytes, before allocating it (default 16 GiB)
)";

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

int cmdRun(const std::vector<std::string>& argv) {
  CliArgs args(argv, {"input", "shape", "seed", "output-dir", "target", "print-after", "max-tensor-bytes"}, {"help", "optimize"});
  if (args.flag("help")) {
    fmt::print("{}", kHelp);
    return 0;
  }
  if (args.positional().size() != 1) throwUserError("expected one model file (see --help)");
  auto dims = parseDimBindings(args.values("shape"));
  CompileOptions compile = compileOptions(args);
  frontend::onnx::ImportOptions importOptions;
  importOptions.maxTensorBytes = compile.maxTensorBytes;
  auto model = frontend::onnx::importOnnxFile(args.positional()[0], importOptions);
  const ir::Graph& g = model.graph;
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
    if (file != "random") inputs[name] = loadTensorFile(file, compile.maxTensorBytes);
  }
  for (const auto* v : g.inputs())
    if (!inputs.count(v->name())) inputs[v->name()] = randomTensor(*v, dims, compile.maxTensorBytes, rng);

  std::vector<std::string> outputNames;
  for (const auto* v : g.outputs()) outputNames.push_back(v->name());
  auto exe = compileForTarget(std::move(model.graph), args.value("target").value_or("ref"), compile);
  auto outputs = exe->run(inputs);
  auto outDir = args.value("output-dir");
  if (outDir) std::filesystem::create_directories(*outDir);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = outputNames[i];
    fmt::print("{}: {}\n", name, outputs[i].summary());
    if (outDir) {
      std::string safe = name;
      for (char& c : safe)
        if (c == '/' || c == '\\' || c == ':') c = '_';
      ir::writeNpy((std::filesystem::path(*outDir) / (safe + ".npy")).string(), outputs[i]);
    }
  }
  return 0;
}

}  // namespace dlc::tools
