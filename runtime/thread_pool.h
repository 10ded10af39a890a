// A CPU thread pool for the runtime: the caller of parallelFor works too, so
// a pool of N threads starts N-1 workers. No global pool: whoever creates one
// owns it (a compiled model, a benchmark, a test).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dlc::runtime {

class ThreadPool {
 public:
  // numThreads counts the calling thread; <= 0 means the hardware's cores.
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int numThreads() const { return numThreads_; }

  // Partitions [0, n) into contiguous chunks (about one per thread) and calls
  // fn(begin, end) once per chunk; the calling thread runs chunks too. Returns
  // when every chunk is done and rethrows the first exception thrown by fn.
  // Several threads may call parallelFor at once (their jobs share the
  // workers). A call from inside fn (nested) runs serially on its caller.
  void parallelFor(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  struct Job;
  void workerLoop();
  static void runChunk(Job& job, int64_t chunk);

  int numThreads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;  // jobs with chunks still unclaimed
  std::atomic<int> queued_{0};              // queue_.size(), for workers spinning without the mutex
  std::atomic<int> sleepers_{0};            // workers waiting on wake_ (changed under mutex_)
  bool stop_ = false;
};

}  // namespace dlc::runtime
