#include "runtime/program.h"

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

void Program::run(ThreadPool& pool, std::span<const void* const> inputs, std::span<void* const> outputs) const {
  std::unique_ptr<std::byte, AlignedFree> arena;
  if (arenaBytes_ > 0) {
    size_t bytes = (size_t(arenaBytes_) + 63) / 64 * 64;
    arena.reset(static_cast<std::byte*>(std::aligned_alloc(64, bytes)));
    if (!arena) throw std::bad_alloc();
  }
  RunContext ctx(arena.get(), inputs, outputs, pool);
  for (const auto& step : steps_) step->run(ctx);
}

}  // namespace dlc::runtime
