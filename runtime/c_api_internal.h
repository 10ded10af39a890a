// Shared by the C API's sources (c_api.cpp, tensor_files.cpp, aot_main.cpp,
// cuda/bundle_executable.cpp).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "dlc_runtime.h"
#include "runtime/program_spec.h"

namespace dlc::runtime::capi {

// Sets the calling thread's dlcrt_last_error() and returns `status`.
dlcrt_status fail(dlcrt_status status, std::string message);

// A loaded bundle's program, ready to run on its device.
class Executable {
 public:
  virtual ~Executable() = default;
  // Dense host tensors of the spec's inputs and outputs.
  virtual void run(std::span<const void* const> inputs, std::span<void* const> outputs) = 0;
  virtual std::string description() const = 0;
};

// A CUDA bundle's program on device `device` (runtime/cuda/bundle_executable.cpp,
// in libdlcrt when it is built with CUDA). `spec` must outlive it.
std::unique_ptr<Executable> openCudaBundle(const ProgramSpec& spec, const dlcrt_bundle& bundle, int device);

}  // namespace dlc::runtime::capi
