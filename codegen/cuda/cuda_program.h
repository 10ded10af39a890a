// A specialised, optimised graph planned for the GPU, without touching one:
// the target-neutral ProgramSpec of codegen/cpu's planner (the same kernels,
// steps and memory plan as the CPU backend), plus what only CUDA needs (an
// im2col kernel per non-pointwise convolution, a launch shape per kernel),
// and the whole CUDA C++ program for NVRTC. runtime/cuda's ProgramRunner
// runs the spec (the JIT and AOT bundles alike). `dlc inspect --target cuda` and the CI
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
  // planned.spec is the GPU program: its kernel table is `kernels` (the
  // planned kernels, then one im2col kernel per non-pointwise convolution,
  // named by ConvStepSpec::im2col), with a launch shape per kernel.
  cpu::PlannedProgram planned;
  std::vector<kir::Kernel> kernels;
  std::string source;  // the CUDA C++ program (emitProgram(kernels))
  // planned.spec.steps[i].what of a kernel step ends with its launch shape
  // ("(launch 4 blocks x 256 threads, a warp per row, 8 rows per block)").
  std::vector<std::string> describeLines;
};

// Plans `graph` (all shapes static; it must outlive the plan).
CudaPlan planCuda(const ir::Graph& graph);

}  // namespace dlc::codegen::cuda
