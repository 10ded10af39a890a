// BLIS-style GEMM driver. A task is (batch b, columns [n0, n1), rows
// [m0, m1)). For each KC block it packs (or reuses the pre-packed) B block
// and A block, then runs the micro-kernel over nr-wide column panels
// (outer) and mr-high row panels (inner), so that one B panel stays in L1
// while the A block streams from L2. After the last KC block the epilogue
// runs on the block while it is in cache. Tiles past the edge of C go
// through a small temporary. Blocks are sized so that the threads share
// them evenly whenever C has enough tiles (GEMV included: it splits over N).
#include "runtime/gemm.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <string>

#include "support/error_types.h"

namespace dlc::runtime {
namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// Four floats in a vector register (SSE on x86-64, NEON on arm64): the
// compiler's generic vectors, so that this file needs no target flags.
using Float4 = float __attribute__((vector_size(16)));
inline Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, Float4 v) { std::memcpy(p, &v, sizeof v); }

// panel[k][i] = rows[i * stride + k] for i < PW, k < kc: 4 x 4 blocks
// transposed in registers (A's rows are read 4 floats at a time, the
// panel written 4 at a time: a quarter of the scalar loop's memory
// accesses, which took 6% of a GPT-style model's run).
template <int PW>
void transposeRows(float* panel, const float* rows, int64_t stride, int64_t kc) {
  int64_t k = 0;
  if constexpr (PW % 4 == 0) {
    for (; k + 4 <= kc; k += 4)
      for (int i = 0; i < PW; i += 4) {
        const float* r = rows + i * stride + k;
        Float4 r0 = load4(r), r1 = load4(r + stride), r2 = load4(r + 2 * stride), r3 = load4(r + 3 * stride);
        Float4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
        Float4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5), t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
        store4(panel + (k + 0) * PW + i, __builtin_shufflevector(t0, t2, 0, 1, 4, 5));
        store4(panel + (k + 1) * PW + i, __builtin_shufflevector(t0, t2, 2, 3, 6, 7));
        store4(panel + (k + 2) * PW + i, __builtin_shufflevector(t1, t3, 0, 1, 4, 5));
        store4(panel + (k + 3) * PW + i, __builtin_shufflevector(t1, t3, 2, 3, 6, 7));
      }
  } else {
    for (; k + 4 <= kc; k += 4)
      for (int i = 0; i < PW; ++i) {
        const float* r = rows + i * stride + k;
        panel[(k + 0) * PW + i] = r[0];
        panel[(k + 1) * PW + i] = r[1];
        panel[(k + 2) * PW + i] = r[2];
        panel[(k + 3) * PW + i] = r[3];
      }
  }
  for (; k < kc; ++k)
    for (int i = 0; i < PW; ++i) panel[k * PW + i] = rows[i * stride + k];
}

// Packs the block [w0, w0 + width) x [k0, k0 + kc) of a matrix X[w][k] =
// x[w*wStride + k*kStride] into panels of pw (zero-padded past wEnd).
void packBlock(float* dst, const float* x, int64_t wStride, int64_t kStride, int64_t w0, int64_t width,
               int64_t wEnd, int64_t k0, int64_t kc, int pw) {
  if (pw < 1 || pw > 64) throw InternalError("gemm: panel width " + std::to_string(pw) + " outside [1, 64]");
  for (int64_t p = 0; p < width; p += pw) {
    float* panel = dst + p * kc;
    int64_t valid = std::clamp<int64_t>(wEnd - (w0 + p), 0, pw);
    if (kStride == 1 && valid == pw && pw > 1 && wStride != 1) {
      // Rows of X contiguous in k: read pw row streams, write the panel
      // contiguously.
      const float* rows = x + (w0 + p) * wStride + k0;
      switch (pw) {  // fixed widths unroll the inner loop
        case 4: transposeRows<4>(panel, rows, wStride, kc); break;
        case 6: transposeRows<6>(panel, rows, wStride, kc); break;
        case 8: transposeRows<8>(panel, rows, wStride, kc); break;
        case 12: transposeRows<12>(panel, rows, wStride, kc); break;
        case 16: transposeRows<16>(panel, rows, wStride, kc); break;
        default:
          for (int64_t k = 0; k < kc; ++k)
            for (int i = 0; i < pw; ++i) panel[k * pw + i] = rows[i * wStride + k];
      }
      continue;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = x + (k0 + k) * kStride + (w0 + p) * wStride;
      float* out = panel + k * pw;
      if (wStride == 1) {
        int64_t i = 0;
        for (; i + 8 <= valid; i += 8) std::memcpy(out + i, src + i, 8 * sizeof(float));  // fixed size: inlined
        for (; i < valid; ++i) out[i] = src[i];
      } else {
        for (int64_t i = 0; i < valid; ++i) out[i] = src[i * wStride];
      }
      for (int64_t i = valid; i < pw; ++i) out[i] = 0.0f;
    }
  }
}

// A task is (batch, N block, M block). Blocks are at most 192 rows (an A
// block in L2) by 1024 columns, of equal size along each dim (rounded to
// whole panels), and there are enough of them for every thread, in a count
// that the threads share evenly where the blocks allow it: a GEMM of 256
// rows on 2 threads is 4 blocks of 64, not 96 + 96 + 64 (one thread doing
// two thirds).
struct Blocking {
  int64_t mc, nc;
  int64_t mBlocks, nBlocks;
};

Blocking chooseBlocking(const GemmMicroKernel& uk, const GemmArgs& g, int threads) {
  const int64_t mPanels = ceilDiv(g.M, uk.mr), nPanels = ceilDiv(g.N, uk.nr);
  const int64_t mcPanels = std::max<int64_t>(1, 192 / uk.mr), ncPanels = std::max<int64_t>(1, 1024 / uk.nr);
  int64_t mBlocks = ceilDiv(mPanels, mcPanels), nBlocks = ceilDiv(nPanels, ncPanels);
  auto tasks = [&] { return g.batch * mBlocks * nBlocks; };
  // Split the dim with more panels per block (N first: a GEMV's only one)
  // until every thread has a block, then until the threads share them evenly.
  auto split = [&] {
    bool canN = nBlocks < nPanels, canM = mBlocks < mPanels;
    if (canN && (!canM || ceilDiv(nPanels, nBlocks) >= ceilDiv(mPanels, mBlocks))) return ++nBlocks, true;
    if (canM) return ++mBlocks, true;
    return false;
  };
  while (tasks() < threads && split()) {}
  while (tasks() % threads != 0 && tasks() < 4 * threads && split()) {}
  Blocking bl;
  bl.mc = ceilDiv(mPanels, mBlocks) * uk.mr;
  bl.nc = ceilDiv(nPanels, nBlocks) * uk.nr;
  bl.mBlocks = ceilDiv(g.M, bl.mc);
  bl.nBlocks = ceilDiv(g.N, bl.nc);
  return bl;
}

void checkPacked(const PackedMatrix* p, PackedMatrix::Side side, int width, int64_t rows, int64_t cols) {
  if (!p) return;
  const char* name = side == PackedMatrix::Side::A ? "A" : "B";
  if (p->side() != side || p->panelWidth() != width || p->rows() != rows || p->cols() != cols)
    throw InternalError(std::string("gemm: packed ") + name + " is " + std::to_string(p->rows()) + "x" +
                        std::to_string(p->cols()) + " in panels of " + std::to_string(p->panelWidth()) + ", expected " +
                        std::to_string(rows) + "x" + std::to_string(cols) + " in panels of " + std::to_string(width));
}

}  // namespace

// ---------------------------------------------------------------- portable micro-kernel

namespace {
constexpr int kPortableMr = 6, kPortableNr = 16;
void portableMicroKernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t accumulate) {
  float acc[kPortableMr][kPortableNr] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* bk = b + k * kPortableNr;
    const float* ak = a + k * kPortableMr;
    for (int i = 0; i < kPortableMr; ++i)
      for (int j = 0; j < kPortableNr; ++j) acc[i][j] += ak[i] * bk[j];
  }
  for (int i = 0; i < kPortableMr; ++i)
    for (int j = 0; j < kPortableNr; ++j)
      c[i * ldc + j] = (accumulate == kGemmAccumulate ? c[i * ldc + j] : 0.0f) + acc[i][j];
}

void portableRowKernel(int64_t kc, const float* a, int64_t aStride, const float* b, float* c, int64_t accumulate) {
  float acc[kPortableNr] = {};
  for (int64_t k = 0; k < kc; ++k)
    for (int j = 0; j < kPortableNr; ++j) acc[j] += a[k * aStride] * b[k * kPortableNr + j];
  for (int j = 0; j < kPortableNr; ++j) c[j] = (accumulate ? c[j] : 0.0f) + acc[j];
}
}  // namespace

const GemmMicroKernel& portableGemmMicroKernel() {
  static const GemmMicroKernel uk{kPortableMr, kPortableNr, &portableMicroKernel, &portableRowKernel};
  return uk;
}

// ---------------------------------------------------------------- packed operands

PackedMatrix::PackedMatrix(Side side, int64_t rows, int64_t cols, int panelWidth)
    : side_(side), rows_(rows), cols_(cols), panelWidth_(panelWidth) {
  paddedWidth_ = roundUp(width(), panelWidth);
  data_.assign(size_t(paddedWidth_ * depth()), 0.0f);
}

const float* PackedMatrix::panel(int64_t k0, int64_t w) const {
  int64_t kc = std::min(kGemmKC, depth() - k0);
  return data_.data() + k0 * paddedWidth_ + w * kc;
}
float* PackedMatrix::mutablePanel(int64_t k0, int64_t w) { return const_cast<float*>(panel(k0, w)); }

PackedMatrix packA(const GemmMicroKernel& uk, const float* a, int64_t M, int64_t K, int64_t rowStride,
                   int64_t colStride) {
  PackedMatrix p(PackedMatrix::Side::A, M, K, uk.mr);
  for (int64_t k0 = 0; k0 < K; k0 += kGemmKC)
    packBlock(p.mutablePanel(k0, 0), a, rowStride, colStride, 0, p.paddedWidth(), M, k0,
              std::min(kGemmKC, K - k0), uk.mr);
  return p;
}

PackedMatrix packB(const GemmMicroKernel& uk, const float* b, int64_t K, int64_t N, int64_t rowStride,
                   int64_t colStride) {
  PackedMatrix p(PackedMatrix::Side::B, K, N, uk.nr);
  for (int64_t k0 = 0; k0 < K; k0 += kGemmKC)
    packBlock(p.mutablePanel(k0, 0), b, colStride, rowStride, 0, p.paddedWidth(), N, k0,
              std::min(kGemmKC, K - k0), uk.nr);
  return p;
}

// ---------------------------------------------------------------- driver

void gemm(ThreadPool& pool, const GemmMicroKernel& uk, const GemmArgs& g) {
  if (!uk.fn || uk.mr <= 0 || uk.nr <= 0 || uk.mr > 64 || uk.nr > 64)
    throw InternalError("gemm: no usable micro-kernel (" + std::to_string(uk.mr) + "x" + std::to_string(uk.nr) + ")");
  if (g.batch < 0 || g.M < 0 || g.N < 0 || g.K < 0) throw InternalError("gemm: negative dimension");
  checkPacked(g.packedA, PackedMatrix::Side::A, uk.mr, g.M, g.K);
  checkPacked(g.packedB, PackedMatrix::Side::B, uk.nr, g.K, g.N);
  if (g.batch == 0 || g.M == 0 || g.N == 0) return;
  const int mr = uk.mr, nr = uk.nr;
  const Blocking bl = chooseBlocking(uk, g, pool.numThreads());
  const int64_t tasks = g.batch * bl.nBlocks * bl.mBlocks;
  const int64_t lastK0 = g.K == 0 ? 0 : (g.K - 1) / kGemmKC * kGemmKC;
  const bool stream = g.streamC && !g.epilogue && g.K > 0 && g.K <= kGemmKC && g.ldc % 16 == 0 &&
                      g.cBatchStride % 16 == 0 && reinterpret_cast<uintptr_t>(g.c) % 64 == 0 && nr % 16 == 0;

  pool.parallelFor(tasks, [&](int64_t t0, int64_t t1) {
    // Uninitialised: every element is written by packing before it is read.
    auto aBuf = std::make_unique_for_overwrite<float[]>(g.packedA ? 0 : size_t(bl.mc * std::min(kGemmKC, g.K)));
    auto bBuf = std::make_unique_for_overwrite<float[]>(g.packedB ? 0 : size_t(bl.nc * std::min(kGemmKC, g.K)));
    std::vector<float> tmp(size_t(mr * nr));
    for (int64_t t = t0; t < t1; ++t) {
      int64_t mb = t % bl.mBlocks;
      int64_t nb = (t / bl.mBlocks) % bl.nBlocks;
      int64_t batch = t / (bl.mBlocks * bl.nBlocks);
      int64_t mStart = mb * bl.mc;
      int64_t mEnd = std::min(g.M, mStart + bl.mc);
      int64_t n0 = nb * bl.nc, n1 = std::min(g.N, n0 + bl.nc);
      float* c = g.c + batch * g.cBatchStride;
      const float* a = g.a ? g.a + batch * g.aBatchStride : nullptr;
      const float* b = g.b ? g.b + batch * g.bBatchStride : nullptr;
      auto epilogue = [&](int64_t m0, int64_t m1) {
        if (!g.epilogue) return;
        int64_t range[4] = {batch * g.M + m0, batch * g.M + m1, n0, n1};
        g.epilogue(g.epilogueBuffers, range);
      };
      if (g.K == 0) {
        for (int64_t m = mStart; m < mEnd; ++m) std::fill(c + m * g.ldc + n0, c + m * g.ldc + n1, 0.0f);
        epilogue(mStart, mEnd);
        continue;
      }
      for (int64_t k0 = 0; k0 < g.K; k0 += kGemmKC) {
        int64_t kc = std::min(kGemmKC, g.K - k0);
        const int64_t accumulate = k0 > 0 ? kGemmAccumulate : stream ? kGemmStream : kGemmOverwrite;
        const float* bBlk;
        if (g.packedB) {
          bBlk = g.packedB->panel(k0, n0);
        } else if (g.bPacker) {
          g.bPacker(g.bPackerContext, batch, bBuf.get(), n0, roundUp(n1 - n0, nr), g.N, k0, kc, nr);
          bBlk = bBuf.get();
        } else {
          packBlock(bBuf.get(), b, g.bColStride, g.bRowStride, n0, roundUp(n1 - n0, nr), g.N, k0, kc, nr);
          bBlk = bBuf.get();
        }
        for (int64_t m0 = mStart; m0 < mEnd; m0 += bl.mc) {
          int64_t m1 = std::min(mEnd, m0 + bl.mc);
          const float* aBlk;
          if (g.packedA) {
            aBlk = g.packedA->panel(k0, m0);
          } else {
            packBlock(aBuf.get(), a, g.aRowStride, g.aColStride, m0, roundUp(m1 - m0, mr), g.M, k0, kc, mr);
            aBlk = aBuf.get();
          }
          for (int64_t n = n0; n < n1; n += nr) {
            const float* bPanel = bBlk + (n - n0) * kc;
            int64_t cols = std::min<int64_t>(nr, n1 - n);
            for (int64_t m = m0; m < m1; m += mr) {
              const float* aPanel = aBlk + (m - m0) * kc;
              int64_t rows = std::min<int64_t>(mr, m1 - m);
              float* cTile = c + m * g.ldc + n;
              if (rows == mr && cols == nr) {
                uk.fn(kc, aPanel, bPanel, cTile, g.ldc, accumulate);
                continue;
              }
              if (uk.rowFn && 2 * rows <= mr) {  // few rows (GEMV): one row at a time
                for (int64_t i = 0; i < rows; ++i) {
                  float* cRow = cTile + i * g.ldc;
                  if (cols == nr) {
                    uk.rowFn(kc, aPanel + i, mr, bPanel, cRow, accumulate == kGemmAccumulate);
                    continue;
                  }
                  uk.rowFn(kc, aPanel + i, mr, bPanel, tmp.data(), 0);
                  for (int64_t j = 0; j < cols; ++j)
                    cRow[j] = (accumulate == kGemmAccumulate ? cRow[j] : 0.0f) + tmp[size_t(j)];
                }
                continue;
              }
              uk.fn(kc, aPanel, bPanel, tmp.data(), nr, kGemmOverwrite);
              for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < cols; ++j)
                  cTile[i * g.ldc + j] =
                      (accumulate == kGemmAccumulate ? cTile[i * g.ldc + j] : 0.0f) + tmp[size_t(i * nr + j)];
            }
          }
          if (k0 == lastK0) epilogue(m0, m1);  // the block is finished and still in cache
        }
      }
    }
#if defined(__x86_64__) || defined(__i386__)
    // Streaming stores are weakly ordered: drain them before the chunk counts
    // as done (parallelFor's release then publishes them).
    if (stream) __builtin_ia32_sfence();
#endif
  });
}

}  // namespace dlc::runtime
