#include "runtime/program.h"

#include <chrono>
#include <cstdlib>
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
// 64-byte aligned so that arena offsets (multiples of 64) keep vector loads aligned.
struct AlignedFree {
  void operator()(std::byte* p) const { std::free(p); }
};
}  // namespace

void Program::run(ThreadPool& pool, std::span<const void* const> inputs, std::span<void* const> outputs,
                  std::vector<double>* stepSeconds) const {
  std::unique_ptr<std::byte, AlignedFree> arena;
  if (arenaBytes_ > 0) {
    size_t bytes = (size_t(arenaBytes_) + 63) / 64 * 64;
    arena.reset(static_cast<std::byte*>(std::aligned_alloc(64, bytes)));
    if (!arena) throw std::bad_alloc();
  }
  RunContext ctx(arena.get(), inputs, outputs, pool);
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
