// One training step of dlc::Trainer, timed: forward + backward + SGD-momentum
// update of every float weight, with a softmax cross-entropy loss on the
// model's output. Each timed step is Trainer::step(batch): the batch goes from
// host memory to the target, the loss comes back (a synchronous step), the
// parameters and momentum stay where the target keeps them (device memory on
// cuda). bench/run_cuda.py times the same work in PyTorch.
//
//   train_step_bench MODEL.onnx --data DIR [--target cuda|cpu|ref] [--lr 0.01]
//                    [--momentum 0.9] [--warmup 3] [--iterations 20] [--losses 5]
//
// DIR holds <input>.npy for the model's one input and labels.npy (int64 class
// indices). Prints one JSON line: construct_ms (training graph + compile
// plan), first_step_ms (includes NVRTC / JIT compilation and uploads),
// losses (the first --losses steps, from the initial weights), then
// min/median/p90 ms over the timed steps that follow.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "dlc/training.h"
#include "frontend/onnx/importer.h"
#include "ir/npy.h"
#include "support/error.h"

namespace {

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

int run(int argc, char** argv) {
  std::string model, data, target = "cuda";
  double lr = 0.01, momentum = 0.9;
  int warmup = 3, iterations = 20, numLosses = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) dlc::throwUserError("{} needs a value", a);
      return argv[++i];
    };
    if (a == "--data") data = next();
    else if (a == "--target") target = next();
    else if (a == "--lr") lr = std::stod(next());
    else if (a == "--momentum") momentum = std::stod(next());
    else if (a == "--warmup") warmup = std::stoi(next());
    else if (a == "--iterations") iterations = std::stoi(next());
    else if (a == "--losses") numLosses = std::stoi(next());
    else if (a.rfind("--", 0) == 0) dlc::throwUserError("unknown option {}", a);
    else if (model.empty()) model = a;
    else dlc::throwUserError("unexpected argument '{}'", a);
  }
  if (model.empty() || data.empty())
    dlc::throwUserError("usage: train_step_bench MODEL.onnx --data DIR [--target cuda|cpu|ref] [--lr X] "
                        "[--momentum M] [--warmup N] [--iterations N] [--losses N]");
  if (iterations < 1 || warmup < 0 || numLosses < 1) dlc::throwUserError("--iterations/--losses >= 1, --warmup >= 0");

  dlc::ir::Graph graph = dlc::frontend::onnx::importOnnxFile(model).graph;
  if (graph.inputs().size() != 1 || graph.outputs().size() != 1)
    dlc::throwUserError("{}: expected one input and one output, found {} and {}", model, graph.inputs().size(),
                        graph.outputs().size());
  std::string input = graph.inputs()[0]->name(), output = graph.outputs()[0]->name();
  dlc::NamedTensors batch{{input, dlc::ir::readNpy(data + "/" + input + ".npy")},
                          {"labels", dlc::ir::readNpy(data + "/labels.npy")}};

  dlc::TrainerOptions o;
  o.loss = dlc::LossSpec::crossEntropy(output, "labels");
  o.optimizer = dlc::passes::OptimizerSpec::sgd(lr, momentum);
  o.target = target;
  auto t0 = std::chrono::steady_clock::now();
  dlc::Trainer trainer(std::move(graph), o);
  double constructMs = msSince(t0);

  std::vector<double> losses;
  t0 = std::chrono::steady_clock::now();
  losses.push_back(trainer.step(batch));
  double firstStepMs = msSince(t0);
  while (int(losses.size()) < numLosses) losses.push_back(trainer.step(batch));
  for (int i = 0; i < warmup; ++i) trainer.step(batch);
  std::vector<double> samples;
  for (int i = 0; i < iterations; ++i) {
    t0 = std::chrono::steady_clock::now();
    float loss = trainer.step(batch);
    samples.push_back(msSince(t0));
    if (!std::isfinite(loss)) dlc::throwUserError("step {}: the loss is {}", numLosses + warmup + i + 1, loss);
  }
  std::sort(samples.begin(), samples.end());
  size_t n = samples.size();
  double median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  double p90 = samples[std::max<size_t>(size_t(std::ceil(0.9 * double(n))), 1) - 1];
  fmt::print(
      "{{\"model\": \"{}\", \"target\": \"{}\", \"parameters\": {}, \"construct_ms\": {:.3f}, \"first_step_ms\": {:.3f}, "
      "\"losses\": [{:.9g}], \"warmup\": {}, \"iterations\": {}, \"min_ms\": {:.4f}, \"median_ms\": {:.4f}, "
      "\"p90_ms\": {:.4f}}}\n",
      model, target, trainer.parameterNames().size(), constructMs, firstStepMs, fmt::join(losses, ", "), warmup, n,
      samples.front(), median, p90);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const dlc::UserError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "internal error: {}\n", e.what());
    return 2;
  }
}
