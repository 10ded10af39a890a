// The steps a CPU program is made of (see runtime/program.h): JIT-compiled
// kernels, GEMMs with fused epilogues, copies, and library calls of an op's
// reference kernel for ops that have no lowering yet (reported as such by
// `dlc inspect`, never chosen silently).
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/conv.h"
#include "runtime/gemm.h"
#include "runtime/kernel.h"
#include "runtime/program.h"

namespace dlc::codegen::cpu {

// Launches a kernel-IR kernel over its 2-D iteration space.
class KernelStep : public runtime::Step {
 public:
  // `workPerPoint` estimates the loop iterations of one point (a row kernel
  // walks a whole row), so that tiles are sized by work, not by points.
  KernelStep(std::string kernelName, std::vector<runtime::BufferRef> buffers, int64_t extent0, int64_t extent1,
             std::string what, int64_t workPerPoint = 1)
      : kernelName_(std::move(kernelName)), buffers_(std::move(buffers)), extent0_(extent0), extent1_(extent1),
        what_(std::move(what)),
        minPointsPerTile_(std::max<int64_t>(1, runtime::kDefaultMinPointsPerTile / std::max<int64_t>(1, workPerPoint))) {}
  const std::string& kernelName() const { return kernelName_; }
  // The kernel reports bad data through an i64 status word: cleared before
  // the launch, checked after it (a UserError with `message` if set).
  void setStatus(runtime::BufferRef status, std::string message) {
    status_ = status;
    statusMessage_ = std::move(message);
  }
  void setFunction(runtime::KernelFn fn) { fn_ = fn; }
  void run(const runtime::RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  std::string kernelName_;
  std::vector<runtime::BufferRef> buffers_;
  int64_t extent0_, extent1_;
  std::string what_;
  int64_t minPointsPerTile_;
  runtime::KernelFn fn_ = nullptr;
  std::optional<runtime::BufferRef> status_;
  std::string statusMessage_;
};

// C = A x B (batched, strided), then an optional fused epilogue kernel over
// each finished tile of C.
struct GemmOperands {
  runtime::GemmArgs shape;  // sizes and strides; pointers are filled per run
  runtime::BufferRef a, b, c;
  std::shared_ptr<const runtime::PackedMatrix> packedA, packedB;  // constant operands, packed at compile time
  std::string epilogueKernel;                                     // empty: none
  std::vector<runtime::BufferRef> epilogueBuffers;
};

class GemmStep : public runtime::Step {
 public:
  GemmStep(GemmOperands operands, std::string what) : op_(std::move(operands)), what_(std::move(what)) {}
  const GemmOperands& operands() const { return op_; }
  // Sets what the JIT produced: the micro-kernel, the epilogue, and the
  // constant operands packed for that micro-kernel.
  void bind(const runtime::GemmMicroKernel& uk, runtime::KernelFn epilogue,
            std::shared_ptr<const runtime::PackedMatrix> packedA, std::shared_ptr<const runtime::PackedMatrix> packedB) {
    microKernel_ = uk;
    epilogue_ = epilogue;
    op_.packedA = std::move(packedA);
    op_.packedB = std::move(packedB);
  }
  void run(const runtime::RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  GemmOperands op_;
  std::string what_;
  runtime::GemmMicroKernel microKernel_;
  runtime::KernelFn epilogue_ = nullptr;
};

// A 1-D/2-D convolution through runtime::conv2d (implicit im2col + batched
// GEMM per group, weights packed at compile time), with the fused epilogue
// over the output viewed as [N*OC, OH*OW] rows.
class ConvStep : public runtime::Step {
 public:
  ConvStep(runtime::ConvShape shape, runtime::BufferRef x, runtime::BufferRef y, std::string epilogueKernel,
           std::vector<runtime::BufferRef> epilogueBuffers, std::string what)
      : shape_(shape), x_(x), y_(y), epilogueKernel_(std::move(epilogueKernel)),
        epilogueBuffers_(std::move(epilogueBuffers)), what_(std::move(what)) {}
  const std::string& epilogueKernel() const { return epilogueKernel_; }
  const runtime::ConvShape& shape() const { return shape_; }
  void bind(const runtime::GemmMicroKernel& uk, runtime::KernelFn epilogue,
            std::shared_ptr<const runtime::PackedConvWeights> weights) {
    microKernel_ = uk;
    epilogue_ = epilogue;
    weights_ = std::move(weights);
  }
  void run(const runtime::RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  runtime::ConvShape shape_;
  runtime::BufferRef x_, y_;
  std::string epilogueKernel_;
  std::vector<runtime::BufferRef> epilogueBuffers_;
  std::string what_;
  runtime::GemmMicroKernel microKernel_;
  runtime::KernelFn epilogue_ = nullptr;
  std::shared_ptr<const runtime::PackedConvWeights> weights_;
};

class CopyStep : public runtime::Step {
 public:
  CopyStep(runtime::BufferRef from, runtime::BufferRef to, int64_t bytes, std::string what)
      : from_(from), to_(to), bytes_(bytes), what_(std::move(what)) {}
  void run(const runtime::RunContext& ctx) const override;
  std::string describe() const override { return what_; }

 private:
  runtime::BufferRef from_, to_;
  int64_t bytes_;
  std::string what_;
};

// Runs one IR node's reference kernel on buffers with static shapes.
class LibraryStep : public runtime::Step {
 public:
  LibraryStep(const ir::Node& node, std::vector<runtime::BufferRef> inputs, std::vector<runtime::BufferRef> outputs,
              std::string reason)
      : node_(node), inputs_(std::move(inputs)), outputs_(std::move(outputs)), reason_(std::move(reason)) {}
  // A value of the enclosing graph that the node's subgraphs read.
  void addOuterValue(const ir::Value* v, runtime::BufferRef ref) { outer_.emplace_back(v, ref); }
  void run(const runtime::RunContext& ctx) const override;
  std::string describe() const override;

 private:
  const ir::Node& node_;
  std::vector<runtime::BufferRef> inputs_;  // BufferRef{} with fixed == nullptr for absent operands
  std::vector<runtime::BufferRef> outputs_;
  std::string reason_;
  std::vector<std::pair<const ir::Value*, runtime::BufferRef>> outer_;
};

}  // namespace dlc::codegen::cpu
