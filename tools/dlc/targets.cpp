#include "tools/dlc/targets.h"

#include <fmt/format.h>

#include <algorithm>

#include "codegen/cpu/cpu_model.h"
#if DLC_HAVE_CUDA
#include "codegen/cuda/cuda_model.h"
#include "codegen/cuda/nvrtc_compiler.h"
#endif
#include "passes/pass.h"
#include "support/error.h"

namespace dlc::tools {

namespace {
class InterpreterExecutable : public Executable {
 public:
  InterpreterExecutable(ir::Graph g, int64_t maxTensorBytes) : graph_(std::move(g)), maxTensorBytes_(maxTensorBytes) {}
  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs) override {
    return ir::interpret(graph_, inputs, maxTensorBytes_);
  }
  std::string describe() const override { return "ref: every op runs its reference kernel in the interpreter\n"; }
  std::string memoryReport() const override {
    return "ref: the interpreter allocates each value and frees it after its last use; no plan\n";
  }

 private:
  ir::Graph graph_;
  int64_t maxTensorBytes_;
};

// The LLVM CPU backend: compiled per input-shape signature, cached.
class CpuExecutable : public Executable {
 public:
  CpuExecutable(ir::Graph g, const CompileOptions& options)
      : model_(std::move(g), codegen::cpu::CpuOptions{.cpu = options.cpu,
                                                      .threads = options.threads,
                                                      .fuseAttention = fusesAttention("cpu", options),
                                                      .blockedLayout = options.blockedLayout}) {}
  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs) override { return model_.run(inputs); }
  std::string describe() const override { return model_.describe(); }
  std::string profile(const ir::NamedTensors& inputs, int iterations, size_t top) override {
    return model_.profile(inputs, iterations, top);
  }
  std::string memoryReport() const override {
    if (model_.numCompiledVariants() == 0) return model_.describe();
    codegen::cpu::MemoryReport m = model_.memoryReport();
    return fmt::format(
        "memory plan (cpu): arena peak {:.3f} MiB ({} bytes) for {} intermediate tensors totalling {:.3f} MiB "
        "({} bytes): {:.1f}% of the sum; {} results computed in place, {} views without copies\n",
        double(m.arenaBytes) / (1 << 20), m.arenaBytes, m.numIntermediates, double(m.intermediateBytes) / (1 << 20),
        m.intermediateBytes, m.intermediateBytes ? 100.0 * double(m.arenaBytes) / double(m.intermediateBytes) : 0.0,
        m.numInPlace, m.numViews);
  }

 private:
  codegen::cpu::CpuModel model_;
};

#if DLC_HAVE_CUDA
// NVIDIA GPUs: CUDA C++ compiled with NVRTC. Planned without a device (so
// that `dlc inspect --target cuda` works anywhere); runs need one.
class CudaExecutable : public Executable {
 public:
  CudaExecutable(ir::Graph g, const CompileOptions& options)
      : model_(std::move(g), codegen::cuda::CudaOptions{.allowTf32 = options.allowTf32,
                                                        .precision = options.precision,
                                                        .cacheDir = codegen::cuda::defaultCacheDir(),
                                                        .fuseAttention = fusesAttention("cuda", options)}),
        source_(options.cudaSource) {}
  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs) override { return model_.run(inputs); }
  // Timed like PyTorch on the GPU: no host transfers (see deviceResidentRun).
  TimedRun timedRun(const ir::NamedTensors& inputs) override {
    return {model_.deviceResidentRun(inputs), "device-resident: inputs and outputs stay on the GPU"};
  }
  std::string describe() const override {
    std::string d = model_.describe();
    if (source_) d += "\n// ---- CUDA C++ (NVRTC " + codegen::cuda::nvrtcVersion() + ")\n" + model_.cudaSource();
    return d;
  }
  std::string memoryReport() const override {
    codegen::cpu::MemoryReport m = model_.memoryReport();
    return fmt::format("memory plan (cuda): device arena {} bytes for {} intermediate tensors totalling {} bytes\n",
                       m.arenaBytes, m.numIntermediates, m.intermediateBytes);
  }

 private:
  codegen::cuda::CudaModel model_;
  bool source_;
};
#endif
}  // namespace

bool fusesAttention(const std::string& target, const CompileOptions& options) {
  return options.fuseAttention.value_or(target == "cuda");
}

const std::vector<std::string>& availableTargets() {
  static const std::vector<std::string> targets = {"ref", "cpu", "cuda"};
  return targets;
}

std::unique_ptr<Executable> compileForTarget(ir::Graph graph, const std::string& target, const CompileOptions& options) {
  if (std::find(availableTargets().begin(), availableTargets().end(), target) == availableTargets().end())
    throwUserError("unknown target '{}'; available targets: {}", target, fmt::join(availableTargets(), ", "));
  if (options.optimize || !options.printAfter.empty()) {
    // The cpu target's context (its blocked layout), so that the passes it
    // runs again when compiling find the graph as they leave it.
    passes::PassContext ctx = target == "cpu" ? codegen::cpu::cpuPassContext(options.cpu, fusesAttention(target, options),
                                                                              options.blockedLayout)
                                              : passes::PassContext{.fuseAttention = fusesAttention(target, options)};
    passes::PassManager pm = options.optimize ? passes::defaultPipeline(ctx) : passes::PassManager();
    pm.printAfter(options.printAfter, [](const std::string& ir) { fmt::print("{}\n", ir); });
    pm.run(graph);
  }
  if (options.precision != ir::DType::F32 && target != "cuda")
    throwUserError("--precision {} is for --target cuda (the {} target computes in f32)",
                   options.precision == ir::DType::F16 ? "fp16" : "bf16", target);
  if (target == "ref") return std::make_unique<InterpreterExecutable>(std::move(graph), options.maxTensorBytes);
  if (target == "cpu") return std::make_unique<CpuExecutable>(std::move(graph), options);
#if DLC_HAVE_CUDA
  if (target == "cuda") return std::make_unique<CudaExecutable>(std::move(graph), options);
#else
  if (target == "cuda")
    throwUserError("no CUDA device: this dlc was built without CUDA (DLC_CUDA=OFF or no CUDA toolkit at build time)");
#endif
  throwUserError("unknown target '{}'; available targets: {}", target, fmt::join(availableTargets(), ", "));
}

}  // namespace dlc::tools
