// The CPU backend's JIT: kernel IR -> one LLVM module (every kernel plus the
// GEMM micro-kernel for the target) -> O3 for the target CPU -> ORC LLJIT
// machine code in this process. No LLVM types here (LLVM headers compile
// slowly; they stay in codegen/llvm/*.cpp).
//
// Math in the emitted kernels: f32 Exp/Log/Tanh/Sigmoid/Erf are inline
// polynomial approximations (a few ulp, see fast_math.h) that vectorise;
// their f64 forms and the rare functions (Sin, Asin, Cosh, ...) and Pow call
// libm scalar code; Rem on floats is fmod.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "codegen/kernel/kernel_ir.h"
#include "runtime/conv_blocked.h"
#include "runtime/gemm.h"
#include "runtime/kernel.h"

namespace dlc::codegen::cpu {

struct CpuTargetOptions {
  // "host" or an LLVM CPU name: x86-64-v3, x86-64-v4, znver4, skylake-avx512 ...
  std::string cpu = "host";
};

// Owns the JIT-compiled code; the function pointers stay valid while it
// lives; calling them from several threads at once is safe.
class JitProgram {
 public:
  virtual ~JitProgram() = default;
  virtual runtime::KernelFn kernel(const std::string& name) const = 0;  // InternalError if missing
  virtual const runtime::GemmMicroKernel& gemmMicroKernel() const = 0;
  virtual std::string targetDescription() const = 0;  // e.g. "znver4, 512-bit vectors, micro-kernel 12x32"
};

// Emits every kernel plus the GEMM micro-kernel for the target and the
// requested convolution micro-kernels (kernel(shape.name()) finds them; cast
// to runtime::ConvMicroKernelFn) into one LLVM module, optimises it at O3 for
// the target CPU, and JIT-compiles it with ORC LLJIT. An unknown CPU name is
// a UserError; a kernel that fails kir::verify an InternalError.
std::unique_ptr<JitProgram> jitCompile(const std::vector<kir::Kernel>& kernels, const CpuTargetOptions& target,
                                       const std::vector<runtime::ConvMicroKernelShape>& convKernels = {});

// The optimised LLVM IR of the same module as text (for `dlc inspect` and for
// tests that check what vectorised).
std::string optimizedLlvmIR(const std::vector<kir::Kernel>& kernels, const CpuTargetOptions& target,
                            const std::vector<runtime::ConvMicroKernelShape>& convKernels = {});

// The target's vector width in floats (16 with AVX-512, 8 with AVX2): the
// channel block of the blocked layout and of convolution micro-kernels.
int targetVectorWidth(const CpuTargetOptions& target);

}  // namespace dlc::codegen::cpu
