// cuBLAS, loaded at run time with dlopen (libcublas.so.13, else .so.12) like
// the driver: FP32 GEMMs (strided batched), with FP32 compute by default and
// TF32 tensor cores only when the user allows it (--allow-tf32).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/cuda/blas_gemm.h"
#include "runtime/cuda/cuda_device.h"

namespace dlc::runtime::cuda {

class Blas {
 public:
  // Loads cuBLAS and creates a handle on `stream` (the device's context must
  // be current). UserError when the library is missing.
  Blas(const Device& dev, const Stream& stream, bool allowTf32);
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;
  // a, b, c: device addresses of the first element of each operand.
  void gemm(const BlasGemm& g, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c) const;
  static std::string libraryName();  // the soname that loaded, or why none did

  struct Api;  // the dlopen'd entry points (cublas.cpp)

 private:
  const Api& api_;
  void* handle_ = nullptr;
  bool allowTf32_;
  DeviceMemory workspace_;  // fixed, so that graph capture never allocates
};

}  // namespace dlc::runtime::cuda
