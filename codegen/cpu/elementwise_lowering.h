// The meaning of each elementwise IR op as a kernel-IR expression over its
// operands' values at one point. Shared by every kernel that contains
// elementwise ops (pure elementwise groups and anchor epilogues).
#pragma once

#include <vector>

#include "codegen/kernel/kernel_ir.h"
#include "ir/graph.h"

namespace dlc::codegen {

// The dtype arithmetic on values of `t` is done in: F32 for F16/BF16, else t.
ir::DType computeType(ir::DType t);

// Dropout that is the identity: one result (no mask) and training_mode
// absent or a constant false.
bool isInferenceDropout(const ir::Node& node);

// Lowers `node` (an op with the kElementwise trait) applied to `operands`
// (one per node input, nullptr for absent optional inputs; each already in
// computeType of the input's dtype). Returns the result in computeType of the
// output's dtype, or nullptr when the op or its dtypes have no lowering (the
// caller then runs the node's reference kernel and says so).
kir::Expr lowerElementwise(const ir::Node& node, const std::vector<kir::Expr>& operands);

}  // namespace dlc::codegen
