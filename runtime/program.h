// A compiled program: a list of steps (kernel launches, GEMMs, library calls)
// over buffers that live in the user's inputs and outputs, in constants owned
// by the program, or in one arena per run laid out by the memory planner.
// The runtime knows nothing of ONNX, LLVM or the IR: codegen builds the steps.
//
// A Program is immutable once built; run() may be called from several
// threads at once (each run has its own arena).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/thread_pool.h"

namespace dlc::runtime {

// Where a buffer lives; resolved to a pointer for each run.
struct BufferRef {
  enum class Space : uint8_t { Arena, Input, Output, Fixed };
  Space space = Space::Fixed;
  int64_t offset = 0;           // Arena: byte offset; Input/Output: index
  const void* fixed = nullptr;  // Fixed: constant data owned by the program
};

class RunContext {
 public:
  RunContext(std::byte* arena, std::span<const void* const> inputs, std::span<void* const> outputs,
             ThreadPool& pool)
      : arena_(arena), inputs_(inputs), outputs_(outputs), pool_(pool) {}
  void* resolve(const BufferRef& ref) const;
  ThreadPool& pool() const { return pool_; }

 private:
  std::byte* arena_;
  std::span<const void* const> inputs_;
  std::span<void* const> outputs_;
  ThreadPool& pool_;
};

class Step {
 public:
  virtual ~Step() = default;
  virtual void run(const RunContext& ctx) const = 0;
  // One line for `dlc inspect`: what runs and how it is implemented.
  virtual std::string describe() const = 0;
};

class Program {
 public:
  void addStep(std::unique_ptr<Step> step) { steps_.push_back(std::move(step)); }
  void setArenaBytes(int64_t bytes);
  // Keeps an object (constant data, JIT code) alive as long as the program.
  void keepAlive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }

  int64_t arenaBytes() const { return arenaBytes_; }
  const std::vector<std::unique_ptr<Step>>& steps() const { return steps_; }

  // Runs every step in order with an arena from the program's pool of
  // arenas (one per concurrent run, kept for the next runs: no allocation
  // and no fresh pages per run once warm). With `stepSeconds`, the
  // wall-clock time of each step is added to its entry (profiling).
  void run(ThreadPool& pool, std::span<const void* const> inputs, std::span<void* const> outputs,
           std::vector<double>* stepSeconds = nullptr) const;

 private:
  using Arena = std::unique_ptr<std::byte, void (*)(std::byte*)>;
  Arena acquireArena() const;
  void releaseArena(Arena arena) const;

  std::vector<std::unique_ptr<Step>> steps_;
  int64_t arenaBytes_ = 0;
  std::vector<std::shared_ptr<const void>> owners_;
  // Arenas of finished runs, for the next ones (thread-safe).
  struct ArenaPool;
  std::shared_ptr<ArenaPool> arenas_;
};

}  // namespace dlc::runtime
