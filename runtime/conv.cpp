// Convolution as GEMM with packed weights and implicit im2col; see conv.h.
#include "runtime/conv.h"

#include <algorithm>

#include <string>

#include "support/error_types.h"

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
  if (!ok) {
    auto n = [](int64_t v) { return std::to_string(v); };
    throw InternalError("conv2d: invalid shape: N=" + n(s.batch) + " IC=" + n(s.inChannels) + " H=" + n(s.inH) +
                        " W=" + n(s.inW) + " OC=" + n(s.outChannels) + " kernel " + n(s.kernelH) + "x" + n(s.kernelW) +
                        " group " + n(s.group) + " stride " + n(s.strideH) + "x" + n(s.strideW) + " dilation " +
                        n(s.dilationH) + "x" + n(s.dilationW) + " pads " + n(s.padTop) + "," + n(s.padLeft) + "," +
                        n(s.padBottom) + "," + n(s.padRight));
  }
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

// The im2col matrix of one group, col[(c*KH + kh)*KW + kw][oh*OW + ow], is
// never written out: the GEMM asks for panels of it and they are packed
// straight from the input.
struct Im2colPanels {
  const ConvShape* shape;
  const float* input;
  int64_t firstChannel;
};

// GemmArgs::BPacker over the im2col matrix. A panel's pixels are walked one
// output row at a time; within a row the input column advances by the
// stride, so stride-1 rows are copies between zero-filled padding.
void packIm2colPanels(const void* context, int64_t image, float* dst, int64_t n0, int64_t width, int64_t nEnd,
                      int64_t k0, int64_t kc, int nr) {
  const auto& ctx = *static_cast<const Im2colPanels*>(context);
  const ConvShape& s = *ctx.shape;
  const int64_t OW = s.outW(), kernelArea = s.kernelH * s.kernelW;
  const float* input = ctx.input + (image * s.inChannels + ctx.firstChannel) * s.inH * s.inW;
  for (int64_t p = 0; p < width; p += nr) {
    float* panel = dst + p * kc;
    const int64_t first = n0 + p;
    const int64_t valid = std::clamp<int64_t>(nEnd - first, 0, nr);
    for (int64_t k = 0; k < kc; ++k) {
      const int64_t r = k0 + k;
      const int64_t c = r / kernelArea, kh = r / s.kernelW % s.kernelH, kw = r % s.kernelW;
      const float* plane = input + c * s.inH * s.inW;
      float* out = panel + k * nr;
      int64_t oh = first / OW, ow = first % OW;
      for (int64_t i = 0; i < valid;) {
        const int64_t run = std::min(valid - i, OW - ow);
        const int64_t ih = oh * s.strideH - s.padTop + kh * s.dilationH;
        float* o = out + i;
        if (ih < 0 || ih >= s.inH) {
          std::fill(o, o + run, 0.0f);
        } else {
          const float* row = plane + ih * s.inW;
          const int64_t iw0 = ow * s.strideW - s.padLeft + kw * s.dilationW;
          if (s.strideW == 1) {
            const int64_t lo = std::clamp<int64_t>(-iw0, 0, run), hi = std::clamp<int64_t>(s.inW - iw0, lo, run);
            std::fill(o, o + lo, 0.0f);
            std::copy(row + iw0 + lo, row + iw0 + hi, o + lo);
            std::fill(o + hi, o + run, 0.0f);
          } else {
            for (int64_t j = 0; j < run; ++j) {
              const int64_t iw = iw0 + j * s.strideW;
              o[j] = iw >= 0 && iw < s.inW ? row[iw] : 0.0f;
            }
          }
        }
        i += run;
        ow = 0;
        ++oh;
      }
      for (int64_t i = valid; i < nr; ++i) out[i] = 0.0f;
    }
  }
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

PackedConvWeights prepareConvTransposeWeights(const GemmMicroKernel& uk, const ConvShape& shape,
                                              const float* weights) {
  checkShape(shape);
  PackedConvWeights p;
  p.shape = shape;
  int64_t M = shape.outChannels / shape.group, K = shape.depth();
  for (int64_t g = 0; g < shape.group; ++g) p.groups.push_back(packA(uk, weights + g * M * K, K, M, 1, K));
  return p;
}

namespace {

// Per group: weights packed once (`packed`) or read at run time (`raw`).
void convGemms(ThreadPool& pool, const GemmMicroKernel& uk, const ConvShape& s, const PackedConvWeights* packed,
               const float* raw, const float* input, float* output, KernelFn epilogue, void* const* epilogueBuffers) {
  checkShape(s);
  if (s.batch == 0) return;
  const int64_t OH = s.outH(), OW = s.outW(), OHW = OH * OW;
  const int64_t ICg = s.inChannels / s.group, M = s.outChannels / s.group, K = s.depth();
  const int64_t HW = s.inH * s.inW;
  const bool pointwise = s.isPointwise();

  for (int64_t g = 0; g < s.group; ++g) {
    Im2colPanels panels{&s, input, g * ICg};
    GemmArgs a;
    a.batch = s.batch, a.M = M, a.N = OHW, a.K = K;
    if (packed) {
      a.packedA = &packed->groups[size_t(g)];
    } else {
      a.a = raw + g * M * K, a.aRowStride = K, a.aColStride = 1;
    }
    if (pointwise) {
      a.b = input + g * ICg * HW, a.bBatchStride = s.inChannels * HW;
      a.bRowStride = OHW, a.bColStride = 1;
    } else {
      a.bPacker = packIm2colPanels, a.bPackerContext = &panels;
    }
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

// One output plane of the adjoint: plane[ih][iw] = bias + the sum over
// (kh, kw) of cols[kh*KW + kw][oh*OW + ow] with ih = oh*strideH - padTop +
// kh*dilationH (and the same for w), taken in a fixed order.
void gatherPlane(const ConvShape& s, const float* cols, float* plane, float bias) {
  const int64_t OH = s.outH(), OW = s.outW(), OHW = OH * OW;
  std::fill(plane, plane + s.inH * s.inW, bias);
  for (int64_t kh = 0; kh < s.kernelH; ++kh)
    for (int64_t kw = 0; kw < s.kernelW; ++kw) {
      const float* col = cols + (kh * s.kernelW + kw) * OHW;
      const int64_t offH = kh * s.dilationH - s.padTop, offW = kw * s.dilationW - s.padLeft;
      // ow in [owLo, owHi) lands inside the row: 0 <= ow*strideW + offW < inW.
      const int64_t owLo = offW >= 0 ? 0 : (-offW + s.strideW - 1) / s.strideW;
      const int64_t owHi = std::min(OW, s.inW - 1 - offW < 0 ? 0 : (s.inW - 1 - offW) / s.strideW + 1);
      if (owLo >= owHi) continue;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t ih = oh * s.strideH + offH;
        if (ih < 0 || ih >= s.inH) continue;
        float* row = plane + ih * s.inW + offW;
        const float* c = col + oh * OW;
        if (s.strideW == 1) {
          for (int64_t ow = owLo; ow < owHi; ++ow) row[ow] += c[ow];
        } else {
          for (int64_t ow = owLo; ow < owHi; ++ow) row[ow * s.strideW] += c[ow];
        }
      }
    }
}

}  // namespace

void conv2d(ThreadPool& pool, const GemmMicroKernel& uk, const PackedConvWeights& weights, const float* input,
            float* output, KernelFn epilogue, void* const* epilogueBuffers) {
  convGemms(pool, uk, weights.shape, &weights, nullptr, input, output, epilogue, epilogueBuffers);
}

void conv2d(ThreadPool& pool, const GemmMicroKernel& uk, const ConvShape& shape, const float* weights,
            const float* input, float* output, KernelFn epilogue, void* const* epilogueBuffers) {
  convGemms(pool, uk, shape, nullptr, weights, input, output, epilogue, epilogueBuffers);
}

int64_t convTransposeColumnBytes(const ConvShape& s) {
  return 4 * s.batch * s.inChannels * s.kernelH * s.kernelW * s.outH() * s.outW();
}

GemmArgs convTransposeGroupGemm(const ConvShape& s) {
  const int64_t OHW = s.outH() * s.outW();
  const int64_t M = s.outChannels / s.group, K = s.depth(), kernelArea = s.kernelH * s.kernelW;
  // columns_g [K, OHW] = W_g^T [K, M] x input_g [M, OHW], per image.
  GemmArgs a;
  a.batch = s.batch, a.M = K, a.N = OHW, a.K = M;
  a.aRowStride = 1, a.aColStride = K;
  a.bBatchStride = s.outChannels * OHW, a.bRowStride = OHW, a.bColStride = 1;
  a.cBatchStride = s.inChannels * kernelArea * OHW, a.ldc = OHW;
  return a;
}

void convTranspose2d(ThreadPool& pool, const GemmMicroKernel& uk, const ConvShape& s,
                     const PackedConvWeights* packed, const float* weights, const float* input, float* output,
                     const float* bias, float* columns) {
  checkShape(s);
  if (s.batch == 0) return;
  const int64_t OHW = s.outH() * s.outW();
  const int64_t M = s.outChannels / s.group, K = s.depth(), kernelArea = s.kernelH * s.kernelW;
  for (int64_t g = 0; g < s.group; ++g) {
    GemmArgs a = convTransposeGroupGemm(s);
    if (packed) {
      a.packedA = &packed->groups[size_t(g)];
    } else {
      a.a = weights + g * M * K;
    }
    a.b = input + g * M * OHW;
    a.c = columns + g * K * OHW;
    gemm(pool, uk, a);
  }
  const int64_t planes = s.batch * s.inChannels, HW = s.inH * s.inW;
  pool.parallelFor(planes, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      gatherPlane(s, columns + p * kernelArea * OHW, output + p * HW, bias ? bias[p % s.inChannels] : 0.0f);
  });
}

}  // namespace dlc::runtime
