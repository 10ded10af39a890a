#include "tools/dlc/targets.h"

#include <fmt/format.h>

#include <algorithm>

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
  std::string describe() const override { return "ref: every op runs its reference kernel in the interpreter"; }

 private:
  ir::Graph graph_;
  int64_t maxTensorBytes_;
};
}  // namespace

const std::vector<std::string>& availableTargets() {
  static const std::vector<std::string> targets = {"ref"};
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
  throwUserError("unknown target '{}'; available targets: {}", target, fmt::join(availableTargets(), ", "));
}

}  // namespace dlc::tools
