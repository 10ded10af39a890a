// Shared by the CPU JIT (cpu_jit.cpp) and AOT object emission
// (cpu_object.cpp): target selection and the one LLVM module holding every
// kernel plus the GEMM micro-kernels, optimised at O3. Includes LLVM
// headers: only for codegen/llvm/*.cpp.
#pragma once

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>
#include <string>
#include <vector>

#include "codegen/llvm/cpu_jit.h"
#include "codegen/kernel/kernel_ir.h"
#include "codegen/llvm/kernel_emitter.h"

namespace dlc::codegen::cpu {

inline constexpr const char* kMicroKernelName = "dlc_gemm_micro_kernel";
inline constexpr const char* kRowKernelName = "dlc_gemm_row_kernel";

struct ResolvedTarget {
  llvm::orc::JITTargetMachineBuilder builder{llvm::Triple()};
  std::unique_ptr<llvm::TargetMachine> machine;
  llvm_backend::FunctionTarget function;
  int vectorWidth = 4;  // floats per register
  int mr = 6, nr = 8;
  // e.g. "znver4, 512-bit vectors, micro-kernel 12x32"
  std::string description() const;
};

// The target for `options.cpu` (UserError for an unknown CPU name);
// position-independent code when `pic` (objects that may go into a .so).
ResolvedTarget resolveTarget(const CpuTargetOptions& options, bool pic = false);

struct BuiltModule {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

// Every kernel plus the GEMM micro-kernels (kMicroKernelName,
// kRowKernelName) and the requested convolution micro-kernels, verified and
// optimised at O3 for the target.
BuiltModule buildModule(const std::vector<kir::Kernel>& kernels,
                        const std::vector<runtime::ConvMicroKernelShape>& convKernels, ResolvedTarget& target);

std::string errorText(llvm::Error e);

}  // namespace dlc::codegen::cpu
