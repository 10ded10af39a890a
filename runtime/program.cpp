#include "runtime/program.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <new>

namespace dlc::runtime {

void* RunContext::resolve(const BufferRef& ref) const {
  switch (ref.space) {
    case BufferRef::Space::Arena: return arena_ + ref.offset;
    case BufferRef::Space::Input: return const_cast<void*>(inputs_[size_t(ref.offset)]);
    case BufferRef::Space::Output: return outputs_[size_t(ref.offset)];
    case BufferRef::Space::Fixed: return const_cast<void*>(ref.fixed);
  }
  return nullptr;
}

namespace {
void alignedFree(std::byte* p) { std::free(p); }
}  // namespace

struct Program::ArenaPool {
  std::mutex mutex;
  std::vector<Arena> free;
};

void Program::setArenaBytes(int64_t bytes) {
  arenaBytes_ = bytes;
  arenas_ = std::make_shared<ArenaPool>();
}

// 64-byte aligned so that arena offsets (multiples of 64) keep vector loads aligned.
Program::Arena Program::acquireArena() const {
  if (arenas_) {
    std::lock_guard lock(arenas_->mutex);
    if (!arenas_->free.empty()) {
      Arena arena = std::move(arenas_->free.back());
      arenas_->free.pop_back();
      return arena;
    }
  }
  Arena arena(nullptr, alignedFree);
  if (arenaBytes_ > 0) {
    size_t bytes = (size_t(arenaBytes_) + 63) / 64 * 64;
    arena.reset(static_cast<std::byte*>(std::aligned_alloc(64, bytes)));
    if (!arena) throw std::bad_alloc();
  }
  return arena;
}

void Program::releaseArena(Arena arena) const {
  if (!arena || !arenas_) return;
  std::lock_guard lock(arenas_->mutex);
  arenas_->free.push_back(std::move(arena));
}

void Program::run(ThreadPool& pool, std::span<const void* const> inputs, std::span<void* const> outputs,
                  std::vector<double>* stepSeconds) const {
  // Returned to the pool however the run ends (a step's error included).
  struct Lease {
    const Program& program;
    Arena arena;
    ~Lease() { program.releaseArena(std::move(arena)); }
  } lease{*this, acquireArena()};
  RunContext ctx(lease.arena.get(), inputs, outputs, pool);
  if (!stepSeconds) {
    for (const auto& step : steps_) step->run(ctx);
    return;
  }
  stepSeconds->resize(steps_.size(), 0.0);
  for (size_t i = 0; i < steps_.size(); ++i) {
    auto start = std::chrono::steady_clock::now();
    steps_[i]->run(ctx);
    (*stepSeconds)[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
}

}  // namespace dlc::runtime
