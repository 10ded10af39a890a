#include "codegen/cpu/cpu_steps.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "ir/interpreter.h"
#include "support/error.h"

namespace dlc::codegen::cpu {

void KernelStep::run(const runtime::RunContext& ctx) const {
  DLC_CHECK(fn_ != nullptr, "kernel {} was not compiled", kernelName_);
  void* pointers[64];
  std::vector<void*> many;
  void** ptrs = pointers;
  if (buffers_.size() > std::size(pointers)) {
    many.resize(buffers_.size());
    ptrs = many.data();
  }
  for (size_t i = 0; i < buffers_.size(); ++i) ptrs[i] = ctx.resolve(buffers_[i]);
  int64_t* status = status_ ? static_cast<int64_t*>(ctx.resolve(*status_)) : nullptr;
  if (status) *status = 0;
  runtime::launchKernel(ctx.pool(), fn_, ptrs, extent0_, extent1_, minPointsPerTile_);
  if (status && *status != 0) throwUserError("{}", statusMessage_);
}

void GemmStep::run(const runtime::RunContext& ctx) const {
  runtime::GemmArgs args = op_.shape;
  if (op_.packedA) args.packedA = op_.packedA.get();
  else args.a = static_cast<const float*>(ctx.resolve(op_.a));
  if (op_.packedB) args.packedB = op_.packedB.get();
  else args.b = static_cast<const float*>(ctx.resolve(op_.b));
  args.c = static_cast<float*>(ctx.resolve(op_.c));
  std::vector<void*> epilogueBuffers;
  if (epilogue_) {
    for (const auto& ref : op_.epilogueBuffers) epilogueBuffers.push_back(ctx.resolve(ref));
    args.epilogue = epilogue_;
    args.epilogueBuffers = epilogueBuffers.data();
  }
  runtime::gemm(ctx.pool(), microKernel_, args);
}

namespace {

struct ConvPackContext {
  const ConvGeometry* g;
  const float* x;
};

// Packs panels of the implicit im2col matrix col[(c*KH + kh)*KW + kw][oh*OW + ow]
// of one image: the pixels of a panel are walked in order (ow, then oh), so
// there is no division per element.
void packIm2colPanels(const void* context, int64_t image, float* dst, int64_t n0, int64_t width, int64_t nEnd,
                      int64_t k0, int64_t kc, int nr) {
  const auto& ctx = *static_cast<const ConvPackContext*>(context);
  const ConvGeometry& g = *ctx.g;
  const float* input = ctx.x + image * g.inChannels * g.inH * g.inW;
  const int64_t kernelArea = g.kernelH * g.kernelW;
  for (int64_t p = 0; p < width; p += nr) {
    float* panel = dst + p * kc;
    const int64_t first = n0 + p;
    const int64_t valid = std::clamp<int64_t>(nEnd - first, 0, nr);
    const int64_t oh0 = first / g.outW, ow0 = first % g.outW;
    for (int64_t k = 0; k < kc; ++k) {
      const int64_t r = k0 + k;
      const int64_t c = r / kernelArea, kh = r / g.kernelW % g.kernelH, kw = r % g.kernelW;
      const float* plane = input + c * g.inH * g.inW;
      float* out = panel + k * nr;
      // One output row at a time: within it the input column advances by
      // the stride, so stride-1 rows are plain copies between zero edges.
      int64_t oh = oh0, ow = ow0;
      for (int64_t i = 0; i < valid;) {
        const int64_t run = std::min(valid - i, g.outW - ow);
        const int64_t ih = oh * g.strideH - g.padTop + kh * g.dilationH;
        float* o = out + i;
        if (ih < 0 || ih >= g.inH) {
          std::fill(o, o + run, 0.0f);
        } else {
          const float* row = plane + ih * g.inW;
          const int64_t iw0 = ow * g.strideW - g.padLeft + kw * g.dilationW;
          if (g.strideW == 1) {
            // Columns iw0 .. iw0 + run - 1; those outside [0, inW) are padding.
            const int64_t lo = std::clamp<int64_t>(-iw0, 0, run), hi = std::clamp<int64_t>(g.inW - iw0, lo, run);
            std::fill(o, o + lo, 0.0f);
            std::copy(row + iw0 + lo, row + iw0 + hi, o + lo);
            std::fill(o + hi, o + run, 0.0f);
          } else {
            for (int64_t j = 0; j < run; ++j) {
              const int64_t iw = iw0 + j * g.strideW;
              o[j] = iw >= 0 && iw < g.inW ? row[iw] : 0.0f;
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

void ConvStep::run(const runtime::RunContext& ctx) const {
  const float* x = static_cast<const float*>(ctx.resolve(x_));
  float* y = static_cast<float*>(ctx.resolve(y_));
  const ConvGeometry& g = g_;
  const int64_t depth = g.inChannels * g.kernelH * g.kernelW, pixels = g.outH * g.outW;
  runtime::GemmArgs args;
  args.batch = g.batch;
  args.M = g.outChannels;
  args.N = pixels;
  args.K = depth;
  args.packedA = weights_.get();
  args.c = y;
  args.ldc = pixels;
  args.cBatchStride = g.outChannels * pixels;
  args.bRowStride = pixels;
  args.bColStride = 1;
  args.bBatchStride = depth * pixels;
  ConvPackContext packContext{&g, x};
  if (g.pointwise()) {
    args.b = x;
  } else {
    args.bPacker = packIm2colPanels;
    args.bPackerContext = &packContext;
  }
  std::vector<void*> epilogueBuffers;
  if (epilogue_) {
    for (const auto& ref : epilogueBuffers_) epilogueBuffers.push_back(ctx.resolve(ref));
    args.epilogue = epilogue_;
    args.epilogueBuffers = epilogueBuffers.data();
  }
  runtime::gemm(ctx.pool(), microKernel_, args);
}

void CopyStep::run(const runtime::RunContext& ctx) const {
  std::memcpy(ctx.resolve(to_), ctx.resolve(from_), size_t(bytes_));
}

void LibraryStep::run(const runtime::RunContext& ctx) const {
  std::vector<ir::Tensor> inputs(inputs_.size());
  std::vector<const ir::Tensor*> operands(inputs_.size(), nullptr);
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const ir::Value* v = node_.input(i);
    if (!v) continue;
    inputs[i] = ir::Tensor(v->dtype(), v->type().shape->extents());
    std::memcpy(inputs[i].rawData(), ctx.resolve(inputs_[i]), inputs[i].byteSize());
    operands[i] = &inputs[i];
  }
  std::unordered_map<const ir::Value*, ir::Tensor> outer;
  for (const auto& [v, ref] : outer_) {
    ir::Tensor t(v->dtype(), v->type().shape->extents());
    std::memcpy(t.rawData(), ctx.resolve(ref), t.byteSize());
    outer.emplace(v, std::move(t));
  }
  std::vector<ir::Tensor> results = ir::evalNode(node_, operands, outer);
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const ir::Value* v = node_.output(i);
    std::vector<int64_t> planned = v->type().shape->extents();
    if (results.at(i).shape() != planned || results[i].dtype() != v->dtype())
      throwUserError("{}: produced {} {}, but the compiled program planned {} [{}]", node_.describe(),
                     ir::dtypeName(results[i].dtype()), fmt::join(results[i].shape(), "x"),
                     ir::dtypeName(v->dtype()), fmt::join(planned, "x"));
    std::memcpy(ctx.resolve(outputs_[i]), results[i].rawData(), results[i].byteSize());
  }
}

std::string LibraryStep::describe() const {
  return fmt::format("{} -> reference kernel (library call: {})", node_.describe(), reason_);
}

}  // namespace dlc::codegen::cpu
