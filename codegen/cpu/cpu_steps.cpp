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
  runtime::launchKernel(ctx.pool(), fn_, ptrs, extent0_, extent1_);
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
  std::vector<float> col;
  if (g.pointwise()) {
    args.b = x;
  } else {
    // col[n][(c*KH + kh)*KW + kw][oh*OW + ow], zero where the window is in the padding.
    col.resize(size_t(g.batch * depth * pixels));
    float* out = col.data();
    ctx.pool().parallelFor(g.batch * depth, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        int64_t n = row / depth, r = row % depth;
        int64_t c = r / (g.kernelH * g.kernelW), kh = r / g.kernelW % g.kernelH, kw = r % g.kernelW;
        const float* plane = x + (n * g.inChannels + c) * g.inH * g.inW;
        float* dst = out + row * pixels;
        for (int64_t oh = 0; oh < g.outH; ++oh) {
          int64_t ih = oh * g.strideH - g.padTop + kh * g.dilationH;
          float* d = dst + oh * g.outW;
          if (ih < 0 || ih >= g.inH) {
            std::fill(d, d + g.outW, 0.0f);
            continue;
          }
          const float* src = plane + ih * g.inW;
          for (int64_t ow = 0; ow < g.outW; ++ow) {
            int64_t iw = ow * g.strideW - g.padLeft + kw * g.dilationW;
            d[ow] = iw >= 0 && iw < g.inW ? src[iw] : 0.0f;
          }
        }
      }
    });
    args.b = col.data();
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
