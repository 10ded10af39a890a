// Jobs are queued; a worker claims the next chunk of the job at the front
// (an atomic counter), so concurrent callers share the workers and each
// caller also drains its own job. The caller waits on its job's counter of
// unfinished chunks, then unlinks the job: a worker that still holds a
// pointer to it (shared_ptr) only finds no chunk left.
//
// A program runs one parallelFor per step, back to back, so a worker that
// has just finished a chunk spins briefly for the next job before it goes
// to sleep, and a caller spins briefly for its job's last chunks before it
// blocks: waking a sleeping thread costs tens of microseconds, as much as a
// small step. Both spins are bounded in time, so an idle pool sleeps.
#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>

namespace dlc::runtime {

namespace {
// Set while a thread runs a chunk: a nested parallelFor then runs serially
// (a worker waiting on its own sub-job could otherwise starve the pool).
thread_local bool tInsideChunk = false;

struct ChunkScope {
  bool previous = tInsideChunk;
  ChunkScope() { tInsideChunk = true; }
  ~ChunkScope() { tInsideChunk = previous; }
};

constexpr std::chrono::microseconds kSpin{50};

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or kSpin has passed; returns done().
template <typename Done>
bool spinUntil(Done&& done) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (done()) return true;
    cpuRelax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return done();
  }
}
}  // namespace

struct ThreadPool::Job {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t n;
  int64_t chunks;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> unfinished;
  std::mutex mutex;
  std::condition_variable done;
  std::exception_ptr error;
};

ThreadPool::ThreadPool(int numThreads) {
  if (numThreads <= 0) numThreads = int(std::max(1u, std::thread::hardware_concurrency()));
  numThreads_ = numThreads;
  workers_.reserve(size_t(numThreads - 1));
  for (int i = 1; i < numThreads; ++i) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    queued_.store(1);  // spinning workers look at the queue
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::runChunk(Job& job, int64_t chunk) {
  int64_t begin = job.n * chunk / job.chunks;
  int64_t end = job.n * (chunk + 1) / job.chunks;
  try {
    ChunkScope scope;
    (*job.fn)(begin, end);
  } catch (...) {
    std::lock_guard lock(job.mutex);
    if (!job.error) job.error = std::current_exception();
  }
  if (job.unfinished.fetch_sub(1) == 1) {
    std::lock_guard lock(job.mutex);  // pairs with the caller's wait
    job.done.notify_all();
  }
}

void ThreadPool::workerLoop() {
  for (;;) {
    const bool sawJob = spinUntil([&] { return queued_.load(std::memory_order_acquire) > 0; });
    std::unique_lock lock(mutex_);
    // What the spin saw may be the job just finished, which its caller
    // removed meanwhile: spin again for the next one rather than sleep
    // (the futex wake would cost the next job ~20 us, in which its caller
    // ran the worker's chunk too: a 2-thread pool ran a third of its jobs
    // serially).
    if (queue_.empty() && !stop_ && sawJob) continue;
    if (queue_.empty() && !stop_) {
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      sleepers_.fetch_sub(1);
    }
    if (stop_) return;
    std::shared_ptr<Job> job = queue_.front();
    int64_t chunk = job->next.fetch_add(1);
    if (chunk >= job->chunks) {
      if (!queue_.empty() && queue_.front() == job) {
        queue_.pop_front();
        queued_.store(int(queue_.size()), std::memory_order_release);
      }
      continue;
    }
    lock.unlock();
    runChunk(*job, chunk);
  }
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t chunks = std::min<int64_t>(n, numThreads_);
  if (chunks == 1 || tInsideChunk) {
    ChunkScope scope;
    fn(0, n);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  job->chunks = chunks;
  job->unfinished = chunks;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(job);
    queued_.store(int(queue_.size()), std::memory_order_release);
  }
  // Sleepers count under the mutex (see workerLoop), so one that went to
  // sleep before the push is counted here; spinning ones need no wake-up.
  if (sleepers_.load() > 0) wake_.notify_all();
  for (int64_t chunk; (chunk = job->next.fetch_add(1)) < chunks;) runChunk(*job, chunk);
  if (!spinUntil([&] { return job->unfinished.load(std::memory_order_acquire) == 0; })) {
    std::unique_lock lock(job->mutex);
    job->done.wait(lock, [&] { return job->unfinished.load() == 0; });
  }
  {
    std::lock_guard lock(mutex_);
    auto it = std::find(queue_.begin(), queue_.end(), job);
    if (it != queue_.end()) queue_.erase(it);
    queued_.store(int(queue_.size()), std::memory_order_release);
  }
  if (job->error) std::rethrow_exception(job->error);
}

}  // namespace dlc::runtime
