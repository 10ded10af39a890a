// A specialised, optimised graph planned for the GPU, without touching one:
// the target-neutral ProgramSpec of codegen/cpu's planner (the same kernels,
// steps and memory plan as the CPU backend), plus what only CUDA needs (an
// im2col kernel per non-pointwise convolution and its cuBLAS plan), and the
// whole CUDA C++ program for NVRTC. `dlc inspect --target cuda` and the CI
// check that NVRTC compiles every kernel use this on machines without a GPU.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "codegen/cpu/program_builder.h"
#include "codegen/kernel/kernel_ir.h"
#include "runtime/cuda/blas_gemm.h"

namespace dlc::codegen::cuda {

struct CudaPlan {
  cpu::PlannedProgram planned;  // spec.kernelNames[i] == kernels[i].name for i < planned.kernels.size()
  // Every kernel to compile: planned.kernels, then the im2col kernels.
  std::vector<kir::Kernel> kernels;
  // Per step of planned.spec.steps: for a ConvStepSpec, its plan and the
  // index in `kernels` of its im2col kernel (-1 when pointwise); unused
  // otherwise.
  std::vector<runtime::cuda::ConvPlan> convPlans;
  std::vector<int> im2colKernel;
  int64_t convScratchElements = 0;  // the largest im2col matrix (one scratch buffer per run)
  std::string source;               // the CUDA C++ program (emitProgram(kernels))
  // planned.spec.steps[i].what of a kernel step ends with its launch shape
  // ("(launch 4 blocks x 256 threads, a warp per row, 8 rows per block)").
  std::vector<std::string> describeLines;
};

// Plans `graph` (all shapes static; it must outlive the plan).
CudaPlan planCuda(const ir::Graph& graph);

}  // namespace dlc::codegen::cuda
