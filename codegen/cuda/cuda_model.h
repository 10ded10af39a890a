// A model compiled for an NVIDIA GPU: like codegen/cpu's CpuModel, the graph
// is specialised to the input shapes, optimised and planned (the same
// ProgramSpec: kernels, GEMMs, convolutions, copies, library calls, one
// memory plan), then:
//  - every kernel is printed as CUDA C++ (cuda_emitter.h) and compiled by
//    NVRTC as one program for the device's arch (disk-cached);
//  - GEMMs run on cuBLAS (FP32; TF32 only with allowTf32) followed by their
//    fused epilogue kernel; convolutions as an im2col kernel (none for 1x1)
//    + one cuBLAS GEMM per group + the epilogue;
//  - ops without a kernel copy their operands to the host, run the reference
//    kernel and copy the results back (describe() lists them);
//  - each run uses one run slot: a device arena from the memory plan, device
//    inputs/outputs, a stream and a cuBLAS handle; the first run on a slot
//    captures the whole program as a CUDA graph, later runs replay it
//    (programs with library calls run step by step instead).
//
// Planning needs no GPU (describe() and cudaSource() work without one); the
// device is opened at the first run: without a driver or device, run()
// throws UserError "no CUDA device: ...".
//
// Thread safety: run() may be called from several threads at once (each
// takes its own run slot).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codegen/cpu/cpu_model.h"
#include "ir/graph.h"
#include "ir/interpreter.h"

namespace dlc::codegen::cuda {

struct CudaOptions {
  std::string arch;        // sm_XX; empty: the device's own
  bool allowTf32 = false;  // cuBLAS may use TF32 tensor cores (not FP32-exact)
  bool ptx = false;        // load PTX (JIT-compiled by the driver) instead of a cubin
  std::string cacheDir;    // NVRTC disk cache; empty: none
  int device = 0;
  bool useGraphs = true;   // capture and replay CUDA graphs
};

class CudaModel {
 public:
  CudaModel(ir::Graph graph, CudaOptions options);
  ~CudaModel();

  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs);
  // How every step runs, per planned variant (no device needed).
  std::string describe() const;
  // The CUDA C++ program of the most recently planned variant.
  std::string cudaSource() const;
  cpu::MemoryReport memoryReport() const;
  size_t numPlannedVariants() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlc::codegen::cuda
