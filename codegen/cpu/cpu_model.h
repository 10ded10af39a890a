// A model compiled for the host CPU: the graph is specialised to the actual
// input shapes, optimised (the default pass pipeline, fusion included),
// lowered to kernels, GEMMs and library calls, memory-planned and JIT-compiled
// with LLVM. Each input-shape signature is compiled once and cached, so a
// second run with the same shapes compiles nothing.
//
// Thread safety: run() may be called from several threads at once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "ir/interpreter.h"
#include "passes/pass.h"

namespace dlc::codegen::cpu {

// {output name, input name}: the output may be written over the input's
// buffer (see in_place_update.h).
using InPlacePairs = std::vector<std::pair<std::string, std::string>>;

struct CpuOptions {
  std::string cpu = "host";  // an LLVM CPU name (x86-64-v3, znver4, ...) or host
  int threads = 0;           // 0: every core
  // {output, input}: outputs that runInto may write over the caller's input
  // buffer (a training step's `p.next` over `p`); see in_place_update.h.
  InPlacePairs inPlace;
  // Attention subgraphs as one kernel each (passes::PassContext::fuseAttention).
  bool fuseAttention = false;
  // 2-D convolutions on channel-blocked (NCHWc) tensors, blocked by the
  // target's vector width (passes::PassContext::channelBlock).
  bool blockedLayout = true;
};

// The pass context of the cpu target: attention fusion as asked, and the
// blocked layout (when asked) with the vector width of `cpu`.
passes::PassContext cpuPassContext(const std::string& cpu, bool fuseAttention, bool blockedLayout);

struct MemoryReport {
  int64_t arenaBytes = 0;         // peak of the planned arena
  int64_t intermediateBytes = 0;  // all intermediates added up (no reuse)
  int64_t numIntermediates = 0, numInPlace = 0, numViews = 0;
};

class CompiledVariant;

// A copy of `model` with these input shapes (by input name; others keep
// theirs), types re-inferred and the default pass pipeline run with `ctx`:
// what each variant compiles, and what `dlc compile` (codegen/cpu/aot.h) plans.
ir::Graph specialiseGraph(const ir::Graph& model, const std::map<std::string, std::vector<int64_t>>& shapes,
                          const passes::PassContext& ctx = {});

class CpuModel {
 public:
  // Takes the imported graph. Compiles right away when every input shape is
  // static; otherwise at the first run of each shape signature.
  CpuModel(ir::Graph graph, CpuOptions options);
  ~CpuModel();

  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs);
  // Like run(), but output i is written into the storage of `*into[i]` when
  // into[i] is not null (it must have the output's dtype and shape). When
  // that storage is an input's and the pair is in CpuOptions::inPlace, the
  // program overwrites the input as it goes if that is safe for the compiled
  // schedule, else it writes a fresh buffer and copies it over at the end.
  // Returns every output (those written into share the given storage).
  std::vector<ir::Tensor> runInto(const ir::NamedTensors& inputs, std::span<ir::Tensor* const> into);
  // Runs `iterations` times and returns a table of the steps that took the
  // most time (total over the runs), one per line, slowest first.
  std::string profile(const ir::NamedTensors& inputs, int iterations, size_t top = 15);

  // Compiles (or finds) the variant for these input shapes.
  const CompiledVariant& variantFor(const std::map<std::string, std::vector<int64_t>>& inputShapes);

  // How every step of each compiled variant is implemented, with memory.
  std::string describe() const;
  MemoryReport memoryReport() const;  // of the most recently compiled variant
  size_t numCompiledVariants() const;

 private:
  // Checks the inputs against the model and finds (or compiles) their variant.
  const CompiledVariant& variantForInputs(const ir::NamedTensors& inputs);

  ir::Graph graph_;
  CpuOptions options_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlc::codegen::cpu
