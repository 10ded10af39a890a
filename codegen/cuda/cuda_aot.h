// Ahead-of-time compilation of a model for NVIDIA GPUs (`dlc compile
// --target cuda`): the graph planned exactly as the CUDA JIT plans it
// (cuda_program.h), its CUDA C++ compiled by NVRTC into a cubin per
// requested arch plus PTX for the oldest (which newer GPUs JIT-compile),
// and the same bundle as for the CPU (codegen/cpu/aot.h): an object file
// with the serialised program and the GPU images as data, a C header, the
// weights. libdlcrt runs it through the driver API; no GPU is needed to
// compile one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "codegen/cpu/aot.h"

namespace dlc::codegen::cuda {

struct CudaAotOptions {
  std::string name = "model";                  // symbol prefix; a C identifier
  std::vector<std::string> archs = {"sm_80", "sm_90"};  // a cubin each; PTX for the first
  bool embedWeights = false;
  bool emitMain = false;
  std::string cacheDir;  // NVRTC disk cache; empty: none
  ir::DType precision = ir::DType::F32;  // F16 / BF16: matrix products in that type (as CudaOptions)
  bool fuseAttention = true;             // as CudaOptions
};

struct CudaAotBundle {
  cpu::AotBundle bundle;
  std::string source;  // the CUDA C++ program (written as NAME.cu, for reading and debugging)
};

// UserError as compileAot's, plus for an arch this NVRTC cannot compile for.
CudaAotBundle compileCudaAot(const ir::Graph& model, const std::map<std::string, std::vector<int64_t>>& shapes,
                             const CudaAotOptions& options);

}  // namespace dlc::codegen::cuda
