// Direct convolution over channel-blocked tensors (the IR's BlockedConv,
// ir/ops/nn_conv_blocked.cpp): no im2col, no packing at run
// time. The output [N, OCb, OH, OW, B] is computed in tiles of `pixels`
// consecutive output pixels of one row times `blocks` output channel blocks,
// each tile by a JIT-compiled micro-kernel that keeps pixels x blocks
// accumulator vectors of B floats in registers while it walks the input
// channels and the kernel window: per input channel, `blocks` weight vectors
// are loaded and each pixel's input value is broadcast into its row of
// accumulators (an outer product, as in a GEMM micro-kernel whose A side is
// read straight from the input). Padding is never materialised: the driver
// passes each tile the kernel rows and columns that fall inside the input
// (pixels at the left and right edges go one at a time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/kernel.h"
#include "runtime/thread_pool.h"

namespace dlc::runtime {

// The micro-kernel: for j < blocks, p < pixels, o < B
//   out[j * outBlockStride + p * outPixelStride + o] = (accumulate ? out[...] : 0) +
//     sum over cb < inBlocks, r < kernelRows, c < kernelCols, i < channelsPerBlock of
//       in[cb * inBlockStride + r * inRowStride + c * inColStride + p * inPixelStride + i * inChannelStride]
//       * w[cb * weightBlockStride + r * weightRowStride + c * weightColStride + j * weightOutStride + i * B + o]
// with every stride in floats and `args` indexed by ConvArg. For a blocked
// input, channelsPerBlock = B and inChannelStride = 1 are compiled in. A row
// tile (pixels along an output row) has its pixel strides compiled in:
// inPixelStride = stride * (B, or 1 for a plain input), outPixelStride = B;
// a column tile (pixels down an output column: the edge pixels of the rows
// whose kernel rows are all inside) reads both from `args`.
using ConvMicroKernelFn = void (*)(const float* in, const float* w, float* out, const int64_t* args);
// Kernel tables hold micro-kernels as KernelFn (one table per program); the
// casts go through void(*)() as C++ allows between function pointer types.
inline KernelFn asKernelFn(ConvMicroKernelFn f) { return reinterpret_cast<KernelFn>(reinterpret_cast<void (*)()>(f)); }
inline ConvMicroKernelFn asConvMicroKernel(KernelFn f) {
  return reinterpret_cast<ConvMicroKernelFn>(reinterpret_cast<void (*)()>(f));
}
enum ConvArg : int {
  kConvInBlocks,
  kConvKernelRows,
  kConvKernelCols,
  kConvInBlockStride,
  kConvInRowStride,
  kConvInColStride,
  kConvInPixelStride,
  kConvInChannelStride,
  kConvChannelsPerBlock,
  kConvWeightBlockStride,
  kConvWeightRowStride,
  kConvWeightColStride,
  kConvWeightOutStride,
  kConvOutBlockStride,
  kConvOutPixelStride,
  kConvAccumulate,
  // Row tiles: this many tiles side by side along the row in one call (the
  // next tile's input `pixels` input pixel strides on, its output, and
  // residual, pixels * B floats on), so that a row's full tiles cost one
  // call. Column and edge tiles: 1.
  kConvRowTiles,
  // Post-ops, applied by the call that finishes a tile (kConvPostFinal):
  // out = clip(sum + bias[j * B + o] + residual[same index as out], lo, hi),
  // each part where its flag is set. Pointers and floats travel as bits.
  kConvPostFlags,
  kConvPostBias,      // const float*: the tile's first block's B biases
  kConvPostResidual,  // const float*: the residual at the tile's first output
  kConvPostClipLow,   // float bits
  kConvPostClipHigh,  // float bits
  kConvNumArgs,
};
enum ConvPostFlag : int64_t {
  kConvPostFinal = 1,
  kConvPostAddBias = 2,
  kConvPostAddResidual = 4,
  kConvPostClip = 8,  // NaN stays NaN (comparisons, not min/max)
};

// The elementwise epilogue a blocked conv applies in registers (instead of
// an epilogue kernel over its output): `flags` from ConvPostFlag without
// kConvPostFinal; the bias [OCb * B] and the residual (laid out as y) are
// bound per run.
struct ConvPostOps {
  int64_t flags = 0;
  float clipLow = 0, clipHigh = 0;
};

// A depthwise convolution's micro-kernels (one filter per channel, the B
// lanes of a block are B channels): for p < pixels, o < B
//   out[p * B + o] = sum over r < kernelRows, c < kernelW of
//     in[r * inRowStride + (p * stride + c * dilation) * B + o] * w[r * weightRowStride + c * B + o]
// with kernelW, stride and dilation compiled in, so that neighbouring
// pixels share the input vectors they read; and an edge kernel for one
// pixel whose kernel columns are `kernelCols` at inColStride (from args).
// Both overwrite `out`; a row kernel does kConvRowTiles tiles side by side.

// What one micro-kernel is compiled for; name() is its symbol.
struct ConvMicroKernelShape {
  enum class Kind : uint8_t { Dense, Depthwise, DepthwiseEdge };
  Kind kind = Kind::Dense;
  int lanes = 16;           // B
  bool plainInput = false;  // dense: NCHW input (channels a plane apart, any count per block)
  int pixels = 1, blocks = 1;
  int stride = 1;  // a row tile's column stride; dense: 0 for a column tile (pixel strides from args)
  // Dense: a 1x1 kernel with no padding, so every tile has its one tap
  // inside and the kernel has no loops over kernel rows and columns.
  bool singleTap = false;
  int kernelW = 0, dilation = 1;  // depthwise row tiles
  std::string name() const;
  friend bool operator==(const ConvMicroKernelShape&, const ConvMicroKernelShape&) = default;
};

struct BlockedConvShape {
  int64_t batch = 1;
  // One filter per channel: inBlocks = outBlocks, channelsPerBlock = 1,
  // weights [Cb, KH, KW, B].
  bool depthwise = false;
  bool plainInput = false;
  int64_t inBlocks = 1;          // ICb; 1 for a plain input
  int64_t channelsPerBlock = 1;  // B; IC for a plain input
  int64_t inH = 1, inW = 1;
  int64_t outBlocks = 1, outH = 1, outW = 1, lanes = 16;
  int64_t kernelH = 1, kernelW = 1, strideH = 1, strideW = 1, dilationH = 1, dilationW = 1;
  int64_t padTop = 0, padLeft = 0;
  // InternalError unless the extents are consistent.
  void check() const;
};

// A tile of output pixels x channel blocks: along a row, or down a column
// (the edge pixels of consecutive rows, which share their kernel columns).
struct ConvTile {
  int pixels = 1, blocks = 1;
  bool column = false;
  bool edge = false;  // one pixel whose kernel columns are cut by the padding
  friend bool operator==(const ConvTile&, const ConvTile&) = default;
};

// The micro-kernel a tile of `shape` runs.
ConvMicroKernelShape microKernelFor(const BlockedConvShape& shape, ConvTile tile);

// The main (row) tile for `shape` when the target has `vectorRegisters`
// vector registers (accumulators, a set of weights, a broadcast and a few
// spare must fit), chosen by a small cost model of the FMAs, loads and latency of
// every tile of the output.
ConvTile chooseConvTile(const BlockedConvShape& shape, int vectorRegisters);

// Every tile the driver calls a micro-kernel for, for `shape` and its main
// tile (what the planner compiles).
std::vector<ConvTile> convTilesUsed(const BlockedConvShape& shape, ConvTile main);

struct BlockedConvKernels {
  ConvTile main;
  std::vector<std::pair<ConvTile, ConvMicroKernelFn>> tiles;  // every tile of convTilesUsed
  ConvMicroKernelFn lookup(ConvTile t) const;  // nullptr if missing
  ConvMicroKernelFn find(ConvTile t) const;    // InternalError if missing
};

// y = BlockedConv(x, w) (see the IR op for the layouts). The epilogue, if
// any, runs on each finished output row of each block, as a range
// {row0, row1, col0, col1} of y viewed as [N * OCb, OH * OW * B].
struct ConvPostOperands {
  ConvPostOps ops;
  const float* bias = nullptr;
  const float* residual = nullptr;
};
void blockedConv2d(ThreadPool& pool, const BlockedConvKernels& kernels, const BlockedConvShape& shape,
                   const float* x, const float* w, float* y, KernelFn epilogue = nullptr,
                   void* const* epilogueBuffers = nullptr, const ConvPostOperands& post = {});

}  // namespace dlc::runtime
