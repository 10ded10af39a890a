#include <fmt/format.h>

#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pass.h"
#include "support/error.h"

namespace dlc::passes {

void PassManager::printAfter(std::set<std::string> names, std::function<void(const std::string&)> sink) {
  for (const auto& n : names)
    if (n != "all" && !findPass(n)) throwUserError("--print-after: unknown pass '{}'", n);
  printAfter_ = std::move(names);
  sink_ = std::move(sink);
}

bool PassManager::run(ir::Graph& graph) const {
  bool changed = false;
  for (const PassInfo* pass : passes_) {
    changed |= pass->run(graph, ctx_);
    auto problems = ir::verify(graph);
    if (!problems.empty())
      throw InternalError(fmt::format("pass '{}' left an invalid graph:\n  {}", pass->name, fmt::join(problems, "\n  ")));
    if (sink_ && (printAfter_.count("all") || printAfter_.count(pass->name))) {
      ir::PrintOptions options;
      options.elideConstantsOver = 16;
      sink_(fmt::format("// IR after {}\n{}", pass->name, ir::printGraph(graph, options)));
    }
  }
  return changed;
}

}  // namespace dlc::passes
