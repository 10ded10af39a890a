#include "tools/dlc/targets.h"

#include <fmt/format.h>

#include <algorithm>

#include "codegen/cpu/cpu_model.h"
#include "passes/pass.h"
#include "support/error.h"

namespace dlc::tools {

namespace {
class InterpreterExecutable : public Executable {
 public:
  InterpreterExecutable(ir::Graph g, int64_t maxTensorBytes) : graph_(std::move(g)), maxTensorBytes_(maxTensorBytes) {}
  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs) override {
    return ir::interpret(graph_, inputs, maxTensorBytes_);
  }
  std::string describe() const override { return "ref: every op runs its reference kernel in the interpreter\n"; }
  std::string memoryReport() const override {
    return "ref: the interpreter allocates each value and frees it after its last use; no plan\n";
  }

 private:
  ir::Graph graph_;
  int64_t maxTensorBytes_;
};

// The LLVM CPU backend: compiled per input-shape signature, cached.
class CpuExecutable : public Executable {
 public:
  CpuExecutable(ir::Graph g, const CompileOptions& options)
      : model_(std::move(g), codegen::cpu::CpuOptions{options.cpu, options.threads}) {}
  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs) override { return model_.run(inputs); }
  std::string describe() const override { return model_.describe(); }
  std::string profile(const ir::NamedTensors& inputs, int iterations) override {
    return model_.profile(inputs, iterations);
  }
  std::string memoryReport() const override {
    if (model_.numCompiledVariants() == 0) return model_.describe();
    codegen::cpu::MemoryReport m = model_.memoryReport();
    return fmt::format(
        "memory plan (cpu): arena peak {:.3f} MiB ({} bytes) for {} intermediate tensors totalling {:.3f} MiB "
        "({} bytes): {:.1f}% of the sum; {} results computed in place, {} views without copies\n",
        double(m.arenaBytes) / (1 << 20), m.arenaBytes, m.numIntermediates, double(m.intermediateBytes) / (1 << 20),
        m.intermediateBytes, m.intermediateBytes ? 100.0 * double(m.arenaBytes) / double(m.intermediateBytes) : 0.0,
        m.numInPlace, m.numViews);
  }

 private:
  codegen::cpu::CpuModel model_;
};
}  // namespace

const std::vector<std::string>& availableTargets() {
  static const std::vector<std::string> targets = {"ref", "cpu"};
  return targets;
}

std::unique_ptr<Executable> compileForTarget(ir::Graph graph, const std::string& target, const CompileOptions& options) {
  if (std::find(availableTargets().begin(), availableTargets().end(), target) == availableTargets().end())
    throwUserError("unknown target '{}'; available targets: {}", target, fmt::join(availableTargets(), ", "));
  if (options.optimize || !options.printAfter.empty()) {
    passes::PassManager pm = options.optimize ? passes::defaultPipeline() : passes::PassManager();
    pm.printAfter(options.printAfter, [](const std::string& ir) { fmt::print("{}\n", ir); });
    pm.run(graph);
  }
  if (target == "ref") return std::make_unique<InterpreterExecutable>(std::move(graph), options.maxTensorBytes);
  if (target == "cpu") return std::make_unique<CpuExecutable>(std::move(graph), options);
  throwUserError("unknown target '{}'; available targets: {}", target, fmt::join(availableTargets(), ", "));
}

}  // namespace dlc::tools
