// Loss functions as IR compositions of differentiable ops (so that the
// autodiff pass differentiates them with the ops' own rules), with PyTorch's
// definitions and reductions.
#pragma once

#include "ir/builder.h"

namespace dlc::passes {

enum class LossReduction { Mean, Sum, None };

// torch.nn.functional.cross_entropy with class indices: logits [N, C, d...]
// (classes on axis 1), labels [N, d...] of an integer type.
ir::Value* softmaxCrossEntropy(ir::GraphBuilder& b, ir::Value* logits, ir::Value* labels,
                               LossReduction reduction = LossReduction::Mean);
// torch.nn.functional.mse_loss: (prediction - target)^2, same shapes.
ir::Value* meanSquaredError(ir::GraphBuilder& b, ir::Value* prediction, ir::Value* target,
                            LossReduction reduction = LossReduction::Mean);
// torch.nn.functional.binary_cross_entropy_with_logits:
// max(x, 0) - x * y + log(1 + exp(-|x|)), same shapes.
ir::Value* binaryCrossEntropyWithLogits(ir::GraphBuilder& b, ir::Value* logits, ir::Value* target,
                                        LossReduction reduction = LossReduction::Mean);
// Mean or sum over all elements (a scalar), or `x` itself for None.
ir::Value* reduceLoss(ir::GraphBuilder& b, ir::Value* x, LossReduction reduction);

}  // namespace dlc::passes
