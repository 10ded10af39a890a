// What the LLVM backend knows about the machine it runs on: the host CPU
// name and its features (the default for `--cpu`). LLVM headers stay in the
// .cpp (they are slow to compile and must not spread through the project).
#pragma once

#include <string>
#include <vector>

namespace dlc::codegen::llvm_backend {

struct HostTarget {
  std::string triple;                 // e.g. x86_64-pc-linux-gnu
  std::string cpu;                    // e.g. znver4
  std::vector<std::string> features;  // enabled features, e.g. avx2, avx512f (sorted)
};

HostTarget detectHostTarget();
std::string llvmVersion();  // e.g. "19.1.7"

}  // namespace dlc::codegen::llvm_backend
