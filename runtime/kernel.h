// Compiled kernels (kernel IR lowered by an emitter) and how the runtime
// launches them over their 2-D iteration space. See codegen/kernel/kernel_ir.h
// for the calling convention.
#pragma once

#include <cstdint>

#include "runtime/thread_pool.h"

namespace dlc::runtime {

// Executes the tile range = {begin0, end0, begin1, end1} of a kernel;
// buffers[i] is the kernel's i-th buffer.
using KernelFn = void (*)(void* const* buffers, const int64_t* range);

// The default minimum number of iteration points per tile: smaller tiles
// cost more in scheduling than they gain in parallelism for elementwise
// kernels.
inline constexpr int64_t kDefaultMinPointsPerTile = 1024;

// Splits [0, extent0) x [0, extent1) into tiles, at most one per thread and
// at least minPointsPerTile points each (when the space has that many): along
// extent0 when it has at least as many rows as tiles, else extent0 by rows
// and extent1 by columns. Calls fn(buffers, range) once per tile, on the pool.
// An empty space calls nothing.
void launchKernel(ThreadPool& pool, KernelFn fn, void* const* buffers, int64_t extent0, int64_t extent1);
// The same with an explicit grain: kernels whose points are expensive (a row
// of a reduction each) pass 1.
void launchKernel(ThreadPool& pool, KernelFn fn, void* const* buffers, int64_t extent0, int64_t extent1,
                  int64_t minPointsPerTile);

}  // namespace dlc::runtime
