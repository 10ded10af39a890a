// Builds the kernel-IR kernel for a group of elementwise ops that all produce
// values of one shape: a pure elementwise chain, or the epilogue of an anchor
// (GEMM, convolution, row reduction) whose result is already in a buffer.
//
// The iteration space is the output shape split in two at `splitAxis`:
// extent0 = prod(shape[:splitAxis]), extent1 = prod(shape[splitAxis:]); the
// point (v0, v1) is the element at linear index v0 * extent1 + v1. Operands
// of smaller shape are broadcast (numpy rules) by index arithmetic.
#pragma once

#include <string>
#include <vector>

#include "codegen/kernel/kernel_ir.h"
#include "ir/graph.h"

namespace dlc::codegen {

struct PointwiseGroup {
  std::vector<const ir::Node*> nodes;       // elementwise nodes, in execution order
  std::vector<const ir::Value*> outputs;    // values to store, each of `shape`
  std::vector<int64_t> shape;
  int splitAxis = -1;                       // -1: rank - 1 (the last axis is the inner loop)
  const ir::Value* anchorResult = nullptr;  // an already computed value of `shape`, read in place
  // The type the anchor result is stored in when not its own (Undefined):
  // a half-precision GEMM whose C cuBLAS writes as f32; the kernel rounds it
  // to the result's type on load, as if it had been stored so.
  ir::DType anchorResultStorage = ir::DType::Undefined;
  // Applied to the anchor result before the nodes run: r * anchorScale +
  // anchorAddendScale * addend (Gemm's alpha, beta and C; a convolution's bias).
  double anchorScale = 1.0;
  const ir::Value* anchorAddend = nullptr;
  std::vector<int64_t> anchorAddendShape;  // the addend's shape for broadcasting
  double anchorAddendScale = 1.0;
};

struct PointwiseKernel {
  kir::Kernel kernel;
  std::vector<const ir::Value*> bufferValues;  // the value bound to each kernel buffer
  const ir::Node* unsupported = nullptr;       // set (and kernel empty) when a node has no lowering
};

PointwiseKernel buildPointwiseKernel(const std::string& name, const PointwiseGroup& group);

// Appends the group's computation to `kernel`, an existing kernel over the
// same iteration space whose point (v0, v1) has produced element
// v0 * extent1 + v1 of the group's anchor result (a pooling or depthwise
// kernel): one kernel, no second pass over memory. Buffers already bound to
// a value are reused. On an op without a lowering, sets `unsupported` and
// leaves the kernel unusable.
void appendPointwise(PointwiseKernel& kernel, const PointwiseGroup& group);

// Index of the element of a value of `valueShape` that broadcasts to the
// point (v0, v1) of the iteration space of `shape` split at `splitAxis`.
kir::Expr broadcastIndex(const kir::Kernel& k, const std::vector<int64_t>& shape, int splitAxis,
                         const std::vector<int64_t>& valueShape);

}  // namespace dlc::codegen
