// The steps a compiled CPU program is made of (see runtime/program.h):
// kernel launches, GEMMs and convolutions with fused epilogues, and copies.
// The JIT path (codegen/cpu) and AOT bundles (libdlcrt) instantiate these
// same classes from a ProgramSpec (runtime/program_spec.h), so both run the
// same code. Steps that need the IR (library calls of reference kernels)
// live in codegen/cpu.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/conv.h"
#include "runtime/conv_blocked.h"
#include "runtime/gemm.h"
#include "runtime/kernel.h"
#include "runtime/program.h"

namespace dlc::runtime {

// Launches a compiled kernel over its 2-D iteration space.
class KernelStep : public Step {
 public:
  KernelStep(KernelFn fn, std::vector<BufferRef> buffers, int64_t extent0, int64_t extent1, int64_t minPointsPerTile,
             std::string what);
  // The kernel reports bad data through an i64 status word: cleared before
  // the launch, checked after it (a UserError with `message` if set).
  void setStatus(BufferRef status, std::string message) {
    status_ = status;
    statusMessage_ = std::move(message);
  }
  void run(const RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  KernelFn fn_;
  std::vector<BufferRef> buffers_;
  int64_t extent0_, extent1_;
  int64_t minPointsPerTile_;
  std::string what_;
  std::optional<BufferRef> status_;
  std::string statusMessage_;
};

// C = A x B (batched, strided), then an optional fused epilogue kernel over
// each finished tile of C.
struct GemmOperands {
  GemmArgs shape;  // sizes and strides; pointers are filled per run
  BufferRef a, b, c;
  std::shared_ptr<const PackedMatrix> packedA, packedB;  // constant operands, packed once (instead of a, b)
  KernelFn epilogue = nullptr;
  std::vector<BufferRef> epilogueBuffers;
};

class GemmStep : public Step {
 public:
  GemmStep(const GemmMicroKernel& uk, GemmOperands operands, std::string what)
      : microKernel_(uk), op_(std::move(operands)), what_(std::move(what)) {}
  void run(const RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  GemmMicroKernel microKernel_;
  GemmOperands op_;
  std::string what_;
};

// A 1-D/2-D convolution through conv2d (implicit im2col + batched GEMM per
// group), with the fused epilogue over the output viewed as [N*OC, OH*OW]
// rows. The weights are packed once (a constant) or, when `packed` is null,
// read from `weights` at each run (a training graph's parameters).
struct ConvOperands {
  ConvShape shape;
  std::shared_ptr<const PackedConvWeights> packed;
  BufferRef weights;  // when packed is null
  BufferRef x, y;
};

class ConvStep : public Step {
 public:
  ConvStep(const GemmMicroKernel& uk, ConvOperands operands, KernelFn epilogue, std::vector<BufferRef> epilogueBuffers,
           std::string what)
      : microKernel_(uk), op_(std::move(operands)), epilogue_(epilogue), epilogueBuffers_(std::move(epilogueBuffers)),
        what_(std::move(what)) {}
  void run(const RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  GemmMicroKernel microKernel_;
  ConvOperands op_;
  KernelFn epilogue_;
  std::vector<BufferRef> epilogueBuffers_;
  std::string what_;
};

// ConvTranspose through convTranspose2d (GEMM into arena columns, then a
// col2im gather), with an optional bias. `op.shape` is the geometry of the
// convolution it is the adjoint of: x is shaped as that convolution's output.
class ConvTransposeStep : public Step {
 public:
  ConvTransposeStep(const GemmMicroKernel& uk, ConvOperands operands, std::optional<BufferRef> bias,
                    BufferRef columns, std::string what)
      : microKernel_(uk), op_(std::move(operands)), bias_(bias), columns_(columns), what_(std::move(what)) {}
  void run(const RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  GemmMicroKernel microKernel_;
  ConvOperands op_;
  std::optional<BufferRef> bias_;
  BufferRef columns_;
  std::string what_;
};

// A dense BlockedConv through blockedConv2d, with the fused epilogue over
// each finished output row of a block.
class BlockedConvStep : public Step {
 public:
  struct Post {
    ConvPostOps ops;
    std::optional<BufferRef> bias, residual;
  };
  BlockedConvStep(BlockedConvShape shape, BlockedConvKernels kernels, BufferRef x, BufferRef weights, BufferRef y,
                  Post post, KernelFn epilogue, std::vector<BufferRef> epilogueBuffers, std::string what)
      : shape_(shape), kernels_(std::move(kernels)), x_(x), weights_(weights), y_(y), post_(post), epilogue_(epilogue),
        epilogueBuffers_(std::move(epilogueBuffers)), what_(std::move(what)) {}
  void run(const RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  BlockedConvShape shape_;
  BlockedConvKernels kernels_;
  BufferRef x_, weights_, y_;
  Post post_;
  KernelFn epilogue_;
  std::vector<BufferRef> epilogueBuffers_;
  std::string what_;
};

class CopyStep : public Step {
 public:
  CopyStep(BufferRef from, BufferRef to, int64_t bytes, std::string what)
      : from_(from), to_(to), bytes_(bytes), what_(std::move(what)) {}
  void run(const RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  BufferRef from_, to_;
  int64_t bytes_;
  std::string what_;
};

// memcpy that accepts empty tensors (whose data pointer may be null).
void copyBytes(void* to, const void* from, size_t bytes);

}  // namespace dlc::runtime
