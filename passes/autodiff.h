// Reverse-mode automatic differentiation as a graph-to-graph pass: from a
// forward graph, the name of its scalar loss and the trainable parameters,
// builds one training graph that computes the loss, the gradients and (with
// an optimizer) the updated parameters and optimizer state. The gradient of
// each op is its OpDef::grad rule, written with ordinary IR ops, so the
// training graph is fused and compiled like any other graph.
//
// Pre: `forward` verifies; the loss is a float value with one element;
// parameters are float graph inputs or constants.
// Post: the result verifies. Its inputs are the forward inputs, then the
// parameters that were constants, then the optimizer state and step. Its
// outputs, in order: the loss, `<p>.grad` for each parameter, then (with an
// optimizer) `<p>.next` for each parameter and the next optimizer state
// (`<p>.momentum.next`, `<p>.m.next`, `<p>.v.next`).
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/optimizers.h"

namespace dlc::passes {

// A value carried from one training step to the next: a parameter or an
// optimizer state tensor. Before the first step it holds `initial` (the
// constant's data for a parameter that was a constant, zeros for optimizer
// state; undefined for a parameter that was already a graph input).
struct CarriedValue {
  std::string input;  // graph input read by the step
  std::string next;   // graph output holding the value after the step
  ir::Tensor initial;
};

struct TrainingGraph {
  ir::Graph graph;
  std::string loss;                     // output 0
  std::vector<std::string> parameters;  // in the order given
  std::vector<std::string> gradients;   // "<p>.grad", outputs 1..P
  // Parameters then optimizer state; empty without an optimizer.
  std::vector<CarriedValue> carried;
  // The i64 scalar input holding the 1-based step number, or "" if unused.
  std::string stepInput;
};

// Builds the training graph. Throws UserError for an unknown loss or
// parameter name, a loss that is not a float scalar, a parameter that is
// not a float input or constant, a parameter with no differentiable path to
// the loss (naming the node that blocks it), and an op without a gradient
// rule between a parameter and the loss (naming the node).
TrainingGraph buildTrainingGraph(const ir::Graph& forward, const std::string& lossName,
                                 const std::vector<std::string>& parameterNames,
                                 const OptimizerSpec* optimizer = nullptr);

}  // namespace dlc::passes
