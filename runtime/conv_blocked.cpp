// The direct blocked convolution's driver; see conv_blocked.h.
//
// Work is split into tasks of (image, group of output blocks, output rows);
// the tiles and each output's arithmetic depend on the shape only, so
// results are the same for any thread count (the thread count only picks,
// among splits whose tiles were all compiled, one that keeps the threads
// evenly busy). A task walks the input channels in chunks whose weights
// stay in L1, and for each chunk every tile of its rows, accumulating into
// the output (the task's rows stay in cache between chunks); after the last
// chunk its rows get the epilogue while they are hot. Tiles: along each row,
// the columns whose kernel columns are all inside the input; the edge
// columns of the rows whose kernel rows are all inside go as column tiles
// (they share their kernel columns), the few corner pixels one at a time.
// A 1x1 convolution with stride 1 and no padding is one long row per image
// (no edges), split into pixel ranges instead of rows.
#include "runtime/conv_blocked.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

#include "support/error_types.h"

namespace dlc::runtime {

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Kernel rows (or columns) are given a pixel stride of their own register
// each when it is not compiled in: x86 has 16 general registers.
constexpr int kMaxColumnPixels = 6;
constexpr int kMaxRowPixels = 14;
constexpr int64_t kChunkWeightBytes = 32 << 10;  // a chunk's weights for one group: L1
constexpr int64_t kTaskOutputBytes = 64 << 10;   // a task's output rows for one group: L1/L2
constexpr int64_t kGroupsInsideWeightBytes = 1 << 20;  // all weights: L2

// Kernel taps [lo, hi) of one dim that land inside the input for output
// position o: 0 <= o * stride - pad + k * dilation < extent.
struct TapRange {
  int64_t lo, hi;
  bool full(int64_t kernel) const { return lo == 0 && hi == kernel; }
};
TapRange taps(int64_t o, int64_t stride, int64_t pad, int64_t dilation, int64_t kernel, int64_t extent) {
  int64_t start = o * stride - pad;
  int64_t lo = std::min(kernel, start >= 0 ? 0 : ceilDiv(-start, dilation));
  int64_t hi = std::min(kernel, floorDiv(extent - 1 - start, dilation) + 1);
  return {lo, std::max(hi, lo)};
}

// Outputs [lo, hi) of one dim whose whole kernel is inside the input.
TapRange insideOutputs(int64_t out, int64_t stride, int64_t pad, int64_t dilation, int64_t kernel, int64_t extent) {
  int64_t lo = std::min(out, ceilDiv(pad, stride));
  int64_t last = extent - 1 + pad - (kernel - 1) * dilation;  // o * stride <= last
  int64_t hi = last < 0 ? 0 : std::min(out, last / stride + 1);
  return {lo, std::max(lo, hi)};
}

// The geometry every tile loop shares (the driver's, the planner's and the
// cost model's).
struct Layout {
  BlockedConvShape s;  // a pointwise convolution flattened to one row per image
  ConvTile main;
  bool flat = false;
  TapRange columns{0, 0}, rows{0, 0};  // outputs whose kernel columns / rows are all inside
  int64_t spanLength = 0;              // flat: pixels per span
  int64_t spans = 0, spansPerTask = 1;

  Layout(const BlockedConvShape& shape, ConvTile mainTile) : s(shape), main(mainTile) {
    flat = !s.depthwise && s.kernelH == 1 && s.kernelW == 1 && s.strideH == 1 && s.strideW == 1 && s.padTop == 0 &&
           s.padLeft == 0 && s.outH == s.inH && s.outW == s.inW;
    if (flat) {
      s.inW = s.outW = s.inH * s.inW;
      s.inH = s.outH = 1;
    }
    columns = insideOutputs(s.outW, s.strideW, s.padLeft, s.dilationW, s.kernelW, s.inW);
    rows = insideOutputs(s.outH, s.strideH, s.padTop, s.dilationH, s.kernelH, s.inH);
    const int64_t pixelBytes = int64_t(main.blocks) * s.lanes * 4;
    if (flat) {
      spanLength = std::max<int64_t>(main.pixels, kTaskOutputBytes / pixelBytes / main.pixels * main.pixels);
      spans = ceilDiv(s.outW, spanLength);
    } else {
      spans = s.outH;
      spansPerTask = std::clamp<int64_t>(kTaskOutputBytes / (s.outW * pixelBytes), 1, s.outH);
    }
  }

  int64_t tasksPerGroup() const { return ceilDiv(spans, spansPerTask); }

  // Calls fn(tile, oh, ow, kernelRows, kernelCols, count) for every run of
  // `count` tiles side by side (one micro-kernel call) of the spans [span0,
  // span1) of one group of `blocks` output blocks: the full row tiles of a
  // row (or a flat span) in one run, any other tile alone.
  template <typename Fn>
  void forEachTile(int64_t span0, int64_t span1, int blocks, Fn&& fn) const {
    const TapRange allCols{0, s.kernelW};
    // The row tiles of outputs [ow, end) of row oh.
    auto rowTiles = [&](int64_t oh, int64_t ow, int64_t end, TapRange kr) {
      if (const int64_t full = (end - ow) / main.pixels; full > 0) {
        fn(ConvTile{main.pixels, blocks}, oh, ow, kr, allCols, full);
        ow += full * main.pixels;
      }
      if (ow < end) fn(ConvTile{int(end - ow), blocks}, oh, ow, kr, allCols, int64_t(1));
    };
    if (flat) {
      for (int64_t span = span0; span < span1; ++span)
        rowTiles(0, span * spanLength, std::min(s.outW, (span + 1) * spanLength), TapRange{0, 1});
      return;
    }
    auto colTaps = [&](int64_t ow) { return taps(ow, s.strideW, s.padLeft, s.dilationW, s.kernelW, s.inW); };
    auto forEachEdgeColumn = [&](auto&& edge) {
      for (int64_t ow = 0; ow < columns.lo; ++ow) edge(ow);
      for (int64_t ow = columns.hi; ow < s.outW; ++ow) edge(ow);
    };
    for (int64_t oh = span0; oh < span1; ++oh) {
      const TapRange kr = taps(oh, s.strideH, s.padTop, s.dilationH, s.kernelH, s.inH);
      rowTiles(oh, columns.lo, columns.hi, kr);
      // A corner pixel at a time; a dense conv's other edges go in column
      // tiles (a depthwise one's in edge pixels: its edge kernel is generic).
      if (s.depthwise || oh < rows.lo || oh >= rows.hi)
        forEachEdgeColumn(
            [&](int64_t ow) { fn(ConvTile{1, blocks, false, true}, oh, ow, kr, colTaps(ow), int64_t(1)); });
    }
    if (s.depthwise) return;
    const int64_t r0 = std::max(span0, rows.lo), r1 = std::min(span1, rows.hi);
    const TapRange allRows{0, s.kernelH};
    forEachEdgeColumn([&](int64_t ow) {
      for (int64_t oh = r0; oh < r1; oh += kMaxColumnPixels) {
        int count = int(std::min<int64_t>(kMaxColumnPixels, r1 - oh));
        fn(ConvTile{count, blocks, count > 1}, oh, ow, allRows, colTaps(ow), int64_t(1));
      }
    });
  }

  // Every group's block count.
  std::vector<int> groupSizes() const {
    std::vector<int> sizes;
    if (s.outBlocks >= main.blocks) sizes.push_back(main.blocks);
    if (s.outBlocks % main.blocks) sizes.push_back(int(s.outBlocks % main.blocks));
    return sizes;
  }
};

// The thread with the most work, over the average, when parallelFor splits
// `copies` x layout.tasksPerGroup() tasks (the spans of each copy: an
// image, a chunk of groups) into `threads` contiguous ranges.
double imbalance(const Layout& layout, int64_t copies, int64_t threads) {
  const int64_t perCopy = layout.tasksPerGroup(), n = copies * perCopy;
  const int64_t chunks = std::min(n, threads);
  const int64_t total = layout.flat ? layout.s.outW : layout.spans;
  auto work = [&](int64_t task) {  // output pixels (flat) or rows of one task
    const int64_t t = task % perCopy;
    if (layout.flat) return std::min(total, (t + 1) * layout.spansPerTask * layout.spanLength) -
                            t * layout.spansPerTask * layout.spanLength;
    return std::min(total, (t + 1) * layout.spansPerTask) - t * layout.spansPerTask;
  };
  int64_t most = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t sum = 0;
    for (int64_t task = n * c / chunks; task < n * (c + 1) / chunks; ++task) sum += work(task);
    most = std::max(most, sum);
  }
  return double(most) * double(chunks) / double(copies * total);
}

// Shrinks a task's spans (rows, or a flat conv's pixel spans, to a third at
// most) where that evens out the threads' work: parallelFor's ranges are
// static, and 7 tasks of 9, 9, ..., 2 rows on 2 threads left one idle for a
// fifth of the time. Which tiles run, and so every output, stays the same.
void balanceTasks(Layout& layout, int64_t copies, int64_t threads, const BlockedConvKernels& kernels) {
  if (threads <= 1) return;
  Layout best = layout;
  double bestImbalance = imbalance(layout, copies, threads);
  Layout trial = layout;
  if (layout.flat) {
    const int64_t step = layout.main.pixels;
    for (int64_t length = layout.spanLength - step; length >= std::max(step, layout.spanLength / 3); length -= step) {
      trial.spanLength = length;
      trial.spans = ceilDiv(trial.s.outW, length);
      if (double d = imbalance(trial, copies, threads); d < bestImbalance - 0.01) {
        bestImbalance = d;
        best = trial;
      }
    }
  } else {
    // Only where the edge columns' tiles (which go down a task's rows) were
    // compiled: convTilesUsed lists those of the default split.
    const bool edgeColumns = layout.columns.lo > 0 || layout.columns.hi < layout.s.outW;
    auto compiled = [&](const Layout& l) {
      if (!edgeColumns) return true;
      for (int64_t span0 = 0; span0 < l.spans; span0 += l.spansPerTask) {
        const int64_t r0 = std::max(span0, l.rows.lo), r1 = std::min(span0 + l.spansPerTask, l.rows.hi);
        for (int64_t oh = r0; oh < r1; oh += kMaxColumnPixels) {
          const int count = int(std::min<int64_t>(kMaxColumnPixels, r1 - oh));
          for (int group : l.groupSizes())
            if (!kernels.lookup(ConvTile{count, group, count > 1})) return false;
        }
      }
      return true;
    };
    for (int64_t rows = layout.spansPerTask - 1; rows >= std::max<int64_t>(1, layout.spansPerTask / 3); --rows) {
      trial.spansPerTask = rows;
      if (double d = imbalance(trial, copies, threads); d < bestImbalance - 0.01 && compiled(trial)) {
        bestImbalance = d;
        best = trial;
      }
    }
  }
  layout = best;
}

// Half-cycles per input channel for one tile: FMAs (2 per cycle, and 4
// cycles of latency per accumulator), 2 per weight vector, 1 per broadcast
// and 2 of loop overhead. The weights fitted to the micro-kernels' measured
// times on ResNet's shapes (2-core AVX-512 Xeon): a tile of one block, which
// broadcasts once per FMA, ran 1.4-1.7x slower per FMA than 6 pixels x 4
// blocks, which the model without the broadcasts preferred.
int64_t tileCost(int64_t pixels, int64_t blocks) {
  return std::max<int64_t>(pixels * blocks, 8) + 2 * blocks + pixels + 2;
}

// The post-op arguments common to every tile (the driver sets the final
// flag and the tile's bias and residual).
void setPostOps(int64_t* args, const ConvPostOperands& post) {
  args[kConvPostClipLow] = std::bit_cast<int32_t>(post.ops.clipLow);
  args[kConvPostClipHigh] = std::bit_cast<int32_t>(post.ops.clipHigh);
}
int64_t pointerArg(const float* p) { return int64_t(reinterpret_cast<intptr_t>(p)); }

// A depthwise convolution: every block is independent (a task per image,
// block and group of rows), its tiles read only that block.
void depthwiseConv2d(ThreadPool& pool, const BlockedConvKernels& kernels, const Layout& layout, const float* x,
                     const float* w, float* y, KernelFn epilogue, void* const* epilogueBuffers,
                     const ConvPostOperands& post) {
  const BlockedConvShape& s = layout.s;
  const int64_t B = s.lanes, plane = s.inH * s.inW * B, outPlane = s.outH * s.outW * B;
  const int64_t wBlock = s.kernelH * s.kernelW * B, tasksPerBlock = layout.tasksPerGroup();
  pool.parallelFor(s.batch * s.outBlocks * tasksPerBlock, [&](int64_t t0, int64_t t1) {
    int64_t args[kConvNumArgs] = {};
    args[kConvInRowStride] = s.dilationH * s.inW * B;
    args[kConvInColStride] = s.dilationW * B;
    args[kConvWeightRowStride] = s.kernelW * B;
    setPostOps(args, post);
    args[kConvPostFlags] = post.ops.flags | kConvPostFinal;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t block = t / tasksPerBlock;  // n * Cb + cb
      args[kConvPostBias] = post.bias ? pointerArg(post.bias + block % s.outBlocks * B) : 0;
      const int64_t span0 = t % tasksPerBlock * layout.spansPerTask;
      const int64_t span1 = std::min(layout.spans, span0 + layout.spansPerTask);
      const float* in = x + block * plane;
      const float* wt = w + block % s.outBlocks * wBlock;
      float* out = y + block * outPlane;
      layout.forEachTile(span0, span1, 1, [&](ConvTile tile, int64_t oh, int64_t ow, TapRange kr, TapRange kc,
                                              int64_t count) {
        args[kConvKernelRows] = kr.hi - kr.lo;
        args[kConvRowTiles] = count;
        args[kConvKernelCols] = kc.hi - kc.lo;
        const bool any = kr.hi > kr.lo && kc.hi > kc.lo;
        const int64_t ih = oh * s.strideH - s.padTop + kr.lo * s.dilationH;
        const int64_t iw = ow * s.strideW - s.padLeft + kc.lo * s.dilationW;
        const int64_t at = (oh * s.outW + ow) * B;
        if (post.residual) args[kConvPostResidual] = pointerArg(post.residual + block * outPlane + at);
        kernels.find(tile)(any ? in + (ih * s.inW + iw) * B : in, any ? wt + (kr.lo * s.kernelW + kc.lo) * B : wt,
                           out + at, args);
      });
      if (!epilogue) continue;
      const int64_t range[4] = {block, block + 1, span0 * s.outW * B, span1 * s.outW * B};
      epilogue(epilogueBuffers, range);
    }
  });
}

}  // namespace

std::string ConvMicroKernelShape::name() const {
  const std::string b = std::to_string(lanes);
  switch (kind) {
    case Kind::Dense:
      return "dlc_conv_b" + b + (plainInput ? "_plain" : "_blocked") + "_p" + std::to_string(pixels) + "_o" +
             std::to_string(blocks) + (stride ? "_s" + std::to_string(stride) : std::string("_col")) +
             (singleTap ? "_1x1" : "");
    case Kind::Depthwise:
      return "dlc_dwconv_b" + b + "_k" + std::to_string(kernelW) + "_s" + std::to_string(stride) + "_d" +
             std::to_string(dilation) + "_p" + std::to_string(pixels);
    case Kind::DepthwiseEdge: return "dlc_dwconv_b" + b + "_edge";
  }
  return "";
}

ConvMicroKernelShape microKernelFor(const BlockedConvShape& shape, ConvTile tile) {
  ConvMicroKernelShape k;
  k.lanes = int(shape.lanes);
  if (shape.depthwise) {
    if (tile.edge) {
      k.kind = ConvMicroKernelShape::Kind::DepthwiseEdge;
      return k;
    }
    k.kind = ConvMicroKernelShape::Kind::Depthwise;
    k.pixels = tile.pixels;
    k.stride = int(shape.strideW);
    k.kernelW = int(shape.kernelW);
    k.dilation = int(shape.dilationW);
    return k;
  }
  k.plainInput = shape.plainInput;
  k.pixels = tile.pixels;
  k.blocks = tile.blocks;
  k.stride = tile.column ? 0 : int(shape.strideW);
  // (check() keeps the last output row and column on the input.)
  k.singleTap = shape.kernelH == 1 && shape.kernelW == 1 && shape.padTop == 0 && shape.padLeft == 0;
  return k;
}

void BlockedConvShape::check() const {
  bool ok = batch >= 0 && inBlocks >= 1 && channelsPerBlock >= 1 && inH >= 1 && inW >= 1 && outBlocks >= 1 &&
            outH >= 1 && outW >= 1 && lanes >= 1 && kernelH >= 1 && kernelW >= 1 && strideH >= 1 && strideW >= 1 &&
            dilationH >= 1 && dilationW >= 1 && padTop >= 0 && padLeft >= 0 &&
            (depthwise ? !plainInput && channelsPerBlock == 1 && inBlocks == outBlocks
                       : (plainInput ? inBlocks == 1 : channelsPerBlock == lanes)) &&
            (outH - 1) * strideH - padTop <= inH - 1 + (kernelH - 1) * dilationH &&
            (outW - 1) * strideW - padLeft <= inW - 1 + (kernelW - 1) * dilationW;
  if (!ok) throw InternalError("blocked conv: inconsistent shape");
}

ConvTile chooseConvTile(const BlockedConvShape& shape, int vectorRegisters) {
  // Half-cycles per micro-kernel call (arguments, stores); a run of row
  // tiles side by side is one call.
  const int64_t kCallOverhead = 60;
  ConvTile best;
  int64_t bestCost = std::numeric_limits<int64_t>::max();
  if (shape.depthwise) {
    // Accumulators, the input vectors of a kernel row (shared by
    // neighbouring pixels), the row's weights and a spare; per tile and
    // kernel row, FMAs and loads at 2 per cycle.
    const int64_t k = shape.kernelW, reach = (k - 1) * shape.dilationW;
    for (int pixels = 1; pixels <= kMaxRowPixels; ++pixels) {
      if (pixels + (pixels * shape.strideW + reach) + k + 1 > vectorRegisters) break;
      Layout layout(shape, {pixels, 1});
      int64_t cost = 0;
      layout.forEachTile(0, layout.spans, 1,
                         [&](ConvTile tile, int64_t, int64_t, TapRange kr, TapRange kc, int64_t count) {
        int64_t p = tile.pixels, loads = tile.edge ? 2 * (kc.hi - kc.lo) : p * shape.strideW + reach + 2 * k;
        cost += count * (kr.hi - kr.lo) * std::max(p * (kc.hi - kc.lo), loads) + kCallOverhead / 4;
      });
      if (cost < bestCost) {
        bestCost = cost;
        best = {pixels, 1};
      }
    }
    return best;
  }
  for (int blocks = 1; blocks <= std::min<int64_t>(4, shape.outBlocks); ++blocks)
    for (int pixels = 1; pixels <= kMaxRowPixels; ++pixels) {
      // Accumulators, a channel's weights, a broadcast and 3 spare, which
      // LLVM's schedule uses to load ahead: 6 x 4 or 13 x 2 with 32
      // registers (9 x 3 and 14 x 2 spilled and ran 1.4x slower).
      if (pixels * blocks + blocks + 4 > vectorRegisters) break;
      Layout layout(shape, {pixels, blocks});
      int64_t cost = 0;
      for (int group : layout.groupSizes()) {
        int64_t groups = group == blocks ? layout.s.outBlocks / blocks : 1;
        for (int64_t t = 0; t < layout.tasksPerGroup(); ++t) {
          int64_t span0 = t * layout.spansPerTask, span1 = std::min(layout.spans, span0 + layout.spansPerTask);
          layout.forEachTile(span0, span1, group,
                             [&](ConvTile tile, int64_t, int64_t, TapRange kr, TapRange kc, int64_t count) {
            int64_t taps = (kr.hi - kr.lo) * (kc.hi - kc.lo);
            const int64_t perChannel = taps * tileCost(tile.pixels, group);
            cost += groups * (count * layout.s.inBlocks * layout.s.channelsPerBlock * perChannel + kCallOverhead);
          });
        }
      }
      // Where each group reads the whole input (weights over L2, see
      // blockedConv2d), the input's bytes once per group, from L2 at about
      // 16 bytes per half-cycle.
      const int64_t inBytes = 4 * shape.inBlocks * shape.channelsPerBlock * shape.inH * shape.inW;
      const int64_t weightBytes = 4 * shape.outBlocks * shape.inBlocks * shape.channelsPerBlock * shape.lanes *
                                  shape.kernelH * shape.kernelW;
      if (weightBytes > kGroupsInsideWeightBytes) cost += ceilDiv(shape.outBlocks, blocks) * inBytes / 16;
      if (cost < bestCost) {
        bestCost = cost;
        best = {pixels, blocks};
      }
    }
  return best;
}

std::vector<ConvTile> convTilesUsed(const BlockedConvShape& shape, ConvTile main) {
  Layout layout(shape, main);
  std::vector<ConvTile> tiles;
  // The default split's tiles, then those of every split balanceTasks may
  // choose (a task's rows decide the edge columns' tiles).
  const int64_t defaultRows = layout.spansPerTask;
  const int64_t fewestRows = layout.flat ? defaultRows : std::max<int64_t>(1, defaultRows / 3);
  for (int64_t rows = defaultRows; rows >= fewestRows; --rows) {
    layout.spansPerTask = rows;
    for (int group : layout.groupSizes())
      for (int64_t t = 0; t < layout.tasksPerGroup(); ++t) {
        int64_t span0 = t * layout.spansPerTask, span1 = std::min(layout.spans, span0 + layout.spansPerTask);
        layout.forEachTile(span0, span1, group, [&](ConvTile tile, int64_t, int64_t, TapRange, TapRange, int64_t) {
          if (std::find(tiles.begin(), tiles.end(), tile) == tiles.end()) tiles.push_back(tile);
        });
      }
  }
  return tiles;
}

ConvMicroKernelFn BlockedConvKernels::lookup(ConvTile t) const {
  for (const auto& [tile, fn] : tiles)
    if (tile == t && fn) return fn;
  return nullptr;
}

ConvMicroKernelFn BlockedConvKernels::find(ConvTile t) const {
  if (ConvMicroKernelFn fn = lookup(t)) return fn;
  throw InternalError("blocked conv: no micro-kernel for a " + std::string(t.column ? "column" : "row") + " tile of " +
                      std::to_string(t.pixels) + " pixels x " + std::to_string(t.blocks) + " blocks");
}

void blockedConv2d(ThreadPool& pool, const BlockedConvKernels& kernels, const BlockedConvShape& shape,
                   const float* x, const float* w, float* y, KernelFn epilogue, void* const* epilogueBuffers,
                   const ConvPostOperands& post) {
  shape.check();
  if (shape.batch == 0) return;
  const Layout layout(shape, kernels.main);
  const BlockedConvShape& s = layout.s;
  const ConvTile main = kernels.main;
  const int64_t B = s.lanes, IB = s.channelsPerBlock, KH = s.kernelH, KW = s.kernelW;
  if (s.depthwise) return depthwiseConv2d(pool, kernels, layout, x, w, y, epilogue, epilogueBuffers, post);
  const int64_t groups = ceilDiv(s.outBlocks, main.blocks);
  // Elements between neighbours in the input: a pixel, a channel, a block.
  const int64_t pixel = s.plainInput ? 1 : B, plane = s.inH * s.inW;
  const int64_t inBlockStride = plane * B, inImage = s.plainInput ? IB * plane : s.inBlocks * plane * B;
  const int64_t wTap = IB * B, wRow = KW * wTap, wBlock = KH * wRow, wOut = s.inBlocks * wBlock;
  const int64_t outPlane = s.outH * s.outW * B;
  const int64_t chunk = std::clamp<int64_t>(kChunkWeightBytes / (wBlock * main.blocks * 4), 1, s.inBlocks);
  // Weights that fit in L2 are read again for each task's rows, and the
  // groups loop inside a task, which reads its input rows once for all of
  // them (a pointwise conv to many channels); larger weights are read once
  // per group, which is then a task of its own. Tasks are split further
  // (a flat conv's spans, then the groups; the groups first where the
  // weights outweigh an image's input) until each thread has about two:
  // neither changes which tiles run, nor any output's arithmetic.
  const bool groupsInside = wOut * s.outBlocks * 4 <= kGroupsInsideWeightBytes;
  Layout lay = layout;
  int64_t groupChunks = groupsInside ? 1 : groups;
  const int64_t threads = pool.numThreads();
  // A split of the pixels reads all weights once per task, one of the
  // groups the image's input once per task: split what is read less.
  const bool weightsOutweighInput = wOut * s.outBlocks > inImage;
  while (s.batch * groupChunks * lay.tasksPerGroup() < 2 * threads) {
    if (weightsOutweighInput && groupChunks < groups) {
      ++groupChunks;
    } else if (lay.flat && lay.spanLength > main.pixels) {
      lay.spanLength = std::max<int64_t>(main.pixels, lay.spanLength / 2 / main.pixels * main.pixels);
      lay.spans = ceilDiv(s.outW, lay.spanLength);
    } else if (groupChunks < groups) {
      ++groupChunks;
    } else {
      break;
    }
  }
  // y over its residual (the memory plan put it there): every chunk
  // accumulates, the first onto the residual, which the post-ops then skip.
  const bool residualInPlace = post.residual == y && (post.ops.flags & kConvPostAddResidual);
  const int64_t postFlags = residualInPlace ? post.ops.flags & ~int64_t(kConvPostAddResidual) : post.ops.flags;
  const int64_t groupsPerChunk = ceilDiv(groups, groupChunks);
  groupChunks = ceilDiv(groups, groupsPerChunk);
  balanceTasks(lay, s.batch * groupChunks, threads, kernels);
  const int64_t tasksPerGroup = lay.tasksPerGroup();

  pool.parallelFor(s.batch * groupChunks * tasksPerGroup, [&](int64_t t0, int64_t t1) {
    int64_t args[kConvNumArgs] = {};
    args[kConvInBlockStride] = inBlockStride;
    args[kConvInRowStride] = s.dilationH * s.inW * pixel;
    args[kConvInColStride] = s.dilationW * pixel;
    args[kConvInChannelStride] = s.plainInput ? plane : 1;
    args[kConvChannelsPerBlock] = IB;
    args[kConvWeightBlockStride] = wBlock;
    args[kConvWeightRowStride] = wRow;
    args[kConvWeightColStride] = wTap;
    args[kConvWeightOutStride] = wOut;
    args[kConvOutBlockStride] = outPlane;
    setPostOps(args, post);
    for (int64_t task = t0; task < t1; ++task)
      for (int64_t group = task / tasksPerGroup % groupChunks * groupsPerChunk,
                   groupEnd = std::min(groups, group + groupsPerChunk);
           group < groupEnd; ++group) {
      const int64_t n = task / (groupChunks * tasksPerGroup);
      const int64_t span0 = task % tasksPerGroup * lay.spansPerTask;
      const int64_t span1 = std::min(lay.spans, span0 + lay.spansPerTask);
      const int64_t ob0 = group * main.blocks;
      const int blocks = int(std::min<int64_t>(main.blocks, s.outBlocks - ob0));
      const float* image = x + n * inImage;
      float* out = y + (n * s.outBlocks + ob0) * outPlane;
      const float* wGroup = w + ob0 * wOut;
      args[kConvPostBias] = post.bias ? pointerArg(post.bias + ob0 * B) : 0;
      for (int64_t cb0 = 0; cb0 < s.inBlocks; cb0 += chunk) {
        args[kConvInBlocks] = std::min(chunk, s.inBlocks - cb0);
        args[kConvAccumulate] = cb0 > 0 || residualInPlace;
        args[kConvPostFlags] = postFlags | (cb0 + chunk >= s.inBlocks ? int64_t(kConvPostFinal) : int64_t(0));
        const float* in = image + (s.plainInput ? 0 : cb0 * inBlockStride);
        const float* wChunk = wGroup + cb0 * wBlock;
        lay.forEachTile(span0, span1, blocks, [&](ConvTile tile, int64_t oh, int64_t ow, TapRange kr, TapRange kc,
                                                  int64_t count) {
          args[kConvKernelRows] = kr.hi - kr.lo;
          args[kConvRowTiles] = count;
          args[kConvKernelCols] = kc.hi - kc.lo;
          args[kConvInPixelStride] = tile.column ? s.strideH * s.inW * pixel : s.strideW * pixel;
          args[kConvOutPixelStride] = tile.column ? s.outW * B : B;
          const bool any = kr.hi > kr.lo && kc.hi > kc.lo;
          const int64_t ih = oh * s.strideH - s.padTop + kr.lo * s.dilationH;
          const int64_t iw = ow * s.strideW - s.padLeft + kc.lo * s.dilationW;
          // With no tap inside, nothing is read: the tile is zeroed (or kept).
          const float* inTile = any ? in + (ih * s.inW + iw) * pixel : in;
          const float* wTile = any ? wChunk + kr.lo * wRow + kc.lo * wTap : wChunk;
          float* outTile = out + (oh * s.outW + ow) * B;
          if (post.residual) args[kConvPostResidual] = pointerArg(post.residual + (outTile - y));
          kernels.find(tile)(inTile, wTile, outTile, args);
        });
      }
      if (!epilogue) continue;
      const int64_t col0 = lay.flat ? span0 * lay.spanLength * B : span0 * s.outW * B;
      const int64_t col1 = lay.flat ? std::min(s.outW, span1 * lay.spanLength) * B : span1 * s.outW * B;
      for (int64_t j = 0; j < blocks; ++j) {
        const int64_t row = n * s.outBlocks + ob0 + j;
        const int64_t range[4] = {row, row + 1, col0, col1};
        epilogue(epilogueBuffers, range);
      }
    }
  });
}

}  // namespace dlc::runtime
