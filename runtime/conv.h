// NCHW f32 2-D convolution through runtime::gemm (1-D convolution is 2-D
// with H = 1 and kernelH = 1). Per group, the weights are the packed A side
// ([OC/g, IC/g*KH*KW], packed once by prepareConvWeights); the B side is the
// im2col matrix of each image ([IC/g*KH*KW, OH*OW]), packed panel by panel
// straight from the input (it is never written out), or the input itself
// for 1x1 kernels with stride 1 and no padding; images are the GEMM's batch.
// Depthwise convolutions (group == IC, one channel per group) are left to the
// kernel-IR path: here they would be many tiny GEMMs.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/gemm.h"
#include "runtime/kernel.h"
#include "runtime/thread_pool.h"

namespace dlc::runtime {

struct ConvShape {
  int64_t batch = 1, inChannels = 0, inH = 1, inW = 0;
  int64_t outChannels = 0, kernelH = 1, kernelW = 1;
  int64_t group = 1;
  int64_t strideH = 1, strideW = 1;
  int64_t dilationH = 1, dilationW = 1;
  int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;

  int64_t outH() const { return (inH + padTop + padBottom - dilationH * (kernelH - 1) - 1) / strideH + 1; }
  int64_t outW() const { return (inW + padLeft + padRight - dilationW * (kernelW - 1) - 1) / strideW + 1; }
  // The GEMM depth per group: IC/g * KH * KW.
  int64_t depth() const { return inChannels / group * kernelH * kernelW; }
  // 1x1, stride 1, no padding: the input is the B matrix as it is.
  bool isPointwise() const;
};

// The weights [OC, IC/g, KH, KW] packed per group for one micro-kernel shape.
struct PackedConvWeights {
  ConvShape shape;
  std::vector<PackedMatrix> groups;
};

// Checks the shape (InternalError on inconsistent channels or an empty
// output) and packs the weights.
PackedConvWeights prepareConvWeights(const GemmMicroKernel& uk, const ConvShape& shape, const float* weights);

// The weights of the convolution's adjoint (ConvTranspose): per group the
// transposed matrix W_g^T [IC/g*KH*KW, OC/g], packed once.
PackedConvWeights prepareConvTransposeWeights(const GemmMicroKernel& uk, const ConvShape& shape, const float* weights);

// output[N, OC, OH, OW] = conv(input[N, IC, H, W], weights). The epilogue,
// if any, is called once per finished tile of the output viewed as
// [N*OC, OH*OW] rows: range = {row0, row1, col0, col1}, row = n*OC + oc,
// col = oh*OW + ow (bias and activations run there while the tile is hot).
void conv2d(ThreadPool& pool, const GemmMicroKernel& uk, const PackedConvWeights& weights, const float* input,
            float* output, KernelFn epilogue = nullptr, void* const* epilogueBuffers = nullptr);
// The same with weights [OC, IC/g, KH, KW] read at run time (a training
// graph's parameters): the GEMM packs its A blocks from them tile by tile,
// so nothing is allocated for them and several runs may share the shape.
void conv2d(ThreadPool& pool, const GemmMicroKernel& uk, const ConvShape& shape, const float* weights,
            const float* input, float* output, KernelFn epilogue = nullptr, void* const* epilogueBuffers = nullptr);

// ConvTranspose as the adjoint of the convolution `shape`:
// output[N, IC, H, W] = conv^T(input[N, OC, OH, OW], weights) + bias[IC].
// Per group, one batched GEMM writes the columns W_g^T x input_g of every
// image into `columns` ([N, IC, KH*KW, OH*OW], convTransposeColumnBytes),
// then each output plane gathers the columns that map to it (parallel over
// planes, a fixed summation order: deterministic, no atomics). `packed` is
// from prepareConvTransposeWeights, or null to read `weights` at run time.
int64_t convTransposeColumnBytes(const ConvShape& shape);
// The GEMM of each group, sizes and strides only (pointers unset): group g
// reads the weights from element g * OC/group * depth, the input from
// g * OC/group * OH*OW, and writes the columns from g * depth * OH*OW.
GemmArgs convTransposeGroupGemm(const ConvShape& shape);
void convTranspose2d(ThreadPool& pool, const GemmMicroKernel& uk, const ConvShape& shape,
                     const PackedConvWeights* packed, const float* weights, const float* input, float* output,
                     const float* bias, float* columns);

}  // namespace dlc::runtime
