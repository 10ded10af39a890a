// Row-major GEMMs (runtime::GemmArgs, as codegen plans them) and
// convolutions (runtime::ConvShape) mapped onto column-major cuBLAS calls.
// Plain data and arithmetic (no CUDA): unit tests run the calls through a
// reference column-major GEMM on the CPU.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/conv.h"
#include "runtime/gemm.h"

namespace dlc::runtime::cuda {

// One column-major cublasGemmStridedBatchedEx call: C = op(A) * op(B) per
// batch (element (i, j) of a column-major matrix at i + j * ld), alpha 1,
// beta 0.
struct BlasGemm {
  // Element types as ir::DType codes: A and B f32, f16 or bf16; C theirs or
  // f32. Accumulation is f32 (or TF32 when allowed, for f32 operands).
  uint8_t abType = 1, cType = 1;
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t strideA = 0, strideB = 0, strideC = 0;
  int64_t batch = 1;
};

// Row-major C[b] = A[b] * B[b] with the strides of `s` (pointers unused) as
// one cuBLAS call on the column-major view C^T = B^T * A^T: cuBLAS's A is
// our B and its B our A. nullopt when an operand has neither unit row nor
// unit column stride, or a size exceeds cuBLAS's int.
std::optional<BlasGemm> planBlasGemm(const GemmArgs& s);

// A convolution as im2col (unless it is pointwise) + one GEMM per group over
// the batch: element offsets of each GEMM's first A (weights), B (the
// column matrix, or the input itself) and C (output) element.
struct ConvGemm {
  BlasGemm gemm;
  int64_t weightsOffset = 0, colOffset = 0, outputOffset = 0;
};
struct ConvPlan {
  bool pointwise = false;  // B is the input itself, no im2col
  int64_t colElements = 0;  // the im2col scratch: [batch][group][depth][outH*outW]
  std::vector<ConvGemm> gemms;  // one per group
};
ConvPlan planConv(const ConvShape& shape);

// A ConvTranspose, the adjoint of the convolution `shape`: per group one
// batched GEMM (runtime::convTransposeGroupGemm) writes the columns, then
// the col2im kernel gathers them. Element offsets of each group's first
// weight, input and column element.
struct ConvTransposeGemm {
  BlasGemm gemm;
  int64_t weightsOffset = 0, inputOffset = 0, columnsOffset = 0;
};
std::vector<ConvTransposeGemm> planConvTranspose(const ConvShape& shape);

// The reference the tests run a BlasGemm through: a plain column-major
// strided batched GEMM in f64 accumulation.
void referenceBlasGemm(const BlasGemm& g, const float* a, const float* b, float* c);

}  // namespace dlc::runtime::cuda
