// kir::Kernel -> CUDA C++ source for NVRTC. One lowering, two printers: the
// kernels are the ones codegen/llvm JIT-compiles for the CPU, printed as
//
//   extern "C" __global__ void __launch_bounds__(256) <name>(const f32* b0, f32* b1, ...)
//
// with one typed pointer per kernel buffer (const when read-only; f16/bf16
// buffers are u16 bits, Bool buffers u8) and no other parameter: the
// iteration space is baked in. One thread per iteration point (v0, v1) of the
// linear index i = v0 * extent1 + v1, in a grid-stride loop, so that any grid
// size is correct. Kernels never synchronise threads, so the source also
// compiles as plain C++ with a shim (tests/cuda/host_shim.h) and runs exactly
// the same on the CPU (host emulation tests).
//
// Every program starts with prelude() (cuda_prelude.cpp): the kernel IR's
// scalar semantics (NaN-propagating min/max, safe integer division,
// saturating casts, f16/bf16 conversions) as small device functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "codegen/kernel/kernel_ir.h"

namespace dlc::codegen::cuda {

// Threads per block of every kernel (its __launch_bounds__).
inline constexpr unsigned kBlockSize = 256;

std::string_view prelude();

// One kernel's source (a comment naming its buffers, then the function).
// Throws InternalError when the kernel fails kir::verify.
std::string emitKernel(const kir::Kernel& kernel);

// prelude() followed by every kernel: one NVRTC program.
std::string emitProgram(std::span<const kir::Kernel> kernels);

// The C++ type of a buffer parameter: "const f32*", "u16*", ... (launchers
// and host emulation cast their void* buffers to it).
std::string bufferParamType(const kir::BufferParam& buffer);

// Blocks to launch for a kernel: enough for one thread per point, at most
// maxBlocks (the grid-stride loop covers the rest); 0 for an empty space.
unsigned gridSize(const kir::Kernel& kernel, unsigned maxBlocks = 65535);

}  // namespace dlc::codegen::cuda
