#include "runtime/cuda/cublas.h"

#include <cublas_api.h>

#include "runtime/cuda/shared_library.h"
#include "support/error_types.h"

namespace dlc::runtime::cuda {

// The few cuBLAS entry points dlc uses, with their exported names.
struct Blas::Api {
  decltype(&::cublasCreate_v2) create = nullptr;
  decltype(&::cublasDestroy_v2) destroy = nullptr;
  decltype(&::cublasSetStream_v2) setStream = nullptr;
  decltype(&::cublasSetWorkspace_v2) setWorkspace = nullptr;
  decltype(&::cublasSetMathMode) setMathMode = nullptr;
  cublasStatus_t (*gemmStridedBatchedEx)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                         const void*, const void*, cudaDataType, int, long long, const void*,
                                         cudaDataType, int, long long, const void*, void*, cudaDataType, int,
                                         long long, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  const char* (*statusName)(cublasStatus_t) = nullptr;
  std::string soname, whyNot;
};

namespace {

Blas::Api loadApi() {
  Blas::Api api;
  SharedLibrary lib({"libcublas.so.13", "libcublas.so.12"}, "cuBLAS (libcublas.so.13 or .12)");
  auto sym = [&](auto& fn, const char* symbol) { lib.bind(fn, symbol); };
  sym(api.create, "cublasCreate_v2");
  sym(api.destroy, "cublasDestroy_v2");
  sym(api.setStream, "cublasSetStream_v2");
  sym(api.setWorkspace, "cublasSetWorkspace_v2");
  sym(api.setMathMode, "cublasSetMathMode");
  sym(api.gemmStridedBatchedEx, "cublasGemmStridedBatchedEx");
  sym(api.statusName, "cublasGetStatusName");
  api.soname = lib.soname;
  api.whyNot = lib.whyNot;
  return api;
}

const Blas::Api& api() {
  static const Blas::Api loaded = loadApi();  // once per process, immutable
  return loaded;
}

void checkBlas(const Blas::Api& a, cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw InternalError(std::string("cuBLAS call ") + call + " failed: " + (a.statusName ? a.statusName(s) : "unknown"));
}

constexpr size_t kWorkspaceBytes = size_t(32) << 20;

}  // namespace

std::string Blas::libraryName() { return api().whyNot.empty() ? api().soname : api().whyNot; }

Blas::Blas(const Device& dev, const Stream& stream, bool allowTf32) : api_(api()), allowTf32_(allowTf32) {
  if (!api_.whyNot.empty()) throw UserError(api_.whyNot);
  cublasHandle_t h = nullptr;
  checkBlas(api_, api_.create(&h), "cublasCreate");
  handle_ = h;
  checkBlas(api_, api_.setStream(h, stream.get()), "cublasSetStream");
  workspace_ = DeviceMemory(dev, kWorkspaceBytes);
  checkBlas(api_, api_.setWorkspace(h, reinterpret_cast<void*>(workspace_.ptr()), kWorkspaceBytes),
            "cublasSetWorkspace");
  // FP32 results by default (CUBLAS_COMPUTE_32F never uses TF32); TF32 tensor
  // cores only when allowed.
  checkBlas(api_, api_.setMathMode(h, allowTf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
            "cublasSetMathMode");
}

Blas::~Blas() {
  if (handle_) api_.destroy(static_cast<cublasHandle_t>(handle_));
}

namespace {
cudaDataType dataType(uint8_t dtype) {
  switch (dtype) {
    case 1: return CUDA_R_32F;   // ir::DType::F32
    case 3: return CUDA_R_16F;   // F16
    case 4: return CUDA_R_16BF;  // BF16
  }
  throw InternalError("cuBLAS GEMM: element type " + std::to_string(dtype) + " is not f32, f16 or bf16");
}
}  // namespace

void Blas::gemm(const BlasGemm& g, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c) const {
  const float one = 1.0f, zero = 0.0f;  // f32 scalars: the compute type is f32
  cudaDataType ab = dataType(g.abType), ct = dataType(g.cType);
  bool tf32 = allowTf32_ && ab == CUDA_R_32F;
  checkBlas(api_,
            api_.gemmStridedBatchedEx(static_cast<cublasHandle_t>(handle_), g.transA ? CUBLAS_OP_T : CUBLAS_OP_N,
                                      g.transB ? CUBLAS_OP_T : CUBLAS_OP_N, int(g.m), int(g.n), int(g.k), &one,
                                      reinterpret_cast<const void*>(a), ab, int(g.lda), g.strideA,
                                      reinterpret_cast<const void*>(b), ab, int(g.ldb), g.strideB, &zero,
                                      reinterpret_cast<void*>(c), ct, int(g.ldc), g.strideC, int(g.batch),
                                      tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT),
            "cublasGemmStridedBatchedEx");
}

}  // namespace dlc::runtime::cuda
