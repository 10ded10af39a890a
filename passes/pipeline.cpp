// The pass registry and the default pipeline, read top to bottom.
#include "passes/pass.h"

namespace dlc::passes {

const std::vector<PassInfo>& allPasses() {
  static const std::vector<PassInfo> passes = {
      {"constant-folding", foldConstants, "evaluate nodes whose inputs are constants; Shape/Size of static shapes"},
      {"cse", eliminateCommonSubexpressions, "merge identical nodes and identical constants"},
      {"dce", eliminateDeadCode, "remove nodes and constants nothing reads"},
      {"simplify-layout", simplifyLayout, "merge transposes and reshape chains; drop identity transposes and reshapes"},
      {"fold-batchnorm", foldBatchNorm, "fold inference BatchNormalization into Conv/Gemm/MatMul, else into Mul+Add"},
      {"blocked-layout", blockChannels, "2-D convolutions and what follows them on channel-blocked (NCHWc) tensors"},
      {"fusion", fuse, "group anchors with elementwise epilogues and elementwise chains into Fused kernels"},
  };
  return passes;
}

const PassInfo* findPass(const std::string& name) {
  for (const PassInfo& p : allPasses())
    if (name == p.name) return &p;
  return nullptr;
}

PassManager defaultPipeline(PassContext ctx) {
  PassManager pm(ctx);
  pm.add(*findPass("constant-folding"));  // shape arithmetic becomes constants (re-inferring as it goes)
  pm.add(*findPass("simplify-layout"));   // static reshape chains become one Reshape; transposes merge
  pm.add(*findPass("fold-batchnorm"));    // BN into the preceding Conv/Gemm, or a Mul+Add epilogue
  pm.add(*findPass("cse"));               // duplicates exposed by folding merge
  pm.add(*findPass("dce"));               // what folding, rewrites and CSE left unused goes
  pm.add(*findPass("blocked-layout"));    // the CPU's convolutions in NCHWc (PassContext::channelBlock)
  pm.add(*findPass("dce"));               // the plain nodes it replaced
  pm.add(*findPass("fusion"));            // last: kernels for the code generator
  return pm;
}

}  // namespace dlc::passes
