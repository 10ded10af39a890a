// Convolution as im2col + GEMM with packed weights; see conv.h.
#include "runtime/conv.h"

#include <algorithm>

#include "support/error.h"

namespace dlc::runtime {

bool ConvShape::isPointwise() const {
  return kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0 &&
         padBottom == 0 && padRight == 0;
}

namespace {

void checkShape(const ConvShape& s) {
  bool ok = s.batch >= 0 && s.group >= 1 && s.inChannels > 0 && s.outChannels > 0 && s.inChannels % s.group == 0 &&
            s.outChannels % s.group == 0 && s.kernelH >= 1 && s.kernelW >= 1 && s.strideH >= 1 && s.strideW >= 1 &&
            s.dilationH >= 1 && s.dilationW >= 1 && s.padTop >= 0 && s.padLeft >= 0 && s.padBottom >= 0 &&
            s.padRight >= 0 && s.outH() >= 1 && s.outW() >= 1;
  if (!ok)
    throw InternalError(fmt::format(
        "conv2d: invalid shape: N={} IC={} H={} W={} OC={} kernel {}x{} group {} stride {}x{} dilation {}x{} "
        "pads {},{},{},{}",
        s.batch, s.inChannels, s.inH, s.inW, s.outChannels, s.kernelH, s.kernelW, s.group, s.strideH, s.strideW,
        s.dilationH, s.dilationW, s.padTop, s.padLeft, s.padBottom, s.padRight));
}

// The user's epilogue sees rows n*OC + oc; a group's GEMM produces rows
// n*M + m with M = OC/g and oc = g*M + m.
struct GroupEpilogue {
  KernelFn fn;
  void* const* buffers;
  int64_t M, OC, firstChannel;
};
void groupEpilogue(void* const* buffers, const int64_t* range) {
  const auto* e = static_cast<const GroupEpilogue*>(buffers[0]);
  int64_t n = range[0] / e->M;
  int64_t row0 = n * e->OC + e->firstChannel + (range[0] - n * e->M);
  int64_t mapped[4] = {row0, row0 + (range[1] - range[0]), range[2], range[3]};
  e->fn(e->buffers, mapped);
}

}  // namespace

PackedConvWeights prepareConvWeights(const GemmMicroKernel& uk, const ConvShape& shape, const float* weights) {
  checkShape(shape);
  PackedConvWeights p;
  p.shape = shape;
  int64_t M = shape.outChannels / shape.group, K = shape.depth();
  for (int64_t g = 0; g < shape.group; ++g) p.groups.push_back(packA(uk, weights + g * M * K, M, K, K, 1));
  return p;
}

void conv2d(ThreadPool& pool, const GemmMicroKernel& uk, const PackedConvWeights& weights, const float* input,
            float* output, KernelFn epilogue, void* const* epilogueBuffers) {
  const ConvShape& s = weights.shape;
  checkShape(s);
  if (s.batch == 0) return;
  const int64_t OH = s.outH(), OW = s.outW(), OHW = OH * OW;
  const int64_t ICg = s.inChannels / s.group, M = s.outChannels / s.group, K = s.depth();
  const int64_t HW = s.inH * s.inW;
  const bool pointwise = s.isPointwise();
  std::vector<float> col(pointwise ? 0 : size_t(s.batch * K * OHW));

  for (int64_t g = 0; g < s.group; ++g) {
    if (!pointwise) {
      // im2col: col[n][(c*KH + kh)*KW + kw][oh*OW + ow], zero where the window
      // reads padding.
      pool.parallelFor(s.batch * ICg, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          int64_t n = t / ICg, c = t % ICg;
          const float* in = input + (n * s.inChannels + g * ICg + c) * HW;
          float* dst = col.data() + (n * K + c * s.kernelH * s.kernelW) * OHW;
          for (int64_t kh = 0; kh < s.kernelH; ++kh)
            for (int64_t kw = 0; kw < s.kernelW; ++kw, dst += OHW) {
              int64_t dx = kw * s.dilationW - s.padLeft;
              // The ow range whose input column lies inside [0, W).
              int64_t owBegin = std::clamp<int64_t>((-dx + s.strideW - 1) / s.strideW, 0, OW);
              if (dx >= 0) owBegin = 0;
              int64_t owEnd = std::clamp<int64_t>((s.inW - dx + s.strideW - 1) / s.strideW, 0, OW);
              if (s.inW - dx <= 0) owEnd = 0;
              for (int64_t oh = 0; oh < OH; ++oh) {
                float* row = dst + oh * OW;
                int64_t ih = oh * s.strideH + kh * s.dilationH - s.padTop;
                if (ih < 0 || ih >= s.inH || owBegin >= owEnd) {
                  std::fill(row, row + OW, 0.0f);
                  continue;
                }
                const float* src = in + ih * s.inW;
                std::fill(row, row + owBegin, 0.0f);
                if (s.strideW == 1) {
                  std::copy(src + owBegin + dx, src + owEnd + dx, row + owBegin);
                } else {
                  for (int64_t ow = owBegin; ow < owEnd; ++ow) row[ow] = src[ow * s.strideW + dx];
                }
                std::fill(row + owEnd, row + OW, 0.0f);
              }
            }
        }
      });
    }
    GemmArgs a;
    a.batch = s.batch, a.M = M, a.N = OHW, a.K = K;
    a.packedA = &weights.groups[size_t(g)];
    if (pointwise) {
      a.b = input + g * ICg * HW, a.bBatchStride = s.inChannels * HW;
    } else {
      a.b = col.data(), a.bBatchStride = K * OHW;
    }
    a.bRowStride = OHW, a.bColStride = 1;
    a.c = output + g * M * OHW, a.cBatchStride = s.outChannels * OHW, a.ldc = OHW;
    GroupEpilogue mapping{epilogue, epilogueBuffers, M, s.outChannels, g * M};
    void* mappingBuffers[1] = {&mapping};
    if (epilogue && s.group == 1) {
      a.epilogue = epilogue, a.epilogueBuffers = epilogueBuffers;
    } else if (epilogue) {
      a.epilogue = groupEpilogue, a.epilogueBuffers = mappingBuffers;
    }
    gemm(pool, uk, a);
  }
}

}  // namespace dlc::runtime
