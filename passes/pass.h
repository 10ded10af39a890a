// Passes rewrite an IR graph in place. One pass, one file, one signature:
//   bool run(ir::Graph&, const PassContext&)   returns whether it changed the graph.
// The pipeline is data (passes/pipeline.cpp), run by the PassManager, which
// verifies the graph after each pass and can print it.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace dlc::passes {

struct PassContext {
  // Constant folding leaves results larger than this many elements alone
  // (folding them would bloat the model rather than speed it up).
  int64_t maxFoldedElements = int64_t(1) << 20;
  // Fusion forms attention kernels (MatMul, scale and mask, Softmax, MatMul
  // as one kernel; passes/fusion.cpp). The CUDA target asks for them; on the
  // CPU the GEMM micro-kernels compute the attention's products faster than
  // the attention kernel's loops (bench/RESULTS.md), so it does not.
  bool fuseAttention = false;
  // blocked-layout: 2-D convolutions and what follows them run on tensors
  // whose channels are blocked by this many lanes (the CPU's floats per
  // vector register: 16 with AVX-512, 8 with AVX2); 0 leaves the layout
  // alone (the reference interpreter, CUDA).
  int64_t channelBlock = 0;
};

using PassFn = bool (*)(ir::Graph&, const PassContext&);

struct PassInfo {
  const char* name;
  PassFn run;
  const char* summary;
};

// The passes, each defined in its own file.
bool eliminateDeadCode(ir::Graph& graph, const PassContext& ctx);    // dead_code.cpp
bool foldConstants(ir::Graph& graph, const PassContext& ctx);        // constant_folding.cpp
bool eliminateCommonSubexpressions(ir::Graph& graph, const PassContext& ctx);  // cse.cpp
bool simplifyLayout(ir::Graph& graph, const PassContext& ctx);       // simplify_layout.cpp
bool foldBatchNorm(ir::Graph& graph, const PassContext& ctx);        // fold_batchnorm.cpp
bool blockChannels(ir::Graph& graph, const PassContext& ctx);        // blocked_layout.cpp
bool fuse(ir::Graph& graph, const PassContext& ctx);                 // fusion.cpp

// Not in the default pipeline (it changes results): every f32 MatMul, Gemm
// and ungrouped Conv computed in `half` (f16 or bf16) between casts
// (autocast.cpp).
bool autocastMatrixProducts(ir::Graph& graph, ir::DType half);

// Every pass by name; nullptr for an unknown name.
const PassInfo* findPass(const std::string& name);
const std::vector<PassInfo>& allPasses();

class PassManager {
 public:
  explicit PassManager(PassContext ctx = {}) : ctx_(ctx) {}
  void add(const PassInfo& pass) { passes_.push_back(&pass); }
  // Prints the graph after each pass named here ("all" for every pass).
  void printAfter(std::set<std::string> names, std::function<void(const std::string&)> sink);
  // Runs the passes in order, verifying after each; throws InternalError
  // naming the pass if one leaves the graph invalid. Returns whether any changed it.
  bool run(ir::Graph& graph) const;

 private:
  PassContext ctx_;
  std::vector<const PassInfo*> passes_;
  std::set<std::string> printAfter_;
  std::function<void(const std::string&)> sink_;
};

// The default inference pipeline (passes/pipeline.cpp).
PassManager defaultPipeline(PassContext ctx = {});

}  // namespace dlc::passes
