// Tests only: generated CUDA source compiled as plain C++ with host_shim.h
// (DLC_HOST_CXX, shim in DLC_CUDA_SHIM_DIR), loaded with dlopen, and run on
// the CPU block by block with the shim's fiber emulation of a block's
// threads. One host entry point per kernel takes the buffers, the grid and
// the block size.
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "codegen/cuda/cuda_emitter.h"
#include "codegen/kernel/kernel_ir.h"

namespace dlc::testing {

class HostEmulation {
 public:
  // `source`: a whole program (prelude + kernels) that defines every kernel
  // of `kernels` by name.
  HostEmulation(std::string source, const std::vector<codegen::kir::Kernel>& kernels) {
    source = "#include \"host_shim.h\"\n" + source;
    for (const codegen::kir::Kernel& k : kernels) {
      source += "extern \"C\" void host_" + k.name + "(void* const* b, unsigned grid, unsigned block) {\n";
      source += "  gridDim.x = grid; blockDim.x = block;\n  auto call = [&] { " + k.name + "(";
      for (size_t i = 0; i < k.buffers.size(); ++i)
        source += (i ? ", (" : "(") + codegen::cuda::bufferParamType(k.buffers[i]) + ")b[" + std::to_string(i) + "]";
      source += "); };\n  dlc_emu::runGrid(call);\n}\n";
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("dlc_cuda_emu_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "program.cpp") << source;
    std::string cmd = std::string(DLC_HOST_CXX) + " -std=c++17 -O1 -ffp-contract=off -fPIC -shared -w -I" +
                      DLC_CUDA_SHIM_DIR + " -o " + (dir_ / "program.so").string() + " " +
                      (dir_ / "program.cpp").string() + " 2> " + (dir_ / "log.txt").string();
    int rc = std::system(cmd.c_str());
    if (rc != 0) {
      std::ifstream log(dir_ / "log.txt");
      std::string text((std::istreambuf_iterator<char>(log)), {});
      ADD_FAILURE() << "host compile of the emitted CUDA source failed:\n"
                    << text.substr(0, 4000) << "\nsource in " << dir_;
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
