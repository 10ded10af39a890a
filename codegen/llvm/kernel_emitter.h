// Kernel IR -> LLVM IR for CPUs (internal to codegen/llvm: LLVM types).
//
// Each kir::Kernel becomes `void name(ptr buffers, ptr range)` with the tile
// loops for v0 in [range[0], range[1]), v1 in [range[2], range[3]) around the
// body. By the kernel contract the points of the iteration space are
// independent (GPU threads run them at once), so the innermost tile loop is
// marked llvm.loop.parallel_accesses: it vectorises without runtime alias
// checks, and in-place elementwise kernels (a written buffer that is also
// read, element i read before element i is written) stay correct, which
// noalias on the buffer pointers would not promise. Serial `For` loops inside
// the body get no such promise; they vectorise when LLVM proves (or checks at
// run time) that their accesses do not overlap, and float reductions in them
// vectorise when the kernel allows reassociation (reassoc + contract flags).
#pragma once

#include <string>

#include "codegen/kernel/kernel_ir.h"
#include "runtime/conv_blocked.h"

namespace llvm {
class Module;
class Function;
}  // namespace llvm

namespace dlc::codegen::llvm_backend {

// Function attributes every emitted function gets (target CPU and features).
struct FunctionTarget {
  std::string cpu;
  std::string features;  // "+avx2,+fma,..." or empty (implied by cpu)
};

// Sets target-cpu/target-features and nounwind on f.
void setFunctionTarget(llvm::Function& f, const FunctionTarget& target);

llvm::Function* emitKernel(llvm::Module& module, const kir::Kernel& kernel, const FunctionTarget& target);

// The GEMM micro-kernel `void name(i64 kc, ptr a, ptr b, ptr c, i64 ldc,
// i64 accumulate)` (runtime::GemmMicroKernelFn) for an mr x nr tile held in
// registers as vectors of vectorWidth floats; nr is a multiple of vectorWidth.
llvm::Function* emitGemmMicroKernel(llvm::Module& module, const std::string& name, int mr, int nr, int vectorWidth,
                                    const FunctionTarget& target);

// The row kernel `void name(i64 kc, ptr a, i64 aStride, ptr b, ptr c,
// i64 accumulate)` (runtime::GemmRowKernelFn) for panels of nr columns.
llvm::Function* emitGemmRowKernel(llvm::Module& module, const std::string& name, int nr, int vectorWidth,
                                  const FunctionTarget& target);

// The direct blocked convolution's micro-kernel `void name(ptr in, ptr w,
// ptr out, ptr args)` (runtime::ConvMicroKernelFn) named shape.name().
llvm::Function* emitConvMicroKernel(llvm::Module& module, const runtime::ConvMicroKernelShape& shape,
                                    const FunctionTarget& target);

}  // namespace dlc::codegen::llvm_backend
