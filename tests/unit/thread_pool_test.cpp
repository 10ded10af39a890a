// The runtime's thread pool and the 2-D kernel launcher.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/kernel.h"
#include "runtime/thread_pool.h"

using namespace dlc::runtime;

TEST(ThreadPool, CoversTheRangeExactlyOnce) {
  for (int threads : {1, 2, 4, 7}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.numThreads(), threads);
    for (int64_t n : {0, 1, 2, 3, 5, 16, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> calls{0};
      pool.parallelFor(n, [&](int64_t b, int64_t e) {
        EXPECT_LT(b, e);
        ++calls;
        for (int64_t i = b; i < e; ++i) ++hits[size_t(i)];
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "n=" << n << " i=" << i;
      EXPECT_LE(calls.load(), std::max<int64_t>(1, std::min<int64_t>(n, threads)));
      if (n > 0) {
        EXPECT_EQ(calls.load(), std::min<int64_t>(n, threads));
      }
    }
  }
}

TEST(ThreadPool, DefaultUsesHardwareThreads) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.numThreads(), int(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(ThreadPool, UsesSeveralThreads) {
  ThreadPool pool(4);
  std::mutex m;
  std::set<std::thread::id> ids;
  std::atomic<int> arrived{0};
  pool.parallelFor(4, [&](int64_t, int64_t) {
    {
      std::lock_guard lock(m);
      ids.insert(std::this_thread::get_id());
    }
    // Every chunk waits for the others: only possible if they run at once.
    ++arrived;
    while (arrived.load() < 4) std::this_thread::yield();
  });
  EXPECT_EQ(ids.size(), 4u);
}

TEST(ThreadPool, RethrowsTheFirstExceptionAfterAllChunksFinish) {
  ThreadPool pool(4);
  std::atomic<int> finished{0};
  EXPECT_THROW(pool.parallelFor(8,
                                [&](int64_t b, int64_t) {
                                  if (b == 0) throw std::runtime_error("chunk 0 failed");
                                  ++finished;
                                }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 3);
  // The pool still works afterwards.
  std::atomic<int64_t> sum{0};
  pool.parallelFor(100, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, ConcurrentCallersAndNestedCalls) {
  ThreadPool pool(3);
  std::vector<std::thread> callers;
  std::atomic<int64_t> total{0};
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep)
        pool.parallelFor(10, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i)
            pool.parallelFor(3, [&](int64_t b2, int64_t e2) { total += e2 - b2; });  // nested: serial
        });
    });
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 50 * 10 * 3);
}

namespace {
std::mutex gTilesMutex;
std::vector<std::array<int64_t, 4>> gTiles;
void recordTile(void* const* buffers, const int64_t* range) {
  auto* grid = static_cast<std::atomic<int>*>(buffers[0]);
  int64_t width = *static_cast<const int64_t*>(buffers[1]);
  for (int64_t i = range[0]; i < range[1]; ++i)
    for (int64_t j = range[2]; j < range[3]; ++j) ++grid[i * width + j];
  std::lock_guard lock(gTilesMutex);
  gTiles.push_back({range[0], range[1], range[2], range[3]});
}
}  // namespace

TEST(LaunchKernel, TilesCoverTheSpaceOnce) {
  ThreadPool pool(4);
  struct Case {
    int64_t e0, e1, grain;
    size_t expectTiles;
  };
  for (Case c : {Case{100, 50, 1, 4}, Case{2, 1000, 1, 4}, Case{1, 1000, 1, 4}, Case{3, 3, 1, 3},
                 Case{10, 10, 1024, 1}, Case{64, 64, 1024, 4}, Case{1, 1, 1, 1}, Case{3, 1, 1, 3}}) {
    std::vector<std::atomic<int>> grid(size_t(c.e0 * c.e1));
    int64_t width = c.e1;
    void* buffers[2] = {grid.data(), &width};
    gTiles.clear();
    launchKernel(pool, recordTile, buffers, c.e0, c.e1, c.grain);
    for (auto& g : grid) ASSERT_EQ(g.load(), 1) << c.e0 << "x" << c.e1;
    EXPECT_EQ(gTiles.size(), c.expectTiles) << c.e0 << "x" << c.e1;
    for (auto& t : gTiles) EXPECT_TRUE(t[0] < t[1] && t[2] < t[3]);
  }
  gTiles.clear();
  launchKernel(pool, recordTile, nullptr, 0, 5);
  EXPECT_TRUE(gTiles.empty());
}
