// Tests only: the kernel names in a module image that the real driver would
// load (an NVRTC cubin: ELF; or PTX text), so that the fake driver can check
// that the emulation it runs instead is the same program.
#pragma once

#include <optional>
#include <set>
#include <string>

namespace dlc::testing::fake_cuda {

// The entry kernels of `image` (as given to cuModuleLoadData), or nullopt
// when it is neither a 64-bit ELF cubin nor PTX text.
std::optional<std::set<std::string>> imageKernels(const void* image);

}  // namespace dlc::testing::fake_cuda
