// dlc inspect: what a model holds.
#include <fmt/format.h>

#include <map>

#include "frontend/onnx/importer.h"
#include "ir/printer.h"
#include "support/error.h"
#include "tools/dlc/cli_args.h"
#include "tools/dlc/commands.h"
#include "tools/dlc/targets.h"

namespace dlc::tools {

static constexpr const char* kHelp = R"(usage: dlc inspect MODEL.onnx [options]

Prints the model's inputs and outputs with their shapes, a histogram of its
ops, and its parameter count.

options:
  --ir            also print the imported IR (large constants elided)
  --ir-full       print the IR with every constant value
  --shape N=V     bind a symbolic dim (repeatable), e.g. --shape N=1
  --target T      compile for target T (ref, cpu or cuda) and print how every op
                  is implemented: JIT kernel (with the fused ops and their
                  model nodes), GEMM, view, or reference-kernel library call
  --memory        compile for the cpu target and report the planned arena
                  peak against the sum of all intermediate tensors
  --cuda-source   with --target cuda: also print the CUDA C++ program (no GPU needed)
  --precision P   with --target cuda: fp32 (default), fp16 or bf16 matrix products
  --threads N, --cpu NAME, --attention-fusion on|off, --blocked-layout on|off
                      as for dlc run
  --max-tensor-bytes B  refuse any weight or input over B bytes (default 16 GiB)
)";

std::map<std::string, int64_t> parseDimBindings(const std::vector<std::string>& specs) {
  std::map<std::string, int64_t> out;
  for (const auto& s : specs) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) throwUserError("--shape expects NAME=VALUE, got '{}'", s);
    try {
      out[s.substr(0, eq)] = std::stoll(s.substr(eq + 1));
    } catch (const std::exception&) {
      throwUserError("--shape expects NAME=VALUE with an integer VALUE, got '{}'", s);
    }
  }
  return out;
}

int cmdInspect(const std::vector<std::string>& argv) {
  CliArgs args(argv, {"shape", "target", "threads", "cpu", "max-tensor-bytes", "precision", "attention-fusion", "blocked-layout"},
               {"ir", "ir-full", "help", "memory", "cuda-source"});
  if (args.flag("help")) {
    fmt::print("{}", kHelp);
    return 0;
  }
  if (args.positional().size() != 1) throwUserError("expected one model file (see --help)");
  frontend::onnx::ImportOptions options;
  options.dimBindings = parseDimBindings(args.values("shape"));
  options.maxTensorBytes = maxTensorBytes(args);
  auto model = frontend::onnx::importOnnxFile(args.positional()[0], options);
  if (args.value("target") || args.flag("memory")) {
    std::string target = args.value("target").value_or("cpu");
    auto exe = compileForTarget(std::move(model.graph), target, compileOptions(args));
    if (args.flag("memory")) fmt::print("{}", exe->memoryReport());
    else fmt::print("{}", exe->describe());
    return 0;
  }
  const ir::Graph& g = model.graph;
  fmt::print("model: {}\nopset: {}\nproducer: {}\n", args.positional()[0], model.opset,
             model.producer.empty() ? "(unknown)" : model.producer);
  fmt::print("inputs:\n");
  for (const auto* v : g.inputs()) fmt::print("  {}: {}\n", v->name(), v->type().str());
  fmt::print("outputs:\n");
  for (const auto* v : g.outputs()) fmt::print("  {}: {}\n", v->name(), v->type().str());
  std::map<std::string, int> histogram;
  for (const auto* n : g.nodes()) ++histogram[std::string(n->opName())];
  fmt::print("ops ({} nodes):\n", g.numNodes());
  for (const auto& [op, count] : histogram) fmt::print("  {:<24} {}\n", op, count);
  int64_t params = 0, bytes = 0;
  auto constants = g.constants();
  for (const auto* c : constants) {
    params += c->constant().numel();
    bytes += int64_t(c->constant().byteSize());
  }
  fmt::print("parameters: {} in {} constants ({:.2f} MiB)\n", params, constants.size(), double(bytes) / (1 << 20));
  if (args.flag("ir") || args.flag("ir-full")) {
    ir::PrintOptions po;
    po.elideConstantsOver = args.flag("ir-full") ? -1 : 16;
    fmt::print("\n{}", ir::printGraph(g, po));
  }
  return 0;
}

}  // namespace dlc::tools
