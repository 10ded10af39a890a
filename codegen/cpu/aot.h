// Ahead-of-time compilation of a model for the CPU (`dlc compile`): the
// graph specialised to static input shapes and planned exactly as the JIT
// plans it (program_builder.h), the kernels compiled into an object file
// (codegen/llvm/cpu_object.h), the ProgramSpec serialised
// (runtime/spec_format.h), and a C header for the bundle.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "codegen/cpu/program_builder.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "runtime/program_spec.h"

namespace dlc::codegen::cpu {

struct AotOptions {
  std::string cpu = "host";
  std::string name = "model";  // symbol prefix; must be a C identifier
  bool embedWeights = false;
  bool emitMain = false;       // for --emit exe
  bool fuseAttention = false;  // as CpuOptions
  bool blockedLayout = true;   // as CpuOptions
};

struct AotBundle {
  std::vector<char> object;
  std::vector<uint8_t> weights;  // the weights blob (also embedded in the object with embedWeights)
  std::string header;            // NAME.h
  std::vector<runtime::TensorSpec> inputs, outputs;
  std::string target;
  size_t numKernels = 0, numSteps = 0;
};

// `shapes` gives every input with a symbolic dim its full shape. UserError
// for a name that is not a C identifier, an input left symbolic, or nodes
// that have no compiled lowering (listed all at once).
AotBundle compileAot(const ir::Graph& model, const std::map<std::string, std::vector<int64_t>>& shapes,
                     const AotOptions& options);

// What every AOT target (this one, codegen/cuda's) plans: `model`
// specialised to `shapes`, after checking that `name` is a C identifier and
// that every shape is static (UserErrors say what to pin); the pipeline
// runs with `ctx`.
ir::Graph prepareAotGraph(const ir::Graph& model, const std::map<std::string, std::vector<int64_t>>& shapes,
                          const std::string& name, const passes::PassContext& ctx = {});
// UserError listing every library call of a plan (they need the IR at run
// time: JIT only); nothing when there are none.
void refuseLibraryCalls(const std::vector<LibraryCall>& calls);

// The C header of a bundle (exposed for tests). A CUDA bundle's NAME_create
// takes a device ordinal instead of a thread count.
std::string aotHeader(const std::string& name, const std::vector<runtime::TensorSpec>& inputs,
                      const std::vector<runtime::TensorSpec>& outputs, bool embeddedWeights, const std::string& target,
                      bool cuda = false);

bool isCIdentifier(const std::string& s);

}  // namespace dlc::codegen::cpu
