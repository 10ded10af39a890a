// A step that runs one IR node's reference kernel (a library call) for ops
// that have no lowering yet: reported as such by `dlc inspect`, never chosen
// silently. It needs the IR, so only the JIT path has it (AOT refuses such
// programs); every other step is in runtime/steps.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "runtime/program.h"

namespace dlc::codegen::cpu {

// Runs one IR node's reference kernel on buffers with static shapes.
class LibraryStep : public runtime::Step {
 public:
  LibraryStep(const ir::Node& node, std::vector<runtime::BufferRef> inputs, std::vector<runtime::BufferRef> outputs,
              std::string reason)
      : node_(node), inputs_(std::move(inputs)), outputs_(std::move(outputs)), reason_(std::move(reason)) {}
  // A value of the enclosing graph that the node's subgraphs read.
  void addOuterValue(const ir::Value* v, runtime::BufferRef ref) { outer_.emplace_back(v, ref); }
  void run(const runtime::RunContext& ctx) const override;
  std::string describe() const override;

 private:
  const ir::Node& node_;
  std::vector<runtime::BufferRef> inputs_;  // BufferRef{} with fixed == nullptr for absent operands
  std::vector<runtime::BufferRef> outputs_;
  std::string reason_;
  std::vector<std::pair<const ir::Value*, runtime::BufferRef>> outer_;
};

}  // namespace dlc::codegen::cpu
