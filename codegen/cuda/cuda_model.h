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
// Carried values (CudaOptions::carried, a training step's parameters and
// optimizer state): each {output, input} pair names an input whose value
// the model keeps in device memory between runs and the output that
// replaces it after each run. setCarried() gives the value (held on the
// host until the next run uploads it once); a run reads it on the device
// and writes the paired output over it there (device-to-device copies from
// and to the run slot: no host round trip per run); carried() downloads it
// only when asked. The host sees a carried value only through carried().
//
// Thread safety: run() may be called from several threads at once (each
// takes its own run slot); runs of a model with carried values are
// serialised (each reads the state the previous one wrote).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codegen/cpu/cpu_model.h"
#include "ir/graph.h"
#include "ir/interpreter.h"

namespace dlc::codegen::cuda {

struct CudaOptions {
  std::string arch;        // sm_XX; empty: the device's own
  bool allowTf32 = false;  // cuBLAS may use TF32 tensor cores (not FP32-exact)
  // F32, or F16 / BF16: matrix products in that type (tensor cores), the
  // rest in f32 (passes::autocastMatrixProducts; --precision).
  ir::DType precision = ir::DType::F32;
  bool ptx = false;        // load PTX (JIT-compiled by the driver) instead of a cubin
  std::string cacheDir;    // NVRTC disk cache; empty: none
  int device = 0;
  bool useGraphs = true;   // capture and replay CUDA graphs
  // Attention subgraphs as one kernel each (passes::PassContext::fuseAttention).
  bool fuseAttention = true;
  // GEMMs whose epilogue is a bias, a residual and/or ReLU run it inside the GEMM through
  // cuBLASLt where it has an algorithm (else cuBLAS + the epilogue kernel).
  bool useLtEpilogues = true;
  // {output, input}: values carried on the device from run to run (above).
  // The input and output must have the same static type.
  cpu::InPlacePairs carried;
};

class CudaModel {
 public:
  CudaModel(ir::Graph graph, CudaOptions options);
  ~CudaModel();

  // `inputs`: every graph input except the carried ones. Outputs paired
  // with a carried input are returned undefined (their value is on the
  // device: carried()).
  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs);
  // Like run(), but output i is written into the storage of `*into[i]`
  // where into[i] is set (the output's dtype and shape; it may be an input's
  // storage: the inputs are on the device before any output comes back).
  // Not for outputs paired with a carried input.
  std::vector<ir::Tensor> runInto(const ir::NamedTensors& inputs, std::span<ir::Tensor* const> into);

  // A run for timing, as PyTorch times a model whose tensors live on the
  // GPU: the inputs are uploaded once, and each call of the returned
  // function runs the program on them and leaves the outputs on the device
  // (device copies into and out of a run slot, then a stream
  // synchronisation), so host transfers are not timed. UserError for a model
  // with carried values or with shapes that depend on input data.
  std::function<void()> deviceResidentRun(const ir::NamedTensors& inputs);

  // A carried input's value (copied; the input's dtype and shape), used from
  // the next run on. UserError for a name that is not a carried input.
  void setCarried(const std::string& input, const ir::Tensor& value);
  // A carried input's current value (downloaded from the device when a run
  // has changed it since). UserError when it was never set.
  ir::Tensor carried(const std::string& input) const;
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
