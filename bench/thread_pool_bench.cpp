// The thread pool's hand-off: how long after parallelFor starts does the
// last chunk start, for two chunks of 20 us each on 2 threads, with a gap
// of G us of the caller's own work between jobs (a program's steps back to
// back: G about 0-20 us; a worker sleeps after 50 us without a job). When a
// worker is slow to claim its chunk, the caller runs it too, after its own:
// the job then takes twice as long. Counters: the median start of the last
// chunk and the share of jobs whose chunks all ran on the caller.
//
// Build and run: cmake --build build --target thread_pool_bench &&
// build/thread_pool_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "runtime/thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;

void busy(std::chrono::microseconds d) {
  for (auto until = Clock::now() + d; Clock::now() < until;) {
  }
}

void BM_ParallelForHandoff(benchmark::State& state) {
  const auto gap = std::chrono::microseconds(state.range(0));
  dlc::runtime::ThreadPool pool(2);
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<double> lastStartUs;
  int64_t serial = 0, jobs = 0;
  for (auto _ : state) {
    std::atomic<int64_t> startNs[2] = {0, 0};
    std::atomic<bool> workerRan{false};
    const auto t0 = Clock::now();
    pool.parallelFor(2, [&](int64_t begin, int64_t) {
      startNs[begin] = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
      if (std::this_thread::get_id() != caller) workerRan = true;
      busy(std::chrono::microseconds(20));
    });
    lastStartUs.push_back(double(std::max(startNs[0].load(), startNs[1].load())) / 1000.0);
    serial += workerRan ? 0 : 1;
    ++jobs;
    state.PauseTiming();
    busy(gap);
    state.ResumeTiming();
  }
  std::sort(lastStartUs.begin(), lastStartUs.end());
  state.counters["last_chunk_start_us"] = lastStartUs[lastStartUs.size() / 2];
  state.counters["serial_jobs"] = double(serial) / double(jobs);
}
BENCHMARK(BM_ParallelForHandoff)->ArgName("gap_us")->Arg(0)->Arg(5)->Arg(20)->Arg(45)->Iterations(2000);

}  // namespace

BENCHMARK_MAIN();
