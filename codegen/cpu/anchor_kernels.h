// Kernel-IR lowerings of single non-elementwise ops: row reductions (Softmax,
// LogSoftmax, LayerNormalization), pooling, depthwise convolution and
// Transpose. Each returns the kernel and the value bound to each of its
// buffers, or a reason why the node has no lowering (the caller then runs
// its reference kernel and says so).
#pragma once

#include <string>
#include <vector>

#include "codegen/kernel/kernel_ir.h"
#include "ir/graph.h"

namespace dlc::codegen {

struct LoweredKernel {
  kir::Kernel kernel;
  std::vector<const ir::Value*> bufferValues;
  std::string unsupported;  // non-empty: no lowering, and why
};

// Lowers `node` if it is one of the ops above; unsupported says why not.
LoweredKernel lowerAnchorOp(const ir::Node& node);

// Whether lowerAnchorOp handles this op kind at all.
bool hasAnchorLowering(const ir::Node& node);

}  // namespace dlc::codegen
