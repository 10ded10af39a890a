#include "runtime/cuda/blas_gemm.h"

#include <algorithm>
#include <climits>

namespace dlc::runtime::cuda {

namespace {

// The matrix R (rows x cols), R[r][c] = p[r * rs + c * cs], as a cuBLAS
// operand standing for R^T (cols x rows, column-major): op N on a
// column-major cols x rows matrix with ld = rs when cs == 1, or op T on a
// column-major rows x cols matrix with ld = cs when rs == 1.
struct Operand {
  bool trans = false;
  int64_t ld = 0;
};
std::optional<Operand> operandFor(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  // A stride along an extent of 1 is never used: pick the one that fits.
  if (cols == 1) cs = 1;
  if (rows == 1 && cs == 1) rs = std::max<int64_t>(cols, 1);
  if (rows == 1 && cs != 1) rs = 1;
  if (cs == 1 && rs >= std::max<int64_t>(cols, 1)) return Operand{false, rs};
  if (rs == 1 && cs >= std::max<int64_t>(rows, 1)) return Operand{true, cs};
  return std::nullopt;
}

bool fitsInt(int64_t v) { return v >= 0 && v <= INT_MAX; }

}  // namespace

std::optional<BlasGemm> planBlasGemm(const GemmArgs& s) {
  std::optional<Operand> b = operandFor(s.K, s.N, s.bRowStride, s.bColStride);
  std::optional<Operand> a = operandFor(s.M, s.K, s.aRowStride, s.aColStride);
  if (!a || !b) return std::nullopt;
  BlasGemm g;
  g.m = s.N;
  g.n = s.M;
  g.k = s.K;
  g.transA = b->trans;
  g.lda = b->ld;
  g.strideA = s.bBatchStride;
  g.transB = a->trans;
  g.ldb = a->ld;
  g.strideB = s.aBatchStride;
  g.ldc = s.ldc;
  g.strideC = s.cBatchStride;
  g.batch = s.batch;
  for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.batch})
    if (!fitsInt(v)) return std::nullopt;
  return g;
}

ConvPlan planConv(const ConvShape& c) {
  ConvPlan plan;
  plan.pointwise = c.isPointwise();
  int64_t ohw = c.outH() * c.outW();
  int64_t depth = c.depth();
  int64_t ocg = c.outChannels / c.group;
  if (!plan.pointwise) plan.colElements = c.batch * c.group * depth * ohw;
  for (int64_t g = 0; g < c.group; ++g) {
    // Per image: Y[g] (ocg x ohw) = W[g] (ocg x depth) * col[g] (depth x ohw).
    GemmArgs s;
    s.batch = c.batch;
    s.M = ocg;
    s.N = ohw;
    s.K = depth;
    s.aBatchStride = 0;
    s.aRowStride = depth;
    s.aColStride = 1;
    s.bRowStride = ohw;
    s.bColStride = 1;
    s.bBatchStride = plan.pointwise ? c.inChannels * ohw : c.group * depth * ohw;
    s.ldc = ohw;
    s.cBatchStride = c.outChannels * ohw;
    ConvGemm cg;
    cg.gemm = *planBlasGemm(s);  // unit column strides: always expressible
    cg.weightsOffset = g * ocg * depth;
    cg.colOffset = g * depth * ohw;  // the input's group g (pointwise: depth = IC/g) or its columns
    cg.outputOffset = g * ocg * ohw;
    plan.gemms.push_back(cg);
  }
  return plan;
}

std::vector<ConvTransposeGemm> planConvTranspose(const ConvShape& c) {
  std::vector<ConvTransposeGemm> gemms;
  const int64_t ohw = c.outH() * c.outW(), ocg = c.outChannels / c.group, depth = c.depth();
  for (int64_t g = 0; g < c.group; ++g) {
    ConvTransposeGemm t;
    t.gemm = *planBlasGemm(convTransposeGroupGemm(c));  // unit strides: always expressible
    t.weightsOffset = g * ocg * depth;
    t.inputOffset = g * ocg * ohw;
    t.columnsOffset = g * depth * ohw;
    gemms.push_back(t);
  }
  return gemms;
}

void referenceBlasGemm(const BlasGemm& g, const float* a, const float* b, float* c) {
  for (int64_t t = 0; t < g.batch; ++t) {
    const float* at = a + t * g.strideA;
    const float* bt = b + t * g.strideB;
    float* ct = c + t * g.strideC;
    for (int64_t j = 0; j < g.n; ++j)
      for (int64_t i = 0; i < g.m; ++i) {
        double sum = 0;
        for (int64_t l = 0; l < g.k; ++l) {
          float x = g.transA ? at[l + i * g.lda] : at[i + l * g.lda];
          float y = g.transB ? bt[j + l * g.ldb] : bt[l + j * g.ldb];
          sum += double(x) * double(y);
        }
        ct[i + j * g.ldc] = float(sum);
      }
  }
}

}  // namespace dlc::runtime::cuda
