// The pass registry and the default pipeline, read top to bottom.
#include "passes/pass.h"

namespace dlc::passes {

const std::vector<PassInfo>& allPasses() {
  static const std::vector<PassInfo> passes = {
      {"constant-folding", foldConstants, "evaluate nodes whose inputs are constants; Shape/Size of static shapes"},
      {"cse", eliminateCommonSubexpressions, "merge identical nodes and identical constants"},
      {"dce", eliminateDeadCode, "remove nodes and constants nothing reads"},
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
  pm.add(*findPass("constant-folding"));  // shape arithmetic becomes constants
  pm.add(*findPass("cse"));               // duplicates exposed by folding merge
  pm.add(*findPass("dce"));               // what folding and CSE left unused goes
  return pm;
}

}  // namespace dlc::passes
