// Tests only: the fake cuBLASLt (libcublasLt.so.13), the entry points
// runtime/cuda/cublas_lt.cpp looks up, for f32 GEMMs with a bias, residual or ReLU
// epilogue (what dlc asks of it). Like the fake cuBLAS it links the fake
// driver, checks every operand against the live allocations and runs on the
// driver's streams (recorded while one captures); C may be D or another
// matrix of D's layout (beta * C). Descriptors are checked
// strictly: an attribute dlc does not use, a size that does not match, or a
// bias epilogue without its pointer fails. dlc_fake_cublaslt_matmuls()
// counts the GEMMs run (replays included), so that tests can tell that the
// epilogue ran here and not in a kernel.
#include <cublasLt.h>

#include <atomic>
#include <string>

#include "tests/cuda/fake_cuda/fake_device.h"
#include "tests/cuda/fake_cuda/fake_gemm.h"

using namespace dlc::testing::fake_cuda;

struct cublasLtContext {
  int unused = 0;
};

namespace {

struct MatmulDesc {
  cublasComputeType_t compute;
  cudaDataType scale;
  cublasOperation_t transA = CUBLAS_OP_N, transB = CUBLAS_OP_N;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void* bias = nullptr;
};
struct Layout {
  cudaDataType type;
  uint64_t rows, cols;
  int64_t ld;
};
struct Preference {
  size_t maxWorkspace = 0;
};

thread_local cublasStatus_t lastStatus = CUBLAS_STATUS_SUCCESS;
thread_local std::string lastReason;
std::atomic<unsigned long long> matmuls{0};

cublasStatus_t ltFail(cublasStatus_t s, std::string reason) {
  lastStatus = s;
  lastReason = std::move(reason);
  return s;
}

// The fake's objects behind cuBLASLt's opaque pointer types.
template <class T, class Opaque>
T* from(Opaque* p) {
  return reinterpret_cast<T*>(p);
}
template <class Opaque, class T>
Opaque* to(T* p) {
  return reinterpret_cast<Opaque*>(p);
}

template <class T>
cublasStatus_t setValue(T& field, const void* buf, size_t size, const char* what) {
  if (!buf || size != sizeof(T)) return ltFail(CUBLAS_STATUS_INVALID_VALUE, std::string(what) + ": wrong size");
  std::memcpy(&field, buf, sizeof(T));
  return CUBLAS_STATUS_SUCCESS;
}

// What a matmul would compute, or a reason why it is not supported.
std::string unsupported(const MatmulDesc& d, const Layout& a, const Layout& b, const Layout& c, const Layout& dd) {
  if (d.compute != CUBLAS_COMPUTE_32F && d.compute != CUBLAS_COMPUTE_32F_FAST_TF32) return "compute type not 32F";
  if (d.scale != CUDA_R_32F) return "scale type not f32";
  for (const Layout* l : {&a, &b, &c, &dd})
    if (l->type != CUDA_R_32F) return "f32 matrices only";
  if (c.rows != dd.rows || c.cols != dd.cols || c.ld != dd.ld) return "C and D layouts differ";
  switch (d.epilogue) {
    case CUBLASLT_EPILOGUE_DEFAULT:
    case CUBLASLT_EPILOGUE_RELU:
    case CUBLASLT_EPILOGUE_BIAS:
    case CUBLASLT_EPILOGUE_RELU_BIAS: break;
    default: return "an epilogue other than bias and ReLU";
  }
  uint64_t m = c.rows, n = c.cols;
  uint64_t k = d.transA == CUBLAS_OP_T ? a.rows : a.cols;
  if ((d.transA == CUBLAS_OP_T ? a.cols : a.rows) != m || (d.transB == CUBLAS_OP_T ? b.rows : b.cols) != n ||
      (d.transB == CUBLAS_OP_T ? b.cols : b.rows) != k)
    return "layouts whose sizes do not chain";
  for (const Layout* l : {&a, &b, &c})
    if (l->ld < int64_t(std::max<uint64_t>(1, l->rows))) return "a leading dimension below the row count";
  return "";
}

bool hasBias(cublasLtEpilogue_t e) { return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_RELU_BIAS; }

}  // namespace

extern "C" {

unsigned long long dlc_fake_cublaslt_matmuls() { return matmuls.load(); }

const char* cublasLtGetStatusName(cublasStatus_t status) {
  thread_local std::string text;
  text = status == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_" + std::to_string(int(status));
  if (status == lastStatus && !lastReason.empty()) text += " (fake cuBLASLt: " + lastReason + ")";
  return text.c_str();
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  auto lock = lockDevice();
  if (!handle) return ltFail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtCreate: null pointer");
  if (CUresult r = requireContext("cublasLtCreate")) return ltFail(CUBLAS_STATUS_NOT_INITIALIZED, lastDetail(r));
  *handle = new cublasLtContext;
  addBlasHandle(*handle);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  auto lock = lockDevice();
  if (!removeBlasHandle(handle)) return ltFail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasLtDestroy: unknown handle");
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                                        cudaDataType_t scale) {
  if (!desc) return ltFail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmulDescCreate: null pointer");
  *desc = to<cublasLtMatmulDescOpaque_t>(new MatmulDesc{compute, scale});
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete from<MatmulDesc>(desc);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr,
                                              const void* buf, size_t size) {
  if (!desc) return ltFail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmulDescSetAttribute: null descriptor");
  MatmulDesc& d = *from<MatmulDesc>(desc);
  switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return setValue(d.transA, buf, size, "TRANSA");
    case CUBLASLT_MATMUL_DESC_TRANSB: return setValue(d.transB, buf, size, "TRANSB");
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return setValue(d.epilogue, buf, size, "EPILOGUE");
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return setValue(d.bias, buf, size, "BIAS_POINTER");
    default: return ltFail(CUBLAS_STATUS_INVALID_VALUE, "an attribute the fake does not model: " + std::to_string(attr));
  }
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type, uint64_t rows,
                                          uint64_t cols, int64_t ld) {
  if (!layout) return ltFail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatrixLayoutCreate: null pointer");
  *layout = to<cublasLtMatrixLayoutOpaque_t>(new Layout{type, rows, cols, ld});
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete from<Layout>(layout);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  if (!pref) return ltFail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmulPreferenceCreate: null pointer");
  *pref = to<cublasLtMatmulPreferenceOpaque_t>(new Preference);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  delete from<Preference>(pref);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void* buf,
                                                    size_t size) {
  if (attr != CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES)
    return ltFail(CUBLAS_STATUS_INVALID_VALUE, "a preference the fake does not model");
  return setValue(from<Preference>(pref)->maxWorkspace, buf, size, "MAX_WORKSPACE_BYTES");
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t results[], int* found) {
  auto lock = lockDevice();
  if (!hasBlasHandle(handle)) return ltFail(CUBLAS_STATUS_NOT_INITIALIZED, "heuristic: unknown handle");
  if (requested <= 0 || !results || !found || !pref) return ltFail(CUBLAS_STATUS_INVALID_VALUE, "heuristic: arguments");
  std::string why = unsupported(*from<MatmulDesc>(desc), *from<Layout>(a), *from<Layout>(b), *from<Layout>(c),
                                *from<Layout>(d));
  if (!why.empty()) return ltFail(CUBLAS_STATUS_NOT_SUPPORTED, "heuristic: " + why);
  results[0] = {};
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].workspaceSize = 0;
  results[0].wavesCount = 1.0f;
  results[0].algo.data[0] = 0x1234;  // checked by cublasLtMatmul
  *found = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* alpha, const void* A,
                              cublasLtMatrixLayout_t aLayout, const void* B, cublasLtMatrixLayout_t bLayout,
                              const void* beta, const void* C, cublasLtMatrixLayout_t cLayout, void* D,
                              cublasLtMatrixLayout_t dLayout, const cublasLtMatmulAlgo_t* algo, void* workspace,
                              size_t workspaceBytes, cudaStream_t stream) {
  auto lock = lockDevice();
  const std::string call = "cublasLtMatmul";
  if (!hasBlasHandle(handle)) return ltFail(CUBLAS_STATUS_NOT_INITIALIZED, call + ": unknown handle");
  if (CUresult r = requireContext("cublasLtMatmul")) return ltFail(CUBLAS_STATUS_NOT_INITIALIZED, lastDetail(r));
  if (!algo || algo->data[0] != 0x1234) return ltFail(CUBLAS_STATUS_INVALID_VALUE, call + ": no heuristic's algo");
  if (!alpha || !beta) return ltFail(CUBLAS_STATUS_INVALID_VALUE, call + ": null alpha/beta");
  const MatmulDesc& d = *from<MatmulDesc>(desc);
  const Layout &a = *from<Layout>(aLayout), &b = *from<Layout>(bLayout), &c = *from<Layout>(cLayout);
  std::string why = unsupported(d, a, b, c, *from<Layout>(dLayout));
  if (!why.empty()) return ltFail(CUBLAS_STATUS_NOT_SUPPORTED, call + ": " + why);
  if (hasBias(d.epilogue) && !d.bias) return ltFail(CUBLAS_STATUS_INVALID_VALUE, call + ": bias epilogue, no pointer");
  if (workspaceBytes && checkRange(reinterpret_cast<CUdeviceptr>(workspace), workspaceBytes, call + " workspace"))
    return ltFail(CUBLAS_STATUS_INVALID_VALUE, call + ": workspace outside an allocation");
  bool ta = d.transA == CUBLAS_OP_T, tb = d.transB == CUBLAS_OP_T;
  long long m = (long long)c.rows, n = (long long)c.cols, k = (long long)(ta ? a.rows : a.cols);
  Gemm g{ta, tb, m, n, k, *static_cast<const float*>(alpha), *static_cast<const float*>(beta),
         {"A", reinterpret_cast<CUdeviceptr>(A), (long long)a.rows, (long long)a.cols, a.ld, 0, CUDA_R_32F},
         {"B", reinterpret_cast<CUdeviceptr>(B), (long long)b.rows, (long long)b.cols, b.ld, 0, CUDA_R_32F},
         {"D", reinterpret_cast<CUdeviceptr>(D), m, n, c.ld, 0, CUDA_R_32F}, 1};
  g.bias = hasBias(d.epilogue) ? reinterpret_cast<CUdeviceptr>(d.bias) : 0;
  if (C != D) g.cIn = reinterpret_cast<CUdeviceptr>(C);
  g.relu = d.epilogue == CUBLASLT_EPILOGUE_RELU || d.epilogue == CUBLASLT_EPILOGUE_RELU_BIAS;
  g.call = "cublasLtMatmul";
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (overlaps(g.c, g.a, 1) || overlaps(g.c, g.b, 1))
    return ltFail(CUBLAS_STATUS_INVALID_VALUE, call + ": D overlaps A or B (the result would be undefined)");
  if (g.cIn && g.cIn != reinterpret_cast<CUdeviceptr>(D)) {
    Operand cIn = g.c;
    cIn.p = g.cIn;
    if (overlaps(g.c, cIn, 1))
      return ltFail(CUBLAS_STATUS_INVALID_VALUE, call + ": C and D overlap without being the same matrix");
  }
  if (CUresult r = g.checkOperands()) return ltFail(CUBLAS_STATUS_EXECUTION_FAILED, call + ": " + lastDetail(r));
  CUresult r = submit(stream, call, [g] {
    ++matmuls;
    return g.run();
  });
  if (r) return ltFail(CUBLAS_STATUS_EXECUTION_FAILED, call + ": " + lastDetail(r));
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
