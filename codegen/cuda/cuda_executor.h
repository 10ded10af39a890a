// Runs one planned variant (CudaPlan) on a device: compiles its program with
// NVRTC (disk-cached) and hands the image and the spec to runtime/cuda's
// ProgramRunner (the runner AOT bundles use too), supplying what only the
// JIT has: library steps, which run the node's reference kernel on the host.
// Internal to codegen/cuda (see cuda_model.h for the behaviour).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/cuda/cuda_model.h"
#include "codegen/cuda/cuda_program.h"

namespace dlc::runtime::cuda {
class Device;
}

namespace dlc::codegen::cuda {

class CudaExecutor {
 public:
  // `plan` and its graph must outlive the executor.
  CudaExecutor(std::shared_ptr<runtime::cuda::Device> device, const CudaPlan& plan, const CudaOptions& options);
  ~CudaExecutor();

  // inputs/outputs: host buffers in the order of the graph's inputs/outputs.
  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs);
  // Like run(), but input i is read from the device buffer deviceInputs[i]
  // and output i written to deviceOutputs[i] where those are non-zero
  // (device-to-device copies on the run's stream, before / after the
  // program; the host pointer is then unused). For state kept on the device
  // between runs (CudaModel's carried values). Empty vectors: all on the host.
  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
           const std::vector<uint64_t>& deviceInputs, const std::vector<uint64_t>& deviceOutputs);
  std::string description() const;  // device, arch, image kind, compile time

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlc::codegen::cuda
