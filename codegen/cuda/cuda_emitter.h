// kir::Kernel -> CUDA C++ source for NVRTC. One lowering, two printers: the
// kernels are the ones codegen/llvm JIT-compiles for the CPU, printed as
//
//   extern "C" __global__ void __launch_bounds__(256) <name>(const f32* b0, f32* b1, ...)
//
// with one typed pointer per kernel buffer (const when read-only; f16/bf16
// buffers are u16 bits, Bool buffers u8) and no other parameter: the
// iteration space is baked in. One thread per iteration point (v0, v1) of the
// linear index i = v0 * extent1 + v1, in a grid-stride loop, so that any grid
// size is correct. Elementwise kernels of at least kMinVectorPoints points
// whose stores all go to the point's own index move their 4-byte buffers as
// 16-byte vectors (4 points per thread) when the pointers are 16-byte
// aligned, checked at run time; a scalar loop covers the remaining points.
//
// Kernels with row loops (kir::ForStmt::rowShared: softmax, layernorm,
// reductions) are cooperative: a group of rowThreads threads (a warp, or a
// whole block for long rows) runs each point; the group's threads take
// strided shares of every row loop, combine reductions with warp shuffles
// (__shfl_xor_sync) and, across warps, shared memory and __syncthreads; code
// outside row loops runs redundantly on every thread of the group and only
// lane 0 stores. Such kernels must be launched with launchShape()'s block
// size. The source also compiles as plain C++ with a shim
// (tests/cuda/host_shim.h, which runs a block's threads as fibers with
// barriers and a per-warp exchange) and runs the same on the CPU.
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

// Threads per block of every kernel without row loops (its __launch_bounds__).
inline constexpr unsigned kBlockSize = 256;
// The smallest elementwise kernel that moves its buffers as vectors.
inline constexpr int64_t kMinVectorPoints = 16384;

std::string_view prelude();

// How a kernel is launched.
struct LaunchShape {
  unsigned grid = 0;            // blocks (0: an empty iteration space, no launch)
  unsigned block = kBlockSize;  // threads per block
  unsigned rowThreads = 1;      // threads per point (1: one thread per point; else 32..1024, a power of two)
  unsigned sharedBytes = 0;     // static shared memory per block
};

// The threads that cooperate on one point: 1 without row loops, for rows
// of at most 4 elements or when extent1 >= 32 (rows strided by extent1:
// neighbouring points then read neighbouring elements), a warp (32) up to
// 2048 elements, else a block of min(1024, rows / 16 rounded up to a power
// of two) threads.
unsigned rowThreadsFor(const kir::Kernel& kernel);

// rowThreads == 0: rowThreadsFor(kernel); tests force other widths (1, or a
// power of two in [32, 1024]; kernels without row loops always use 1).
LaunchShape launchShape(const kir::Kernel& kernel, unsigned maxBlocks = 65535, unsigned rowThreads = 0);

// "64 blocks x 256 threads, a warp per row" (for dlc inspect).
std::string describeLaunch(const LaunchShape& shape);

// One kernel's source (a comment naming its buffers and launch, then the
// function). Throws InternalError when the kernel fails kir::verify.
std::string emitKernel(const kir::Kernel& kernel, unsigned rowThreads = 0);

// prelude() followed by every kernel: one NVRTC program.
std::string emitProgram(std::span<const kir::Kernel> kernels);

// The C++ type of a buffer parameter: "const f32*", "u16*", ... (launchers
// and host emulation cast their void* buffers to it).
std::string bufferParamType(const kir::BufferParam& buffer);

// Blocks to launch for a kernel (launchShape(kernel, maxBlocks).grid): enough
// for one thread (or row group) per point, at most maxBlocks (the
// grid-stride loop covers the rest); 0 for an empty space.
unsigned gridSize(const kir::Kernel& kernel, unsigned maxBlocks = 65535);

}  // namespace dlc::codegen::cuda
