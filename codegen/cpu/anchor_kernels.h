// Kernel-IR lowerings of single non-elementwise ops: row reductions (Softmax,
// LogSoftmax, LayerNormalization), pooling, depthwise convolution and
// Transpose. Each returns the kernel and the value bound to each of its
// buffers, or a reason why the node has no lowering (the caller then runs
// its reference kernel and says so).
#pragma once

#include <optional>

#include <string>
#include <vector>

#include "codegen/kernel/kernel_ir.h"
#include "ir/graph.h"

namespace dlc::codegen {

struct LoweredKernel {
  kir::Kernel kernel;
  // The value bound to each kernel buffer; nullptr for the run's status word
  // (an i64 that the kernel sets to non-zero on bad data, e.g. an index out
  // of range: the step then fails with statusMessage).
  std::vector<const ir::Value*> bufferValues;
  std::string statusMessage;
  std::string unsupported;  // non-empty: no lowering, and why
  // Point (v0, v1) computes exactly element v0 * extent1 + v1 of the result
  // (with the result's last axis as the inner extent), so an elementwise
  // epilogue can be appended to the same kernel.
  bool pointPerOutputElement = false;
  // A buffer that is no value but the kernel's workspace (bufferValues holds
  // nullptr for it): the program gives it memory of its numElements for the
  // step's duration; -1 when there is none.
  int workspaceBuffer = -1;
};

// Lowers `node` if it is one of the ops above; unsupported says why not.
LoweredKernel lowerAnchorOp(const ir::Node& node);

// Whether lowerAnchorOp handles this op kind at all.
bool hasAnchorLowering(const ir::Node& node);

// A fused attention kernel ("attention" Fused body, ir/ops/fused.cpp), in
// body order; bufferValues name body values (attention_kernel.cpp).
LoweredKernel lowerAttention(const std::vector<const ir::Node*>& body);

// Data movement (Concat, Slice, Gather, Expand, OneHot), reductions over
// any axes (data_kernels.cpp) and the ScatterElements of MaxPool's gradient
// (pool_scatter_kernel.cpp).
bool hasDataLowering(const ir::Node& node);
LoweredKernel lowerDataOp(const ir::Node& node);
LoweredKernel lowerMaxPoolGradientScatter(const ir::Node& node);

// A Slice or a Gather of one constant index whose result is one contiguous
// run of its input's elements: the run's byte offset (the result can be a
// view of the input's bytes), else nullopt. An index out of range is
// nullopt: the kernel reports it.
std::optional<int64_t> contiguousSliceByteOffset(const ir::Node& node);

}  // namespace dlc::codegen
