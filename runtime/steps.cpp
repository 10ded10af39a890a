#include "runtime/steps.h"

#include <algorithm>
#include <cstring>

#include "support/error_types.h"

namespace dlc::runtime {

namespace {
// The pointers of a step's buffers for one run, without a heap allocation
// for the usual few buffers (steps run on every inference).
class ResolvedBuffers {
 public:
  ResolvedBuffers(const RunContext& ctx, const std::vector<BufferRef>& refs) {
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
}  // namespace

void copyBytes(void* to, const void* from, size_t bytes) {
  if (bytes > 0) std::memcpy(to, from, bytes);
}

KernelStep::KernelStep(KernelFn fn, std::vector<BufferRef> buffers, int64_t extent0, int64_t extent1,
                       int64_t minPointsPerTile, std::string what)
    : fn_(fn), buffers_(std::move(buffers)), extent0_(extent0), extent1_(extent1),
      minPointsPerTile_(std::max<int64_t>(1, minPointsPerTile)), what_(std::move(what)) {
  if (!fn_) throw InternalError("kernel step without a compiled kernel: " + what_);
}

void KernelStep::run(const RunContext& ctx) const {
  ResolvedBuffers ptrs(ctx, buffers_);
  int64_t* status = status_ ? static_cast<int64_t*>(ctx.resolve(*status_)) : nullptr;
  if (status) *status = 0;
  launchKernel(ctx.pool(), fn_, ptrs.data(), extent0_, extent1_, minPointsPerTile_);
  if (status && *status != 0) throw UserError(statusMessage_);
}

void GemmStep::run(const RunContext& ctx) const {
  GemmArgs args = op_.shape;
  if (op_.packedA) args.packedA = op_.packedA.get();
  else args.a = static_cast<const float*>(ctx.resolve(op_.a));
  if (op_.packedB) args.packedB = op_.packedB.get();
  else args.b = static_cast<const float*>(ctx.resolve(op_.b));
  args.c = static_cast<float*>(ctx.resolve(op_.c));
  // A graph output larger than a core's L2 share goes to memory with
  // streaming stores: the caller reads it after the run, from memory anyway.
  constexpr int64_t kStreamedOutputBytes = 1 << 20;
  args.streamC = op_.c.space == BufferRef::Space::Output && args.batch * args.M * args.N * 4 >= kStreamedOutputBytes;
  ResolvedBuffers epilogueBuffers(ctx, op_.epilogueBuffers);
  if (op_.epilogue) {
    args.epilogue = op_.epilogue;
    args.epilogueBuffers = epilogueBuffers.data();
  }
  gemm(ctx.pool(), microKernel_, args);
}

void ConvStep::run(const RunContext& ctx) const {
  ResolvedBuffers epilogueBuffers(ctx, epilogueBuffers_);
  const auto* x = static_cast<const float*>(ctx.resolve(op_.x));
  auto* y = static_cast<float*>(ctx.resolve(op_.y));
  void* const* buffers = epilogue_ ? epilogueBuffers.data() : nullptr;
  if (op_.packed)
    conv2d(ctx.pool(), microKernel_, *op_.packed, x, y, epilogue_, buffers);
  else
    conv2d(ctx.pool(), microKernel_, op_.shape, static_cast<const float*>(ctx.resolve(op_.weights)), x, y, epilogue_,
           buffers);
}

void ConvTransposeStep::run(const RunContext& ctx) const {
  const auto* weights = op_.packed ? nullptr : static_cast<const float*>(ctx.resolve(op_.weights));
  const auto* bias = bias_ ? static_cast<const float*>(ctx.resolve(*bias_)) : nullptr;
  convTranspose2d(ctx.pool(), microKernel_, op_.shape, op_.packed.get(), weights,
                  static_cast<const float*>(ctx.resolve(op_.x)), static_cast<float*>(ctx.resolve(op_.y)), bias,
                  static_cast<float*>(ctx.resolve(columns_)));
}

void BlockedConvStep::run(const RunContext& ctx) const {
  ResolvedBuffers epilogueBuffers(ctx, epilogueBuffers_);
  ConvPostOperands post{post_.ops};
  if (post_.bias) post.bias = static_cast<const float*>(ctx.resolve(*post_.bias));
  if (post_.residual) post.residual = static_cast<const float*>(ctx.resolve(*post_.residual));
  blockedConv2d(ctx.pool(), kernels_, shape_, static_cast<const float*>(ctx.resolve(x_)),
                static_cast<const float*>(ctx.resolve(weights_)), static_cast<float*>(ctx.resolve(y_)), epilogue_,
                epilogue_ ? epilogueBuffers.data() : nullptr, post);
}

void CopyStep::run(const RunContext& ctx) const { copyBytes(ctx.resolve(to_), ctx.resolve(from_), size_t(bytes_)); }

}  // namespace dlc::runtime
