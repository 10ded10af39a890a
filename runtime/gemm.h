// Single-precision GEMM for the CPU runtime: C[b] = A[b] * B[b] with packed
// panels and a register-blocked micro-kernel (BLIS's loop structure).
//
// The micro-kernel computes one mr x nr tile of C from a packed A panel (kc
// columns of mr floats) and a packed B panel (kc rows of nr floats). The JIT
// (codegen/llvm) generates one for the target's vector width; a portable C++
// one (portableGemmMicroKernel) serves tests without the JIT and non-x86
// hosts. The loops around it (cache blocking over KC x MC x NC, packing,
// edge tiles through a small temporary, threads over (batch, M block, N
// block) tiles, the fused epilogue) are here and are shared.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/kernel.h"
#include "runtime/thread_pool.h"

namespace dlc::runtime {

// C tile micro-kernel: C[0:mr,0:nr] = (accumulate ? C : 0) + A_panel * B_panel,
// with A packed as kc columns of mr floats and B as kc rows of nr floats;
// `accumulate` is a GemmStore.
using GemmMicroKernelFn = void (*)(int64_t kc, const float* aPanel, const float* bPanel, float* c, int64_t ldc,
                                   int64_t accumulate);
// One row of C (for edge panels with few rows: GEMV, M = 1):
// c[0:nr] = (accumulate ? c : 0) + sum_k a[k*aStride] * bPanel[k*nr + 0:nr].
using GemmRowKernelFn = void (*)(int64_t kc, const float* a, int64_t aStride, const float* bPanel, float* c,
                                 int64_t accumulate);
// How the micro-kernel writes its tile. kGemmStream overwrites with
// streaming (non-temporal) stores, which do not read C's lines into the
// cache first; C must be 64-byte aligned and ldc a multiple of 16 floats,
// and the writer must sfence before others read C.
enum GemmStore : int64_t { kGemmOverwrite = 0, kGemmAccumulate = 1, kGemmStream = 2 };

struct GemmMicroKernel {
  int mr = 0;
  int nr = 0;
  GemmMicroKernelFn fn = nullptr;
  // Optional: used instead of fn for row panels at most half full, which
  // would otherwise waste most of the micro-kernel's FMAs.
  GemmRowKernelFn rowFn = nullptr;
};

// A portable C++ micro-kernel (6 x 16), correct on every host.
const GemmMicroKernel& portableGemmMicroKernel();

// The depth of one packed block: A and B panels cover KC values of k at a
// time (a B panel of KC x nr floats stays in L1).
inline constexpr int64_t kGemmKC = 256;

// A constant operand packed once (at compile time) into panels for one
// micro-kernel shape. A side: M x K, panels of mr rows; B side: K x N, panels
// of nr columns. Rows/columns past the edge are zero-padded. Layout: for each
// KC block starting at k0 (depth kc), panel p starts at
// k0 * paddedWidth + p * panelWidth * kc.
class PackedMatrix {
 public:
  enum class Side { A, B };
  PackedMatrix() = default;
  PackedMatrix(Side side, int64_t rows, int64_t cols, int panelWidth);

  Side side() const { return side_; }
  int64_t rows() const { return rows_; }  // M for A, K for B
  int64_t cols() const { return cols_; }  // K for A, N for B
  int panelWidth() const { return panelWidth_; }
  int64_t depth() const { return side_ == Side::A ? cols_ : rows_; }
  int64_t width() const { return side_ == Side::A ? rows_ : cols_; }
  int64_t paddedWidth() const { return paddedWidth_; }
  // The panel covering width index w (a multiple of panelWidth) for the KC
  // block starting at k0.
  const float* panel(int64_t k0, int64_t w) const;
  float* mutablePanel(int64_t k0, int64_t w);
  size_t sizeInBytes() const { return data_.size() * sizeof(float); }

 private:
  Side side_ = Side::A;
  int64_t rows_ = 0, cols_ = 0;
  int panelWidth_ = 1;
  int64_t paddedWidth_ = 0;
  std::vector<float> data_;
};

PackedMatrix packA(const GemmMicroKernel& uk, const float* a, int64_t M, int64_t K, int64_t rowStride,
                   int64_t colStride);
PackedMatrix packB(const GemmMicroKernel& uk, const float* b, int64_t K, int64_t N, int64_t rowStride,
                   int64_t colStride);

struct GemmArgs {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  // A[b][m][k] = a[b*aBatchStride + m*aRowStride + k*aColStride]; strides in
  // elements (transposes; batch broadcast with stride 0).
  const float* a = nullptr;
  int64_t aBatchStride = 0, aRowStride = 0, aColStride = 0;
  // B[b][k][n] = b[b*bBatchStride + k*bRowStride + n*bColStride].
  const float* b = nullptr;
  int64_t bBatchStride = 0, bRowStride = 0, bColStride = 0;
  const PackedMatrix* packedA = nullptr;  // instead of a (same for every batch)
  const PackedMatrix* packedB = nullptr;  // instead of b (same for every batch)
  // C[b][m][n] = c[b*cBatchStride + m*ldc + n]
  float* c = nullptr;
  int64_t cBatchStride = 0, ldc = 0;
  // Called once per finished tile of C (all of K accumulated), range =
  // {row0, row1, col0, col1} in the [batch*M, N] row space (row = b*M + m):
  // fused epilogues run while the tile is hot.
  KernelFn epilogue = nullptr;
  void* const* epilogueBuffers = nullptr;
  // C is large and nothing reads it soon (a graph output): where there is
  // no epilogue and K is one block, full tiles are written with streaming
  // stores (kGemmStream). GPT's 128 x 8000 logits took 2.44 ms with C cold
  // in cache against 1.91 ms hot, the difference being C's lines read for
  // ownership before each write.
  bool streamC = false;
  // Instead of b: a function that packs B's block of columns [n0, n0 + width)
  // (width a multiple of nr) and rows [k0, k0 + kc) of batch `batch` into
  // nr-wide panels: dst[p*kc + k*nr + i] = B[k0 + k][n0 + p + i], zero for
  // columns >= nEnd. Convolutions pack their im2col matrix this way without
  // ever writing it out.
  using BPacker = void (*)(const void* context, int64_t batch, float* dst, int64_t n0, int64_t width, int64_t nEnd,
                           int64_t k0, int64_t kc, int nr);
  BPacker bPacker = nullptr;
  const void* bPackerContext = nullptr;
};

// C = A * B (overwrites C), then the epilogue per tile. Throws InternalError
// when a packed operand does not match uk or the dimensions.
void gemm(ThreadPool& pool, const GemmMicroKernel& uk, const GemmArgs& args);

}  // namespace dlc::runtime
