#include "codegen/llvm/host_target.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/TargetParser/Host.h>

#include <algorithm>

namespace dlc::codegen::llvm_backend {

HostTarget detectHostTarget() {
  HostTarget t;
  t.triple = llvm::sys::getProcessTriple();
  t.cpu = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  for (const auto& f : features)
    if (f.getValue()) t.features.push_back(f.getKey().str());
  std::sort(t.features.begin(), t.features.end());
  return t;
}

std::string llvmVersion() { return LLVM_VERSION_STRING; }

}  // namespace dlc::codegen::llvm_backend
