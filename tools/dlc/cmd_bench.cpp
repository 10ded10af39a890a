// dlc bench: compile time and latency statistics of a model on a target.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <thread>

#include "frontend/onnx/importer.h"
#include "support/error.h"
#include "tools/dlc/cli_args.h"
#include "tools/dlc/commands.h"
#include "tools/dlc/model_io.h"
#include "tools/dlc/targets.h"

namespace dlc::tools {

static constexpr const char* kHelp = R"(usage: dlc bench MODEL.onnx [options]

Compiles the model for a target, runs it once (first run), then a few
warm-up runs, then times each of the measured runs with a steady clock and
prints the compile time and min/median/p90/mean latency in milliseconds.

options:
  --target T          where to run: cpu when this dlc has it, else ref
  --threads N         threads the compiled code may use (default 0: all cores;
                      the ref interpreter always runs on one thread)
  --cpu NAME          cpu: the LLVM CPU to compile for (default host)
  --iterations N      measured runs, at least (default 50)
  --min-time S        keep measuring until the measured runs add up to S
                      seconds (default 0)
  --warmup N          runs after the first and before the measured ones (default 3)
  --input NAME=FILE   an input from a .npy or ONNX TensorProto .pb file;
                      NAME=random for random data (repeatable). Inputs not
                      given are random.
  --shape N=V         bind a symbolic dim while importing (repeatable; unbound
                      dims of random inputs are 1)
  --shape INPUT=AxBxC give an input its shape (binds the symbolic dims in it)
  --seed S            seed for random inputs (default 0)
  --no-optimize       skip the optimisation passes (by default bench runs
                      them, as a deployment would; compile_ms includes them)
  --output-dir DIR    write the first run's outputs to DIR/<output name>.npy
  --profile           also print the steps that take the most time (cpu), each
                      with its median and minimum over the runs, and the
                      time by kind of step
  --profile-steps N   how many of the slowest steps --profile lists (default 15)
  --allow-tf32        cuda: cuBLAS may use TF32 tensor cores
  --precision P       cuda: fp32 (default), or fp16 / bf16: matrix products
                      (MatMul, Gemm) in that type on tensor cores, the rest
                      in f32 (like torch.autocast)
  --attention-fusion on|off  one kernel per attention (MatMul, scale/mask,
                      Softmax, MatMul); default on for cuda, off for cpu
  --blocked-layout on|off  cpu: 2-D convolutions and what follows them on
                      channel-blocked (NCHWc) tensors with direct-convolution
                      micro-kernels (default on)
  --host-transfers    cuda: time runs on host tensors, copies to and from the
                      GPU included (by default the inputs are uploaded once
                      and the outputs stay on the device, as PyTorch is timed)
  --json              print one JSON object: model, target, threads, optimize,
                      import_ms, compile_ms, first_run_ms, warmup, iterations,
                      min_ms, median_ms, p90_ms, mean_ms, max_ms, timing (what
                      a timed run includes)

compile_ms is compileForTarget (passes and code generation), import_ms the
ONNX import before it. A target that compiles per input-shape signature
(cpu) compiles a model with static shapes in compileForTarget, but one with
unbound symbolic dims at its first run: first_run_ms then holds that compile
(bind the dims with --shape). Latencies include allocating the outputs.
)";

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct LatencyStats {
  double min = 0, median = 0, p90 = 0, mean = 0, max = 0;
};

// Median (mean of the two middle values for an even count) and the p90 by
// nearest rank: the smallest sample that at least 90% of samples do not exceed.
LatencyStats summarize(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  size_t n = samples.size();
  LatencyStats s;
  s.min = samples.front();
  s.max = samples.back();
  s.median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  size_t rank = size_t(std::ceil(0.9 * double(n)));
  s.p90 = samples[std::max<size_t>(rank, 1) - 1];
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / double(n);
  return s;
}

// Imports the model with its symbolic dims bound by --shape (SYM=V, or
// INPUT=AxBxC through that input's dims), so that a compiled target sees
// static shapes. With --shape the model is imported twice (the first import
// tells which names are inputs, and their dims), and import_ms counts both.
std::pair<frontend::onnx::ImportedModel, std::map<std::string, int64_t>> importWithShapes(
    const std::string& path, const std::vector<std::string>& shapeSpecs) {
  frontend::onnx::ImportOptions options;
  std::vector<std::string> inputNames;
  std::optional<frontend::onnx::ImportedModel> unbound;
  if (!shapeSpecs.empty()) {
    unbound = frontend::onnx::importOnnxFile(path, options);
    for (const auto* v : unbound->graph.inputs()) inputNames.push_back(v->name());
  }
  ShapeSpecs specs = splitShapeSpecs(shapeSpecs, inputNames);
  options.dimBindings = parseDimBindings(specs.symbols);
  if (unbound) bindInputShapes(unbound->graph, specs.inputs, options.dimBindings);
  return {frontend::onnx::importOnnxFile(path, options), options.dimBindings};
}

std::string defaultTarget() {
  const auto& targets = availableTargets();
  return std::find(targets.begin(), targets.end(), "cpu") != targets.end() ? "cpu" : "ref";
}

}  // namespace

int cmdBench(const std::vector<std::string>& argv) {
  CliArgs args(argv, {"target", "threads", "cpu", "iterations", "min-time", "warmup", "input", "shape", "seed", "output-dir",
                      "precision", "attention-fusion", "blocked-layout", "profile-steps"},
               {"help", "json", "no-optimize", "profile", "allow-tf32", "host-transfers"});
  if (args.flag("help")) {
    fmt::print("{}", kHelp);
    return 0;
  }
  if (args.positional().size() != 1) throwUserError("expected one model file (see --help)");
  const std::string& modelPath = args.positional()[0];
  std::string target = args.value("target").value_or(defaultTarget());
  const auto& targets = availableTargets();
  if (std::find(targets.begin(), targets.end(), target) == targets.end())
    throwUserError("unknown target '{}'; available targets: {}", target, fmt::join(targets, ", "));
  int64_t threads = args.integer("threads", 0);
  int64_t iterations = args.integer("iterations", 50);
  int64_t warmup = args.integer("warmup", 3);
  double minTime = args.number("min-time", 0);
  if (threads < 0 || threads > 4096) throwUserError("--threads must be between 0 (all cores) and 4096, got {}", threads);
  if (iterations < 1) throwUserError("--iterations must be at least 1, got {}", iterations);
  if (warmup < 0) throwUserError("--warmup must be 0 or more, got {}", warmup);
  if (!(minTime >= 0) || minTime > 86400) throwUserError("--min-time must be between 0 and 86400 seconds, got {}", minTime);
  bool json = args.flag("json");

  auto start = Clock::now();
  auto [model, dims] = importWithShapes(modelPath, args.values("shape"));
  double importMs = msSince(start);
  ir::NamedTensors inputs = gatherInputs(model.graph, args, dims);
  std::vector<std::string> outputNames;
  for (const auto* v : model.graph.outputs()) outputNames.push_back(v->name());

  CompileOptions options;
  options.optimize = !args.flag("no-optimize");
  options.threads = int(threads);
  if (auto cpu = args.value("cpu")) options.cpu = *cpu;
  options.allowTf32 = args.flag("allow-tf32");
  if (auto p = args.value("precision")) options.precision = parsePrecision(*p);
  options.fuseAttention = attentionFusion(args);
  options.blockedLayout = blockedLayout(args);
  int resolvedThreads = threads > 0 ? int(threads) : int(std::max(1u, std::thread::hardware_concurrency()));

  start = Clock::now();
  auto exe = compileForTarget(std::move(model.graph), target, options);
  double compileMs = msSince(start);

  start = Clock::now();
  auto outputs = exe->run(inputs);
  double firstRunMs = msSince(start);
  if (auto outDir = args.value("output-dir")) writeOutputs(*outDir, outputNames, outputs);

  Executable::TimedRun timed = args.flag("host-transfers")
                                   ? Executable::TimedRun{[&] { exe->run(inputs); }, "host tensors in and out"}
                                   : exe->timedRun(inputs);
  for (int64_t i = 0; i < warmup; ++i) timed.run();
  std::vector<double> samples;
  double measuredMs = 0;
  while (int64_t(samples.size()) < iterations || measuredMs < minTime * 1000) {
    start = Clock::now();
    timed.run();
    samples.push_back(msSince(start));
    measuredMs += samples.back();
  }
  LatencyStats s = summarize(samples);

  if (json) {
    fmt::print(
        "{{\"model\": \"{}\", \"target\": \"{}\", \"threads\": {}, \"optimize\": {}, "
        "\"import_ms\": {:.4f}, \"compile_ms\": {:.4f}, \"first_run_ms\": {:.4f}, \"warmup\": {}, "
        "\"iterations\": {}, \"min_ms\": {:.4f}, \"median_ms\": {:.4f}, \"p90_ms\": {:.4f}, "
        "\"mean_ms\": {:.4f}, \"max_ms\": {:.4f}, \"timing\": \"{}\"}}\n",
        jsonEscape(modelPath), jsonEscape(target), resolvedThreads, options.optimize ? "true" : "false", importMs, compileMs,
        firstRunMs, warmup, samples.size(), s.min, s.median, s.p90, s.mean, s.max, jsonEscape(timed.what));
    return 0;
  }
  fmt::print("model: {}\ntarget: {}, threads: {}, {}\n", modelPath, target, resolvedThreads,
             options.optimize ? "optimised" : "not optimised");
  fmt::print("import: {:.3f} ms\ncompile: {:.3f} ms\nfirst run: {:.3f} ms\n", importMs, compileMs, firstRunMs);
  fmt::print("latency over {} runs after {} warm-up: min {:.3f} ms, median {:.3f} ms, p90 {:.3f} ms, mean {:.3f} ms, "
             "max {:.3f} ms\ntimed: {}\n",
             samples.size(), warmup, s.min, s.median, s.p90, s.mean, s.max, timed.what);
  if (args.flag("profile")) {
    int64_t steps = args.integer("profile-steps", 15);
    if (steps < 1) throwUserError("--profile-steps expects a count >= 1, got {}", steps);
    fmt::print("{}", exe->profile(inputs, int(iterations), size_t(steps)));
  }
  return 0;
}

}  // namespace dlc::tools
