// Training from C++: a forward model (an ir::Graph built with ir::GraphBuilder,
// or an .onnx file), a loss, the trainable parameters and an optimizer are
// compiled once into one training step (forward, backward and update in one
// program); step(batch) runs it and returns the loss. Parameters and
// optimizer state are carried between steps by the Trainer.
//
//   dlc::TrainerOptions o;
//   o.loss = dlc::LossSpec::crossEntropy("logits", "labels");
//   o.optimizer = dlc::passes::OptimizerSpec::adam(1e-2);
//   dlc::Trainer t(std::move(forwardGraph), o);
//   for (...) float loss = t.step({{"x", xBatch}, {"labels", yBatch}});
//   t.exportOnnx("trained.onnx");
//
// Errors (dlc::UserError): an unknown loss, labels or parameter name, a batch
// input that is missing, unknown, or of the wrong dtype or shape (naming the
// input, the expected and the found shape), a parameter with no
// differentiable path to the loss (naming the node that blocks it).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/interpreter.h"
#include "passes/losses.h"
#include "passes/optimizers.h"
#include "support/error.h"

namespace dlc {

using ir::NamedTensors;
using ir::Tensor;

// What the Trainer minimises: an existing scalar graph output, or a loss
// built from a graph output (logits / predictions) and a new labels input.
struct LossSpec {
  enum class Kind { Output, CrossEntropy, MeanSquaredError, BinaryCrossEntropyWithLogits };
  Kind kind = Kind::Output;
  std::string output;  // the loss output (Output) or the logits / predictions
  std::string labels;  // the labels input added to the graph (not for Output)
  // Labels' type: for CrossEntropy i64 class indices shaped like the logits
  // without axis 1; otherwise the output's own type (both set by default).
  passes::LossReduction reduction = passes::LossReduction::Mean;

  static LossSpec fromOutput(std::string output) { return {Kind::Output, std::move(output), ""}; }
  static LossSpec crossEntropy(std::string logits, std::string labels) {
    return {Kind::CrossEntropy, std::move(logits), std::move(labels)};
  }
  static LossSpec meanSquaredError(std::string prediction, std::string target) {
    return {Kind::MeanSquaredError, std::move(prediction), std::move(target)};
  }
  static LossSpec binaryCrossEntropyWithLogits(std::string logits, std::string target) {
    return {Kind::BinaryCrossEntropyWithLogits, std::move(logits), std::move(target)};
  }
};

struct TrainerOptions {
  LossSpec loss;
  // Trainable parameters; empty: every float constant of rank >= 1.
  std::vector<std::string> parameters;
  passes::OptimizerSpec optimizer = passes::OptimizerSpec::sgd(1e-2);
  // "cpu" (LLVM JIT), "cuda" (NVIDIA GPU: NVRTC-compiled kernels, cuBLAS,
  // CUDA graphs) or "ref" (the interpreter). On cuda the parameters and
  // optimizer state stay in device memory between steps: a step uploads the
  // batch and downloads the loss; parameter(), predict() and exportOnnx()
  // download the parameters (predict() once after each step). The step is
  // planned and its CUDA C++ generated at construction, which needs no GPU
  // (describe() works anywhere); the device is opened at the first step(),
  // which throws UserError "no CUDA device: <why>" when there is none.
  std::string target = "cpu";
  int threads = 0;             // cpu: 0 for every core
};

class Trainer {
 public:
  Trainer(ir::Graph forward, TrainerOptions options);
  static Trainer fromOnnx(const std::string& path, TrainerOptions options);
  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;
  ~Trainer();

  // One optimizer step on a batch (every forward input, plus the labels for
  // a built loss). Returns the loss before the update.
  float step(const NamedTensors& batch);
  // Runs the forward model with the current parameters; returns its outputs.
  std::vector<Tensor> predict(const NamedTensors& inputs);

  const std::vector<std::string>& parameterNames() const;
  Tensor parameter(const std::string& name) const;  // a copy
  void setParameter(const std::string& name, const Tensor& value);
  int64_t stepsTaken() const;
  // How the compiled training step runs: on cpu, every step of the program
  // and which parameter / optimizer-state updates write in place; on cuda,
  // every step and how it runs on the GPU (kernel, cuBLAS, host call).
  std::string describe() const;

  // Writes the forward model (without the loss) with the current weights.
  void exportOnnx(const std::string& path) const;
  // The forward graph with the current weights as constants.
  ir::Graph forwardGraph() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlc
