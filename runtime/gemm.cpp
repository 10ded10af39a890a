// BLIS-style GEMM driver: per task (batch b, rows [m0, m1), columns
// [n0, n1)), for each KC block: pack (or reuse the pre-packed) A and B
// blocks, then run the micro-kernel over nr-wide column panels (outer) and
// mr-high row panels (inner), so that one B panel stays in L1 while the A
// block streams from L2. Tiles past the edge of C go through a small
// temporary. Tasks are sized so that there are at least as many as threads
// whenever C has enough tiles (GEMV included: it splits over N).
#include "runtime/gemm.h"

#include <algorithm>
#include <cstring>

#include "support/error.h"

namespace dlc::runtime {
namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// Packs the block [w0, w0 + width) x [k0, k0 + kc) of a matrix X[w][k] =
// x[w*wStride + k*kStride] into panels of pw (zero-padded past wEnd).
void packBlock(float* dst, const float* x, int64_t wStride, int64_t kStride, int64_t w0, int64_t width,
               int64_t wEnd, int64_t k0, int64_t kc, int pw) {
  for (int64_t p = 0; p < width; p += pw) {
    float* panel = dst + p * kc;
    int64_t valid = std::clamp<int64_t>(wEnd - (w0 + p), 0, pw);
    if (kStride == 1 && valid == pw && pw > 1 && wStride != 1) {
      // Rows of X contiguous in k: transpose pw rows into the panel.
      for (int i = 0; i < pw; ++i) {
        const float* src = x + (w0 + p + i) * wStride + k0;
        for (int64_t k = 0; k < kc; ++k) panel[k * pw + i] = src[k];
      }
      continue;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = x + (k0 + k) * kStride + (w0 + p) * wStride;
      float* out = panel + k * pw;
      if (wStride == 1) {
        std::memcpy(out, src, size_t(valid) * sizeof(float));
      } else {
        for (int64_t i = 0; i < valid; ++i) out[i] = src[i * wStride];
      }
      for (int64_t i = valid; i < pw; ++i) out[i] = 0.0f;
    }
  }
}

struct Blocking {
  int64_t mc, nc;
  int64_t mBlocks, nBlocks;
};

Blocking chooseBlocking(const GemmMicroKernel& uk, const GemmArgs& g, int threads) {
  Blocking bl;
  bl.mc = roundUp(std::max<int64_t>(96, uk.mr), uk.mr);
  bl.nc = roundUp(std::max<int64_t>(1024, uk.nr), uk.nr);
  bl.mc = std::min(bl.mc, roundUp(g.M, uk.mr));
  bl.nc = std::min(bl.nc, roundUp(g.N, uk.nr));
  auto tasks = [&] { return g.batch * ceilDiv(g.M, bl.mc) * ceilDiv(g.N, bl.nc); };
  if (tasks() < threads) {  // split N further, then M
    int64_t wantN = ceilDiv(threads, g.batch * ceilDiv(g.M, bl.mc));
    bl.nc = std::max<int64_t>(uk.nr, roundUp(ceilDiv(g.N, wantN), uk.nr));
  }
  if (tasks() < threads) {
    int64_t wantM = ceilDiv(threads, g.batch * ceilDiv(g.N, bl.nc));
    bl.mc = std::max<int64_t>(uk.mr, roundUp(ceilDiv(g.M, wantM), uk.mr));
  }
  bl.mBlocks = ceilDiv(g.M, bl.mc);
  bl.nBlocks = ceilDiv(g.N, bl.nc);
  return bl;
}

void checkPacked(const PackedMatrix* p, PackedMatrix::Side side, int width, int64_t rows, int64_t cols) {
  if (!p) return;
  const char* name = side == PackedMatrix::Side::A ? "A" : "B";
  if (p->side() != side || p->panelWidth() != width || p->rows() != rows || p->cols() != cols)
    throw InternalError(fmt::format("gemm: packed {} is {}x{} in panels of {}, expected {}x{} in panels of {}", name,
                                    p->rows(), p->cols(), p->panelWidth(), rows, cols, width));
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
    for (int j = 0; j < kPortableNr; ++j) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + acc[i][j];
}
}  // namespace

const GemmMicroKernel& portableGemmMicroKernel() {
  static const GemmMicroKernel uk{kPortableMr, kPortableNr, &portableMicroKernel};
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
  if (!uk.fn || uk.mr <= 0 || uk.nr <= 0) throw InternalError("gemm: no micro-kernel");
  if (g.batch < 0 || g.M < 0 || g.N < 0 || g.K < 0) throw InternalError("gemm: negative dimension");
  checkPacked(g.packedA, PackedMatrix::Side::A, uk.mr, g.M, g.K);
  checkPacked(g.packedB, PackedMatrix::Side::B, uk.nr, g.K, g.N);
  if (g.batch == 0 || g.M == 0 || g.N == 0) return;
  const int mr = uk.mr, nr = uk.nr;
  const Blocking bl = chooseBlocking(uk, g, pool.numThreads());
  const int64_t tasks = g.batch * bl.mBlocks * bl.nBlocks;

  pool.parallelFor(tasks, [&](int64_t t0, int64_t t1) {
    std::vector<float> aBuf(g.packedA ? 0 : size_t(bl.mc * std::min(kGemmKC, g.K)));
    std::vector<float> bBuf(g.packedB ? 0 : size_t(bl.nc * std::min(kGemmKC, g.K)));
    float tmp[64 * 64];
    if (mr * nr > 64 * 64) throw InternalError("gemm: micro-kernel tile larger than 64x64");
    for (int64_t t = t0; t < t1; ++t) {
      int64_t nb = t % bl.nBlocks;
      int64_t mb = (t / bl.nBlocks) % bl.mBlocks;
      int64_t batch = t / (bl.nBlocks * bl.mBlocks);
      int64_t m0 = mb * bl.mc, m1 = std::min(g.M, m0 + bl.mc);
      int64_t n0 = nb * bl.nc, n1 = std::min(g.N, n0 + bl.nc);
      float* c = g.c + batch * g.cBatchStride;
      const float* a = g.a ? g.a + batch * g.aBatchStride : nullptr;
      const float* b = g.b ? g.b + batch * g.bBatchStride : nullptr;
      if (g.K == 0)
        for (int64_t m = m0; m < m1; ++m) std::fill(c + m * g.ldc + n0, c + m * g.ldc + n1, 0.0f);
      for (int64_t k0 = 0; k0 < g.K; k0 += kGemmKC) {
        int64_t kc = std::min(kGemmKC, g.K - k0);
        const float* aBlk;
        if (g.packedA) {
          aBlk = g.packedA->panel(k0, m0);
        } else {
          packBlock(aBuf.data(), a, g.aRowStride, g.aColStride, m0, roundUp(m1 - m0, mr), g.M, k0, kc, mr);
          aBlk = aBuf.data();
        }
        const float* bBlk;
        if (g.packedB) {
          bBlk = g.packedB->panel(k0, n0);
        } else {
          packBlock(bBuf.data(), b, g.bColStride, g.bRowStride, n0, roundUp(n1 - n0, nr), g.N, k0, kc, nr);
          bBlk = bBuf.data();
        }
        const int64_t accumulate = k0 > 0;
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
            uk.fn(kc, aPanel, bPanel, tmp, nr, 0);
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t j = 0; j < cols; ++j)
                cTile[i * g.ldc + j] = (accumulate ? cTile[i * g.ldc + j] : 0.0f) + tmp[i * nr + j];
          }
        }
      }
      if (g.epilogue) {
        int64_t range[4] = {batch * g.M + m0, batch * g.M + m1, n0, n1};
        g.epilogue(g.epilogueBuffers, range);
      }
    }
  });
}

}  // namespace dlc::runtime
