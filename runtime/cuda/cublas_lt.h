// cuBLASLt, loaded at run time with dlopen (libcublasLt.so.13, else .so.12)
// like cuBLAS: f32 GEMMs whose epilogue (a bias over C's columns, a residual
// matrix added, ReLU) runs inside the GEMM kernel, so that C is written once
// instead of being written, read and written again by an epilogue kernel.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/cuda/blas_gemm.h"
#include "runtime/cuda/cuda_device.h"

namespace dlc::runtime::cuda {

class BlasLt {
 public:
  // Loads cuBLASLt and creates a handle (the device's context must be
  // current). UserError when the library is missing.
  BlasLt(const Device& dev, bool allowTf32);
  ~BlasLt();
  BlasLt(const BlasLt&) = delete;
  BlasLt& operator=(const BlasLt&) = delete;

  // One GEMM with its epilogue (GemmStepSpec::ltEpilogue flags), described
  // once: its descriptors and the algorithm cuBLASLt's heuristic chose.
  struct Plan;
  struct PlanDeleter {
    void operator()(Plan* p) const;
  };
  using PlanPtr = std::unique_ptr<Plan, PlanDeleter>;
  // `bias`: the device address of the N-vector (with kLtBias), fixed in the
  // plan (a run slot's plans are its own). nullptr when cuBLASLt has no
  // algorithm for it within the workspace (the caller then runs cuBLAS and
  // the epilogue kernel); `g` must be f32.
  PlanPtr plan(const BlasGemm& g, uint8_t epilogue, float alpha, CUdeviceptr bias) const;
  // Enqueues the planned GEMM on `stream`: a, b, c as for Blas::gemm;
  // `residual` (with kLtResidual) a matrix laid out as c, added (cuBLASLt's
  // beta * C with beta 1); `workspace` holds kWorkspaceBytes.
  void run(const Plan& p, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c, CUdeviceptr residual, CUdeviceptr workspace,
           CUstream stream) const;
  static constexpr size_t kWorkspaceBytes = size_t(32) << 20;
  static bool available();           // whether the library loaded
  static std::string libraryName();  // the soname that loaded, or why none did

  struct Api;  // the dlopen'd entry points (cublas_lt.cpp)

 private:
  const Api& api_;
  void* handle_ = nullptr;
  bool allowTf32_;
};

}  // namespace dlc::runtime::cuda
