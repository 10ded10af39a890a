// Tests only: a whole CUDA program as codegen/cuda emits it (a .cu file,
// CudaModel::cudaSource(), or `dlc inspect --target cuda --cuda-source`
// output, whose program follows the "// ---- CUDA C++" line) compiled for
// the host with tests/cuda/host_shim.h into a shared library that the fake
// CUDA driver runs in place of the NVRTC image (emulation_abi.h says what it
// exports). Kernels are found by their signatures,
//
//   extern "C" __global__ void __launch_bounds__(N) NAME(const f32* b0, f32* b1, ...)
//
// and the emitter's comment lines before each ("//   b0: x f32[24]") give
// the size of every buffer, which the fake driver checks at each launch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dlc::testing::fake_cuda {

struct KernelParam {
  std::string type;      // "const f32*"
  int64_t elements = -1;  // from the comment; -1 when there is none
  bool written = false;   // not const
};

struct KernelSignature {
  std::string name;
  unsigned launchBounds = 0;
  std::vector<KernelParam> params;
};

// The CUDA program in `text` (everything after a "// ---- CUDA C++" line
// when there is one, else all of it).
std::string_view programOf(std::string_view text);

// Every kernel of a program, in order. std::runtime_error on a kernel
// signature it cannot read.
std::vector<KernelSignature> findKernels(std::string_view program);

// The host C++ of the emulation (shim, program, host entries, tables).
std::string emulationSource(std::string_view program);

// Compiles the emulation of the program in `text` into
// cacheDir/<hash of the source and compiler>/emulation.so, or finds it
// there from an earlier build (safe across concurrent processes); returns
// its path. std::runtime_error with the compiler's messages on failure.
std::filesystem::path buildEmulation(std::string_view text, const std::filesystem::path& cacheDir);

}  // namespace dlc::testing::fake_cuda
