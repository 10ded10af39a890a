// Tests only: the fake cuBLAS (libcublas.so.13), the entry points
// runtime/cuda/cublas.cpp looks up. It links the fake driver (libcuda.so.1)
// and runs its work on the driver's streams (fake_device.h): at once, or
// recorded into the graph of a capturing stream. GEMMs are a plain
// column-major reference (f32, f16 or bf16 data; f32 accumulation, TF32
// computed as f32; one rounding to C's type), every operand's extent checked
// against the live allocations.
#include <cublas_api.h>

#include <cmath>
#include <cstring>
#include <string>

#include "tests/cuda/fake_cuda/fake_device.h"

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

// f16 and bf16 elements as cuBLAS reads and writes them (round to nearest
// even on the way out).
float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) bits = sign | 0x7f800000 | (mant << 13);
  else if (exp != 0) bits = sign | ((exp + 112) << 23) | (mant << 13);
  else if (mant == 0) bits = sign;
  else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400));
    bits = sign | uint32_t(112 - e) << 23 | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffff;
  if (ax >= 0x7f800000) return uint16_t(sign | 0x7c00 | (ax > 0x7f800000 ? 0x200 : 0));
  if (ax >= 0x477ff000) return uint16_t(sign | 0x7c00);  // rounds past 65504
  if (ax < 0x38800000) {  // subnormal or zero in f16
    float magnitude;
    std::memcpy(&magnitude, &ax, 4);
    return uint16_t(sign | uint16_t(std::nearbyint(magnitude * 16777216.0f)));  // units of 2^-24
  }
  uint32_t rounded = ax + 0xfff + ((ax >> 13) & 1);
  return uint16_t(sign | ((rounded - 0x38000000) >> 13));
}
float bf16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 0x40);
  return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

size_t elementBytes(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }

// One operand of a strided batched GEMM: a rows x cols column-major matrix
// with leading dimension ld, `batch` of them `stride` elements apart.
struct Operand {
  const char* name;
  CUdeviceptr p;
  long long rows, cols, ld, stride;
  cudaDataType type = CUDA_R_32F;
  size_t bytes(long long batch) const {
    if (rows == 0 || cols == 0 || batch == 0) return 0;
    return size_t((batch - 1) * stride + (cols - 1) * ld + rows) * elementBytes(type);
  }
  float load(long long i) const {
    if (type == CUDA_R_32F) return reinterpret_cast<const float*>(p)[i];
    uint16_t v = reinterpret_cast<const uint16_t*>(p)[i];
    return type == CUDA_R_16F ? halfToFloat(v) : bf16ToFloat(v);
  }
  void store(long long i, float v) const {
    if (type == CUDA_R_32F) reinterpret_cast<float*>(p)[i] = v;
    else reinterpret_cast<uint16_t*>(p)[i] = type == CUDA_R_16F ? floatToHalf(v) : floatToBf16(v);
  }
};

struct Gemm {
  bool transA, transB;
  long long m, n, k;
  float alpha, beta;
  Operand a, b, c;
  long long batch;

  CUresult checkOperands() const {
    for (const Operand* o : {&a, &b, &c})
      if (CUresult r = checkRange(o->p, o->bytes(batch), std::string("cublasGemmStridedBatchedEx operand ") + o->name))
        return r;
    return CUDA_SUCCESS;
  }

  CUresult run() const {
    if (CUresult r = checkOperands()) return r;
    // f32 accumulation (CUBLAS_COMPUTE_32F), one rounding to C's type.
    for (long long q = 0; q < batch; ++q)
      for (long long j = 0; j < n; ++j)
        for (long long i = 0; i < m; ++i) {
          float sum = 0;
          for (long long l = 0; l < k; ++l) {
            float x = a.load(transA ? q * a.stride + i * a.ld + l : q * a.stride + l * a.ld + i);
            float y = b.load(transB ? q * b.stride + l * b.ld + j : q * b.stride + j * b.ld + l);
            sum += x * y;
          }
          long long at = q * c.stride + j * c.ld + i;
          // beta == 0: C is not read (it may hold NaN), as BLAS specifies.
          c.store(at, beta == 0 ? alpha * sum : alpha * sum + beta * c.load(at));
        }
    return CUDA_SUCCESS;
  }
};

bool overlaps(const Operand& x, const Operand& y, long long batch) {
  size_t bx = x.bytes(batch), by = y.bytes(batch);
  return bx && by && x.p < y.p + by && y.p < x.p + bx;
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
