// dlc version: what this build is and what it sees of the host.
#include <fmt/format.h>

#include "codegen/llvm/host_target.h"
#include "support/error.h"
#include "tools/dlc/cli_args.h"
#include "tools/dlc/commands.h"
#include "tools/dlc/targets.h"

namespace dlc::tools {

int cmdVersion(const std::vector<std::string>& argv) {
  CliArgs args(argv, {}, {"help"});
  if (args.flag("help")) {
    fmt::print("usage: dlc version\n\nPrints dlc's version, the LLVM it was built with, the targets it can run\n"
               "on, and the host CPU with its features (what --cpu defaults to).\n");
    return 0;
  }
  auto host = codegen::llvm_backend::detectHostTarget();
  fmt::print("dlc 0.1.0\nLLVM {} (linked statically)\ntargets: {}\nhost: {} cpu {}\nfeatures: {}\n",
             codegen::llvm_backend::llvmVersion(), fmt::join(availableTargets(), ", "), host.triple, host.cpu,
             fmt::join(host.features, " "));
  return 0;
}

}  // namespace dlc::tools
