// Tests only: the fake cuBLAS (libcublas.so.13), the entry points
// runtime/cuda/cublas.cpp looks up. It links the fake driver (libcuda.so.1)
// and runs its work on the driver's streams (fake_device.h): at once, or
// recorded into the graph of a capturing stream. GEMMs are a plain
// column-major reference (f32, f16 or bf16 data; f32 accumulation, TF32
// computed as f32; one rounding to C's type), every operand's extent checked
// against the live allocations.
#include <cublas_api.h>

#include <string>

#include "tests/cuda/fake_cuda/fake_device.h"
#include "tests/cuda/fake_cuda/fake_gemm.h"

using namespace dlc::testing::fake_cuda;

struct cublasContext {
  CUstream stream = nullptr;
  CUdeviceptr workspace = 0;
  size_t workspaceBytes = 0;
  cublasMath_t mathMode = CUBLAS_DEFAULT_MATH;
};

namespace {

// The reason of this thread's last failure, for cublasGetStatusName.
thread_local cublasStatus_t lastStatus = CUBLAS_STATUS_SUCCESS;
thread_local std::string lastReason;

cublasStatus_t blasFail(cublasStatus_t s, std::string reason) {
  lastStatus = s;
  lastReason = std::move(reason);
  return s;
}

const char* statusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

// A driver failure (an operand out of its allocation, a capture broken) as
// cuBLAS reports it, with the driver's reason.
cublasStatus_t fromDriver(CUresult r, const std::string& call) {
  return blasFail(r == CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED || r == CUDA_ERROR_STREAM_CAPTURE_INVALIDATED
                      ? CUBLAS_STATUS_NOT_SUPPORTED
                      : CUBLAS_STATUS_EXECUTION_FAILED,
                  call + ": " + lastDetail(r));
}

}  // namespace

extern "C" {

const char* cublasGetStatusName(cublasStatus_t status) {
  thread_local std::string text;
  text = statusName(status);
  if (status == lastStatus && !lastReason.empty()) text += " (fake cuBLAS: " + lastReason + ")";
  return text.c_str();
}

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  auto lock = lockDevice();
  if (!handle) return blasFail(CUBLAS_STATUS_INVALID_VALUE, "cublasCreate: null pointer");
  if (CUresult r = requireContext("cublasCreate")) return blasFail(CUBLAS_STATUS_NOT_INITIALIZED, lastDetail(r));
  *handle = new cublasContext;
  addBlasHandle(*handle);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  auto lock = lockDevice();
  if (!removeBlasHandle(handle)) return blasFail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasDestroy: unknown handle");
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  auto lock = lockDevice();
  if (!hasBlasHandle(handle)) return blasFail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSetStream: unknown handle");
  if (!validStream(stream)) return blasFail(CUBLAS_STATUS_INVALID_VALUE, "cublasSetStream: unknown stream");
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace, size_t bytes) {
  auto lock = lockDevice();
  if (!hasBlasHandle(handle)) return blasFail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSetWorkspace: unknown handle");
  CUdeviceptr p = reinterpret_cast<CUdeviceptr>(workspace);
  if (bytes && (!workspace || checkRange(p, bytes, "cublasSetWorkspace") != CUDA_SUCCESS))
    return blasFail(CUBLAS_STATUS_INVALID_VALUE, "cublasSetWorkspace: " + lastDetail(CUDA_ERROR_ILLEGAL_ADDRESS));
  if (p % 256) return blasFail(CUBLAS_STATUS_INVALID_VALUE, "cublasSetWorkspace: not 256-byte aligned");
  handle->workspace = p;
  handle->workspaceBytes = bytes;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  auto lock = lockDevice();
  if (!hasBlasHandle(handle)) return blasFail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSetMathMode: unknown handle");
  handle->mathMode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                                          int lda, long long strideA, const void* B, cudaDataType Btype, int ldb,
                                          long long strideB, const void* beta, void* C, cudaDataType Ctype, int ldc,
                                          long long strideC, int batchCount, cublasComputeType_t computeType,
                                          cublasGemmAlgo_t algo) {
  auto lock = lockDevice();
  const std::string call = "cublasGemmStridedBatchedEx";
  if (!hasBlasHandle(handle)) return blasFail(CUBLAS_STATUS_NOT_INITIALIZED, call + ": unknown handle");
  if (CUresult r = requireContext("cublasGemmStridedBatchedEx")) return fromDriver(r, call);
  // The combinations cuBLAS supports with f32 compute that dlc uses: A and B
  // f32, f16 or bf16 alike; C theirs or f32; TF32 for f32 operands only.
  bool abOk = Atype == Btype && (Atype == CUDA_R_32F || Atype == CUDA_R_16F || Atype == CUDA_R_16BF);
  if (!abOk || (Ctype != Atype && Ctype != CUDA_R_32F))
    return blasFail(CUBLAS_STATUS_NOT_SUPPORTED, call + ": A and B f32, f16 or bf16 alike, C theirs or f32");
  if (computeType != CUBLAS_COMPUTE_32F && !(computeType == CUBLAS_COMPUTE_32F_FAST_TF32 && Atype == CUDA_R_32F))
    return blasFail(CUBLAS_STATUS_NOT_SUPPORTED, call + ": CUBLAS_COMPUTE_32F (or _FAST_TF32 for f32) only");
  if ((transa != CUBLAS_OP_N && transa != CUBLAS_OP_T) || (transb != CUBLAS_OP_N && transb != CUBLAS_OP_T))
    return blasFail(CUBLAS_STATUS_INVALID_VALUE, call + ": bad transa/transb");
  if (m < 0 || n < 0 || k < 0 || batchCount < 0 || !alpha || !beta)
    return blasFail(CUBLAS_STATUS_INVALID_VALUE, call + ": negative size or null alpha/beta");
  Gemm g{transa == CUBLAS_OP_T, transb == CUBLAS_OP_T, m, n, k, *static_cast<const float*>(alpha),
         *static_cast<const float*>(beta),
         // op(A) is m x k: A is stored m x k (N) or k x m (T); likewise B.
         {"A", reinterpret_cast<CUdeviceptr>(A), transa == CUBLAS_OP_T ? k : m, transa == CUBLAS_OP_T ? m : k, lda,
          strideA, Atype},
         {"B", reinterpret_cast<CUdeviceptr>(B), transb == CUBLAS_OP_T ? n : k, transb == CUBLAS_OP_T ? k : n, ldb,
          strideB, Btype},
         {"C", reinterpret_cast<CUdeviceptr>(C), m, n, ldc, strideC, Ctype}, batchCount};
  for (const Operand* o : {&g.a, &g.b, &g.c})
    if (o->ld < std::max(1LL, o->rows))
      return blasFail(CUBLAS_STATUS_INVALID_VALUE, call + ": ld" + o->name + " " + std::to_string(o->ld) + " < " +
                                                       std::to_string(o->rows) + " rows");
  if (m == 0 || n == 0 || batchCount == 0) return CUBLAS_STATUS_SUCCESS;
  if (overlaps(g.c, g.a, g.batch) || overlaps(g.c, g.b, g.batch))
    return blasFail(CUBLAS_STATUS_INVALID_VALUE, call + ": C overlaps A or B (the result would be undefined)");
  if (CUresult r = g.checkOperands()) return fromDriver(r, call);
  if (CUresult r = submit(handle->stream, call, [g] { return g.run(); })) return fromDriver(r, call);
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
