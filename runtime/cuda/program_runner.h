// Runs a ProgramSpec planned for CUDA (codegen/cuda's planCuda: a launch
// shape per kernel, im2col kernels named by the convolution steps) on one
// device from a GPU image holding every kernel of the spec's table: kernel
// steps are launches, GEMMs and convolutions cuBLAS calls (followed by their
// fused epilogue kernel), copies device copies. Plain runtime code (no IR,
// NVRTC, LLVM or fmt): the JIT (codegen/cuda's CudaModel, which compiles the
// image with NVRTC) and AOT bundles (libdlcrt, with an image compiled by
// `dlc compile --target cuda`) share it.
//
// Each run takes a run slot (device arena from the memory plan, inputs,
// outputs, im2col scratch, stream, cuBLAS handle); the first run on a slot
// captures the whole program as a CUDA graph, later runs replay it (not for
// programs with library steps, which need the host mid-run). run() may be
// called from several threads at once: each takes its own slot.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cuda/cuda_device.h"
#include "runtime/program_spec.h"

namespace dlc::runtime::cuda {

struct RunnerOptions {
  bool allowTf32 = false;  // cuBLAS may use TF32 tensor cores (not FP32-exact)
  bool useGraphs = true;   // capture and replay CUDA graphs
  // GEMM epilogues through cuBLASLt where the spec marks them and cuBLASLt
  // has an algorithm (GemmStepSpec::ltEpilogue); false: always cuBLAS and
  // the epilogue kernel.
  bool useLtEpilogues = true;
};

// A library step (a node without a kernel, JIT only): `resolve` gives the
// device address of a spec buffer of the current run; the work is enqueued
// on (or synchronised with) `stream`.
using LibraryStepRunner =
    std::function<void(const LibraryStepSpec& step, const std::function<CUdeviceptr(SpecRef)>& resolve,
                        const Stream& stream)>;

class ProgramRunner {
 public:
  // `spec` must outlive the runner; `image` (a cubin or PTX) must define
  // every kernel of spec.kernelNames. UserError for a spec that is not a
  // consistent GPU program, or with library steps but no `library`.
  ProgramRunner(std::shared_ptr<Device> device, const ProgramSpec& spec, const std::string& image,
                const RunnerOptions& options, LibraryStepRunner library = {});
  ~ProgramRunner();

  // inputs/outputs: host buffers in the order of spec.inputs/outputs.
  // Input i is read from the device buffer deviceInputs[i] and output i
  // written to deviceOutputs[i] where those are non-zero (device-to-device
  // copies on the run's stream, before / after the program; the host
  // pointer is then unused): for state kept on the device between runs.
  // Empty vectors: all on the host. UserError with the kernel's message
  // when a kernel's status word reports bad data (an index out of range).
  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
           const std::vector<uint64_t>& deviceInputs = {}, const std::vector<uint64_t>& deviceOutputs = {});

  const Device& device() const;
  bool usesBlas() const;
  bool replaysGraphs() const;  // whole runs replayed as one CUDA graph

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlc::runtime::cuda
