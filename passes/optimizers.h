// Optimizer updates as IR: for each parameter, an elementwise subgraph that
// computes the next parameter and optimizer state from the gradient, with
// PyTorch's formulas (torch.optim.SGD, Adam, AdamW; no dampening, no amsgrad).
// Elementwise ops only, so that fusion makes one kernel per parameter; the
// state is carried between steps by the caller (input `<p>.m` gets output
// `<p>.m.next`), which can update it in place.
#pragma once

#include <string>
#include <vector>

#include "ir/builder.h"

namespace dlc::passes {

struct OptimizerSpec {
  enum class Kind { Sgd, Adam, AdamW };
  Kind kind = Kind::Sgd;
  double lr = 1e-3;
  double weightDecay = 0.0;
  // SGD
  double momentum = 0.0;
  bool nesterov = false;
  // Adam, AdamW
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;

  static OptimizerSpec sgd(double lr, double momentum = 0.0, bool nesterov = false, double weightDecay = 0.0);
  static OptimizerSpec adam(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                            double weightDecay = 0.0);
  static OptimizerSpec adamW(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                             double weightDecay = 1e-2);
  // Whether the update reads the step count (Adam's bias correction).
  bool needsStep() const { return kind != Kind::Sgd; }
  // UserError for invalid hyperparameters (as PyTorch's constructors check).
  void validate() const;
};

// One optimizer state tensor of a parameter: the graph input holding its
// value before the step and the result holding it after (zeros initially).
struct StateSlot {
  ir::Value* input = nullptr;
  ir::Value* next = nullptr;
};

struct ParamUpdate {
  ir::Value* next = nullptr;     // the updated parameter
  std::vector<StateSlot> state;  // e.g. momentum buffer, or Adam's m and v
};

// Appends the update of `param` given its gradient. State inputs are added
// to the graph as `<param>.momentum` (SGD with momentum) or `<param>.m`,
// `<param>.v` (Adam, AdamW); `step` is an i64 scalar input holding the
// 1-based number of this update (read only when spec.needsStep()).
ParamUpdate appendOptimizerUpdate(ir::GraphBuilder& b, const OptimizerSpec& spec, ir::Value* param,
                                  ir::Value* grad, ir::Value* step);

}  // namespace dlc::passes
