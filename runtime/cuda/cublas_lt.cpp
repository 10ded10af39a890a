#include "runtime/cuda/cublas_lt.h"

#include <cublasLt.h>

#include "runtime/cuda/shared_library.h"
#include "runtime/program_spec.h"
#include "support/error_types.h"

namespace dlc::runtime::cuda {

// The cuBLASLt entry points dlc uses.
struct BlasLt::Api {
  decltype(&::cublasLtCreate) create = nullptr;
  decltype(&::cublasLtDestroy) destroy = nullptr;
  decltype(&::cublasLtMatmulDescCreate) descCreate = nullptr;
  decltype(&::cublasLtMatmulDescDestroy) descDestroy = nullptr;
  decltype(&::cublasLtMatmulDescSetAttribute) descSet = nullptr;
  decltype(&::cublasLtMatrixLayoutCreate) layoutCreate = nullptr;
  decltype(&::cublasLtMatrixLayoutDestroy) layoutDestroy = nullptr;
  decltype(&::cublasLtMatmulPreferenceCreate) prefCreate = nullptr;
  decltype(&::cublasLtMatmulPreferenceDestroy) prefDestroy = nullptr;
  decltype(&::cublasLtMatmulPreferenceSetAttribute) prefSet = nullptr;
  decltype(&::cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
  decltype(&::cublasLtMatmul) matmul = nullptr;
  decltype(&::cublasLtGetStatusName) statusName = nullptr;
  std::string soname, whyNot;
};

namespace {

BlasLt::Api loadApi() {
  BlasLt::Api api;
  SharedLibrary lib({"libcublasLt.so.13", "libcublasLt.so.12"}, "cuBLASLt (libcublasLt.so.13 or .12)");
  auto sym = [&](auto& fn, const char* symbol) { lib.bind(fn, symbol); };
  sym(api.create, "cublasLtCreate");
  sym(api.destroy, "cublasLtDestroy");
  sym(api.descCreate, "cublasLtMatmulDescCreate");
  sym(api.descDestroy, "cublasLtMatmulDescDestroy");
  sym(api.descSet, "cublasLtMatmulDescSetAttribute");
  sym(api.layoutCreate, "cublasLtMatrixLayoutCreate");
  sym(api.layoutDestroy, "cublasLtMatrixLayoutDestroy");
  sym(api.prefCreate, "cublasLtMatmulPreferenceCreate");
  sym(api.prefDestroy, "cublasLtMatmulPreferenceDestroy");
  sym(api.prefSet, "cublasLtMatmulPreferenceSetAttribute");
  sym(api.heuristic, "cublasLtMatmulAlgoGetHeuristic");
  sym(api.matmul, "cublasLtMatmul");
  sym(api.statusName, "cublasLtGetStatusName");
  api.soname = lib.soname;
  api.whyNot = lib.whyNot;
  return api;
}

const BlasLt::Api& api() {
  static const BlasLt::Api loaded = loadApi();  // once per process, immutable
  return loaded;
}

void checkLt(const BlasLt::Api& a, cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw InternalError(std::string("cuBLASLt call ") + call + " failed: " + (a.statusName ? a.statusName(s) : "unknown"));
}

}  // namespace

struct BlasLt::Plan {
  const Api* api = nullptr;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  float alpha = 1.0f;
  bool hasBias = false, hasResidual = false;
  ~Plan() {
    if (desc) api->descDestroy(desc);
    for (cublasLtMatrixLayout_t l : {a, b, c})
      if (l) api->layoutDestroy(l);
  }
};

void BlasLt::PlanDeleter::operator()(Plan* p) const { delete p; }

bool BlasLt::available() { return api().whyNot.empty(); }
std::string BlasLt::libraryName() { return api().whyNot.empty() ? api().soname : api().whyNot; }

BlasLt::BlasLt(const Device&, bool allowTf32) : api_(api()), allowTf32_(allowTf32) {
  if (!api_.whyNot.empty()) throw UserError(api_.whyNot);
  cublasLtHandle_t h = nullptr;
  checkLt(api_, api_.create(&h), "cublasLtCreate");
  handle_ = h;
}

BlasLt::~BlasLt() {
  if (handle_) api_.destroy(static_cast<cublasLtHandle_t>(handle_));
}

BlasLt::PlanPtr BlasLt::plan(const BlasGemm& g, uint8_t epilogue, float alpha, CUdeviceptr bias) const {
  if (g.abType != 1 || g.cType != 1 || g.batch != 1)
    throw InternalError("cuBLASLt epilogue: f32 GEMMs of one batch only");
  PlanPtr p(new Plan);
  p->api = &api_;
  p->alpha = alpha;
  p->hasBias = (epilogue & kLtBias) != 0;
  p->hasResidual = (epilogue & kLtResidual) != 0;
  // FP32 results by default; TF32 tensor cores only when allowed (as Blas).
  checkLt(api_, api_.descCreate(&p->desc, allowTf32_ ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F),
          "cublasLtMatmulDescCreate");
  cublasOperation_t ta = g.transA ? CUBLAS_OP_T : CUBLAS_OP_N, tb = g.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  checkLt(api_, api_.descSet(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "set TRANSA");
  checkLt(api_, api_.descSet(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "set TRANSB");
  // Column-major C^T = B^T A^T (blas_gemm.h): a bias over our C's columns is
  // one per row of cuBLAS's C, which is what cuBLASLt's bias vector is.
  // A residual is cuBLASLt's C (beta 1), added before the epilogue.
  cublasLtEpilogue_t e = (epilogue & kLtRelu) ? (p->hasBias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU)
                         : p->hasBias         ? CUBLASLT_EPILOGUE_BIAS
                                              : CUBLASLT_EPILOGUE_DEFAULT;
  checkLt(api_, api_.descSet(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof e), "set EPILOGUE");
  if (p->hasBias) {
    const void* biasPointer = reinterpret_cast<const void*>(bias);
    checkLt(api_, api_.descSet(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &biasPointer, sizeof biasPointer),
            "set BIAS_POINTER");
  }
  // The stored matrices: op(A) is m x k, so A is m x k (N) or k x m (T).
  checkLt(api_, api_.layoutCreate(&p->a, CUDA_R_32F, g.transA ? g.k : g.m, g.transA ? g.m : g.k, g.lda),
          "cublasLtMatrixLayoutCreate A");
  checkLt(api_, api_.layoutCreate(&p->b, CUDA_R_32F, g.transB ? g.n : g.k, g.transB ? g.k : g.n, g.ldb),
          "cublasLtMatrixLayoutCreate B");
  checkLt(api_, api_.layoutCreate(&p->c, CUDA_R_32F, g.m, g.n, g.ldc), "cublasLtMatrixLayoutCreate C");
  cublasLtMatmulPreference_t pref = nullptr;
  checkLt(api_, api_.prefCreate(&pref), "cublasLtMatmulPreferenceCreate");
  size_t workspace = kWorkspaceBytes;
  cublasStatus_t s = api_.prefSet(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (s == CUBLAS_STATUS_SUCCESS)
    s = api_.heuristic(static_cast<cublasLtHandle_t>(handle_), p->desc, p->a, p->b, p->c, p->c, pref, 1, &result,
                       &found);
  api_.prefDestroy(pref);
  if (s != CUBLAS_STATUS_SUCCESS || found < 1 || result.state != CUBLAS_STATUS_SUCCESS ||
      result.workspaceSize > kWorkspaceBytes)
    return nullptr;  // not supported here: cuBLAS and the epilogue kernel instead
  p->algo = result.algo;
  return p;
}

void BlasLt::run(const Plan& p, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c, CUdeviceptr residual,
                 CUdeviceptr workspace, CUstream stream) const {
  const float beta = p.hasResidual ? 1.0f : 0.0f;
  const void* cIn = reinterpret_cast<const void*>(p.hasResidual ? residual : c);
  checkLt(api_,
          api_.matmul(static_cast<cublasLtHandle_t>(handle_), p.desc, &p.alpha, reinterpret_cast<const void*>(a), p.a,
                      reinterpret_cast<const void*>(b), p.b, &beta, cIn, p.c, reinterpret_cast<void*>(c), p.c,
                      &p.algo, reinterpret_cast<void*>(workspace), kWorkspaceBytes, stream),
          "cublasLtMatmul");
}

}  // namespace dlc::runtime::cuda
