// Host emulation of generated CUDA source (tests only): with this header
// included first, a program from codegen/cuda/cuda_emitter compiles as plain
// C++ (c++ -std=c++17 -ffp-contract=off) and a kernel runs on the CPU when a
// caller sets gridDim/blockDim and calls dlc_emu::runGrid.
//
// A block's threads run as fibers (ucontext) on one OS thread, round-robin:
// a thread runs until it reaches __syncthreads, __syncwarp or a warp shuffle,
// or returns. When no thread can run, the emulator releases every warp whose
// 32 lanes all wait at a shuffle or __syncwarp (exchanging the shuffled
// values: __shfl_xor_sync reads lane ^ mask, __shfl_down_sync lane + delta,
// or the caller's own value past the warp), else the whole block when every
// live thread waits at __syncthreads (exited threads count as arrived, as on
// the GPU); anything else is a deadlock or a divergent warp, reported and
// aborted. Blocks run one after another, so __shared__ (static storage) is
// the block's shared memory. Warp size 32; a block of shuffling threads must
// hold whole warps. The emulation is exact for the kernels' integer and
// memory semantics; math functions are the host libm's (<math.h>), which
// differ from CUDA's by a few ulp at most for the transcendental ones.
#pragma once

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <memory>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static

struct DlcDim3 {
  unsigned x = 0, y = 1, z = 1;
};
static DlcDim3 blockIdx, threadIdx, blockDim, gridDim;

static inline float __uint_as_float(unsigned int b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}
static inline unsigned int __float_as_uint(float f) {
  unsigned int b;
  memcpy(&b, &f, 4);
  return b;
}
static inline double __longlong_as_double(long long b) {
  double d;
  memcpy(&d, &b, 8);
  return d;
}
static inline long long __double_as_longlong(double d) {
  long long b;
  memcpy(&b, &d, 8);
  return b;
}

namespace dlc_emu {

enum class State { Runnable, AtBlockBarrier, AtWarpExchange, Done };

struct Fiber {
  ucontext_t context;
  State state = State::Runnable;
  unsigned char in[8], out[8];  // shuffled value (at most 8 bytes)
  int source = 0;               // the lane whose value this lane reads
};

struct Scheduler {
  ucontext_t main;
  std::vector<Fiber> fibers;
  std::vector<std::unique_ptr<char[]>> stacks;
  unsigned current = 0;
  void (*body)(void*) = nullptr;
  void* context = nullptr;
};
// static, not inline: g++ makes the static local of an inline function a
// process-wide unique symbol (STB_GNU_UNIQUE), which would make every
// emulation library loaded in a process share one scheduler, the one of the
// library loaded first, even after that library is unloaded.
static Scheduler& scheduler() {
  static Scheduler s;
  return s;
}
constexpr size_t kStackBytes = 128 * 1024;

[[noreturn]] inline void fail(const char* what) {
  fprintf(stderr, "CUDA host emulation: %s (block %u)\n", what, blockIdx.x);
  abort();
}

inline void fiberEntry() {
  Scheduler& s = scheduler();
  s.body(s.context);
  s.fibers[s.current].state = State::Done;  // uc_link returns to the scheduler
}

// Called by the running thread: wait in `state` until released.
inline void wait(State state) {
  Scheduler& s = scheduler();
  unsigned me = s.current;
  s.fibers[me].state = state;
  swapcontext(&s.fibers[me].context, &s.main);
  threadIdx.x = me;
}

// Runs body(context) once per thread of block blockIdx.x (blockDim.x threads).
inline void runBlock(void (*body)(void*), void* context) {
  Scheduler& s = scheduler();
  unsigned n = blockDim.x;
  s.body = body;
  s.context = context;
  s.fibers.assign(n, Fiber{});
  while (s.stacks.size() < n) s.stacks.emplace_back(new char[kStackBytes]);
  for (unsigned t = 0; t < n; ++t) {
    Fiber& f = s.fibers[t];
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = s.stacks[t].get();
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = &s.main;
    makecontext(&f.context, fiberEntry, 0);
  }
  for (;;) {
    for (unsigned t = 0; t < n; ++t) {
      if (s.fibers[t].state != State::Runnable) continue;
      s.current = t;
      threadIdx.x = t;
      swapcontext(&s.main, &s.fibers[t].context);
    }
    bool released = false, live = false, allAtBarrier = true;
    for (unsigned w = 0; w * 32 < n; ++w) {
      unsigned begin = w * 32, end = begin + 32 < n ? begin + 32 : n;
      unsigned exchanging = 0;
      for (unsigned t = begin; t < end; ++t) exchanging += s.fibers[t].state == State::AtWarpExchange;
      if (exchanging == 0) continue;
      if (exchanging != 32) fail("a warp shuffle or __syncwarp that not all 32 lanes of the warp reach");
      for (unsigned t = begin; t < end; ++t) {
        Fiber& f = s.fibers[t];
        int src = f.source;
        memcpy(f.out, src >= int(begin) && src < int(end) ? s.fibers[unsigned(src)].in : f.in, 8);
      }
      for (unsigned t = begin; t < end; ++t) s.fibers[t].state = State::Runnable;
      released = true;
    }
    if (released) continue;
    for (const Fiber& f : s.fibers) {
      if (f.state == State::Done) continue;
      live = true;
      allAtBarrier = allAtBarrier && f.state == State::AtBlockBarrier;
    }
    if (!live) break;
    if (!allAtBarrier) fail("deadlock");
    for (Fiber& f : s.fibers)
      if (f.state == State::AtBlockBarrier) f.state = State::Runnable;
  }
}

template <class T>
T exchange(T v, int sourceLaneInWarp) {
  static_assert(sizeof(T) <= 8, "shuffled values are at most 8 bytes");
  Scheduler& s = scheduler();
  Fiber& f = s.fibers[s.current];
  unsigned warpBase = s.current / 32 * 32;
  memcpy(f.in, &v, sizeof(T));
  f.source = sourceLaneInWarp < 0 ? int(s.current) : int(warpBase) + sourceLaneInWarp;
  wait(State::AtWarpExchange);
  Fiber& g = s.fibers[threadIdx.x];
  T r;
  memcpy(&r, g.out, sizeof(T));
  return r;
}

// Runs every block of the grid (gridDim.x blocks of blockDim.x threads).
template <class F>
void runGrid(F& kernelCall) {
  for (unsigned b = 0; b < gridDim.x; ++b) {
    blockIdx.x = b;
    runBlock([](void* c) { (*static_cast<F*>(c))(); }, &kernelCall);
  }
}

}  // namespace dlc_emu

static inline void __syncthreads() { dlc_emu::wait(dlc_emu::State::AtBlockBarrier); }
static inline void __syncwarp(unsigned = 0xffffffffu) { dlc_emu::exchange<unsigned char>(0, -1); }
template <class T>
static inline T __shfl_xor_sync(unsigned, T v, int laneMask, int = 32) {
  return dlc_emu::exchange(v, int(threadIdx.x % 32u) ^ laneMask);
}
template <class T>
static inline T __shfl_down_sync(unsigned, T v, unsigned delta, int = 32) {
  unsigned lane = threadIdx.x % 32u + delta;
  return dlc_emu::exchange(v, lane < 32u ? int(lane) : -1);
}
