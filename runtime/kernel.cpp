#include "runtime/kernel.h"

#include <algorithm>

namespace dlc::runtime {

void launchKernel(ThreadPool& pool, KernelFn fn, void* const* buffers, int64_t extent0, int64_t extent1) {
  launchKernel(pool, fn, buffers, extent0, extent1, kDefaultMinPointsPerTile);
}

void launchKernel(ThreadPool& pool, KernelFn fn, void* const* buffers, int64_t extent0, int64_t extent1,
                  int64_t minPointsPerTile) {
  if (extent0 <= 0 || extent1 <= 0) return;
  int64_t points = extent0 > INT64_MAX / extent1 ? INT64_MAX : extent0 * extent1;
  int64_t grain = std::max<int64_t>(1, minPointsPerTile);
  int64_t tiles = std::clamp<int64_t>(points / grain, 1, pool.numThreads());
  if (tiles == 1) {
    int64_t range[4] = {0, extent0, 0, extent1};
    fn(buffers, range);
    return;
  }
  // tiles0 x tiles1 grid: rows first.
  int64_t tiles0 = std::min(tiles, extent0);
  int64_t tiles1 = std::min(extent1, tiles / tiles0);  // never more tiles than threads
  pool.parallelFor(tiles0 * tiles1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t t0 = t / tiles1, t1 = t % tiles1;
      int64_t range[4] = {extent0 * t0 / tiles0, extent0 * (t0 + 1) / tiles0, extent1 * t1 / tiles1,
                          extent1 * (t1 + 1) / tiles1};
      fn(buffers, range);
    }
  });
}

}  // namespace dlc::runtime
