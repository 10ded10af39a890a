// Ahead-of-time compilation for the CPU: the same module as the JIT (every
// kernel plus the GEMM micro-kernels, O3 for `--cpu` or the host), emitted
// as a position-independent ELF object for libdlcrt (CUDA bundles use the
// same object with GPU images as data instead of kernels) (runtime/include/
// dlc_runtime.h). Every kernel has internal linkage; the object exports only
// NAME_bundle (a dlcrt_bundle: the serialised program, the kernel table in
// spec order, the micro-kernel, optionally the weights) and the typed entry
// points NAME_create / NAME_run / NAME_run_arrays / NAME_destroy /
// NAME_last_error (and main for an executable), so two bundles with
// different names link into one program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/kernel/kernel_ir.h"
#include "codegen/llvm/cpu_jit.h"

namespace dlc::codegen::cpu {

// A GPU image for a CUDA bundle: a cubin ("sm_90") or PTX ("compute_80").
struct GpuImageBlob {
  std::string arch;
  std::string bytes;
};

struct AotObjectOptions {
  CpuTargetOptions target;
  std::string name;                   // symbol prefix: a C identifier
  std::vector<uint8_t> spec;          // runtime::serializeSpec(...).spec
  std::vector<uint8_t> weights;       // embedded when embedWeights
  bool embedWeights = false;
  size_t numInputs = 0, numOutputs = 0;  // the arity of NAME_run
  bool emitMain = false;              // main() calling dlcrt_main
  // CUDA bundles: no CPU kernels (pass none); the program's kernels are
  // these images, NAME_create takes a device ordinal, and `gpuTarget`
  // describes them.
  bool cuda = false;
  std::vector<GpuImageBlob> gpuImages;
  std::string gpuTarget;
};

struct AotObject {
  std::vector<char> bytes;  // the ELF object
  std::string target;       // e.g. "znver4, 512-bit vectors, micro-kernel 12x32"
};

// The kernel table holds `tableNames` in order (the spec's kernelNames:
// the kernels and convolution micro-kernels emitted into the module).
AotObject emitAotObject(const std::vector<kir::Kernel>& kernels,
                        const std::vector<runtime::ConvMicroKernelShape>& convKernels,
                        const std::vector<std::string>& tableNames, const AotObjectOptions& options);

}  // namespace dlc::codegen::cpu
