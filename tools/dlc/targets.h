// The execution targets the tool can run a graph on: `ref`, the reference
// interpreter; `cpu` (LLVM); `cuda` (NVRTC, when built with DLC_CUDA).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/interpreter.h"

namespace dlc::tools {

class Executable {
 public:
  virtual ~Executable() = default;
  virtual std::vector<ir::Tensor> run(const ir::NamedTensors& inputs) = 0;
  // How each op is executed on this target, for `dlc inspect`.
  virtual std::string describe() const = 0;
  // The planned memory: arena peak against the sum of intermediates.
  virtual std::string memoryReport() const = 0;
  // One run as `dlc bench` times it, and what the time includes. Default:
  // run() on host tensors.
  struct TimedRun {
    std::function<void()> run;
    std::string what;
  };
  virtual TimedRun timedRun(const ir::NamedTensors& inputs) {
    return {[this, &inputs] { run(inputs); }, "host tensors in and out"};
  }
  // Where the time goes: the `top` slowest steps and the time by kind of
  // step (targets without steps say so).
  virtual std::string profile(const ir::NamedTensors& inputs, int iterations, size_t top) {
    (void)inputs;
    (void)iterations;
    (void)top;
    return "no per-step profile on this target\n";
  }
};

struct CompileOptions {
  bool optimize = false;                // run the default pass pipeline first
  std::set<std::string> printAfter;     // passes whose output IR to print ("all")
  int threads = 0;                      // cpu: worker threads, 0 for every core
  std::string cpu = "host";             // cpu: the LLVM CPU to compile for
  int64_t maxTensorBytes = ir::kDefaultMaxTensorBytes;  // per tensor, checked before allocating
  bool allowTf32 = false;               // cuda: cuBLAS may use TF32 tensor cores (--allow-tf32)
  ir::DType precision = ir::DType::F32; // cuda: matrix products in f16/bf16 (--precision)
  bool cudaSource = false;              // cuda: describe() ends with the CUDA C++ program (--cuda-source)
  // Attention subgraphs as one kernel (--attention-fusion on|off); unset:
  // the target's choice (on for cuda, off for cpu).
  std::optional<bool> fuseAttention;
  // cpu: 2-D convolutions on channel-blocked (NCHWc) tensors (--blocked-layout on|off).
  bool blockedLayout = true;
};

// Whether `target` fuses attention under `options`.
bool fusesAttention(const std::string& target, const CompileOptions& options);

// Compiles `graph` (consumed: passes rewrite it) for a target. Throws
// UserError for an unknown target name.
std::unique_ptr<Executable> compileForTarget(ir::Graph graph, const std::string& target,
                                             const CompileOptions& options = {});
const std::vector<std::string>& availableTargets();

}  // namespace dlc::tools
