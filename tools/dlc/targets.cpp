#include "tools/dlc/targets.h"

#include <fmt/format.h>

#include "support/error.h"

namespace dlc::tools {

namespace {
class InterpreterExecutable : public Executable {
 public:
  explicit InterpreterExecutable(const ir::Graph& g) : graph_(g) {}
  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs) override { return ir::interpret(graph_, inputs); }
  std::string describe() const override { return "ref: every op runs its reference kernel in the interpreter"; }

 private:
  const ir::Graph& graph_;
};
}  // namespace

const std::vector<std::string>& availableTargets() {
  static const std::vector<std::string> targets = {"ref"};
  return targets;
}

std::unique_ptr<Executable> compileForTarget(const ir::Graph& graph, const std::string& target) {
  if (target == "ref") return std::make_unique<InterpreterExecutable>(graph);
  throwUserError("unknown target '{}'; available targets: {}", target, fmt::join(availableTargets(), ", "));
}

}  // namespace dlc::tools
