#include "codegen/cpu/cpu_steps.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "ir/interpreter.h"
#include "support/error.h"

namespace dlc::codegen::cpu {

namespace {
// The pointers of a step's buffers for one run, without a heap allocation
// for the usual few buffers (steps run on every inference).
class ResolvedBuffers {
 public:
  ResolvedBuffers(const runtime::RunContext& ctx, const std::vector<runtime::BufferRef>& refs) {
    if (refs.size() > std::size(small_)) {
      large_.resize(refs.size());
      data_ = large_.data();
    }
    for (size_t i = 0; i < refs.size(); ++i) data_[i] = ctx.resolve(refs[i]);
  }
  void** data() { return data_; }

 private:
  void* small_[64];
  std::vector<void*> large_;
  void** data_ = small_;
};

// memcpy that accepts empty tensors (whose data pointer may be null).
void copyBytes(void* to, const void* from, size_t bytes) {
  if (bytes > 0) std::memcpy(to, from, bytes);
}
}  // namespace


void KernelStep::run(const runtime::RunContext& ctx) const {
  DLC_CHECK(fn_ != nullptr, "kernel {} was not compiled", kernelName_);
  ResolvedBuffers ptrs(ctx, buffers_);
  int64_t* status = status_ ? static_cast<int64_t*>(ctx.resolve(*status_)) : nullptr;
  if (status) *status = 0;
  runtime::launchKernel(ctx.pool(), fn_, ptrs.data(), extent0_, extent1_, minPointsPerTile_);
  if (status && *status != 0) throwUserError("{}", statusMessage_);
}

void GemmStep::run(const runtime::RunContext& ctx) const {
  runtime::GemmArgs args = op_.shape;
  if (op_.packedA) args.packedA = op_.packedA.get();
  else args.a = static_cast<const float*>(ctx.resolve(op_.a));
  if (op_.packedB) args.packedB = op_.packedB.get();
  else args.b = static_cast<const float*>(ctx.resolve(op_.b));
  args.c = static_cast<float*>(ctx.resolve(op_.c));
  ResolvedBuffers epilogueBuffers(ctx, op_.epilogueBuffers);
  if (epilogue_) {
    args.epilogue = epilogue_;
    args.epilogueBuffers = epilogueBuffers.data();
  }
  runtime::gemm(ctx.pool(), microKernel_, args);
}

void ConvStep::run(const runtime::RunContext& ctx) const {
  ResolvedBuffers epilogueBuffers(ctx, epilogueBuffers_);
  runtime::conv2d(ctx.pool(), microKernel_, *weights_, static_cast<const float*>(ctx.resolve(x_)),
                  static_cast<float*>(ctx.resolve(y_)), epilogue_, epilogue_ ? epilogueBuffers.data() : nullptr);
}

void CopyStep::run(const runtime::RunContext& ctx) const {
  copyBytes(ctx.resolve(to_), ctx.resolve(from_), size_t(bytes_));
}

void LibraryStep::run(const runtime::RunContext& ctx) const {
  std::vector<ir::Tensor> inputs(inputs_.size());
  std::vector<const ir::Tensor*> operands(inputs_.size(), nullptr);
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const ir::Value* v = node_.input(i);
    if (!v) continue;
    inputs[i] = ir::Tensor(v->dtype(), v->type().shape->extents());
    copyBytes(inputs[i].rawData(), ctx.resolve(inputs_[i]), inputs[i].byteSize());
    operands[i] = &inputs[i];
  }
  std::unordered_map<const ir::Value*, ir::Tensor> outer;
  for (const auto& [v, ref] : outer_) {
    ir::Tensor t(v->dtype(), v->type().shape->extents());
    copyBytes(t.rawData(), ctx.resolve(ref), t.byteSize());
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
    copyBytes(ctx.resolve(outputs_[i]), results[i].rawData(), results[i].byteSize());
  }
}

std::string LibraryStep::describe() const {
  return fmt::format("{} -> reference kernel (library call: {})", node_.describe(), reason_);
}

}  // namespace dlc::codegen::cpu
