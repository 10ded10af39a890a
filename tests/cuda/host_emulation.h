// Tests only: generated CUDA source compiled as plain C++ with host_shim.h
// (DLC_HOST_CXX, shim in DLC_CUDA_SHIM_DIR), loaded with dlopen, and run on
// the CPU block by block with the shim's fiber emulation of a block's
// threads. One host entry point per kernel takes the buffers, the grid and
// the block size (host_program.h, shared with the fake CUDA device).
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "codegen/cuda/cuda_emitter.h"
#include "codegen/kernel/kernel_ir.h"
#include "tests/cuda/host_program.h"

namespace dlc::testing {

class HostEmulation {
 public:
  // `source`: a whole program (prelude + kernels) that defines every kernel
  // of `kernels` by name.
  HostEmulation(std::string source, const std::vector<codegen::kir::Kernel>& kernels) {
    std::string entries;
    for (const codegen::kir::Kernel& k : kernels) {
      HostKernel hk{k.name, {}};
      for (const codegen::kir::BufferParam& b : k.buffers) hk.paramTypes.push_back(codegen::cuda::bufferParamType(b));
      entries += hostEntry(hk);
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("dlc_cuda_emu_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::string log = compileHostProgram(hostProgram(source, entries), dir_, dir_ / "program.so", DLC_HOST_CXX,
                                         DLC_CUDA_SHIM_DIR);
    if (!log.empty()) {
      ADD_FAILURE() << "host compile of the emitted CUDA source failed:\n"
                    << log.substr(0, 4000) << "\nsource in " << dir_;
      return;
    }
    handle_ = dlopen((dir_ / "program.so").c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) ADD_FAILURE() << dlerror();
  }
  ~HostEmulation() {
    if (handle_) dlclose(handle_);
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
  }
  HostEmulation(const HostEmulation&) = delete;
  HostEmulation& operator=(const HostEmulation&) = delete;

  bool ok() const { return handle_ != nullptr; }

  void run(const std::string& kernel, void* const* buffers, unsigned grid, unsigned block) const {
    using Fn = void (*)(void* const*, unsigned, unsigned);
    auto fn = reinterpret_cast<Fn>(dlsym(handle_, ("host_" + kernel).c_str()));
    ASSERT_NE(fn, nullptr) << kernel;
    fn(buffers, grid, block);
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  void* handle_ = nullptr;
};

}  // namespace dlc::testing
