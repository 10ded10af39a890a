#include "tests/cuda/fake_cuda/fake_device.h"

#include <cinttypes>
#include <cstdio>

#include "tests/cuda/fake_cuda/fake_state.h"

namespace dlc::testing::fake_cuda {

namespace {

struct LastError {
  CUresult code = CUDA_SUCCESS;
  std::string detail;
};
thread_local LastError lastError;

// Where `p` is, for error messages: inside or past which allocation.
std::string locate(CUdeviceptr p) {
  State& s = state();
  auto it = s.allocations.upper_bound(p);
  if (it != s.allocations.begin()) {
    auto prev = std::prev(it);
    if (p < prev->first + prev->second)
      return "offset " + std::to_string(p - prev->first) + " of the allocation at " + hexAddress(prev->first) + " (" +
             std::to_string(prev->second) + " bytes)";
    return std::to_string(p - (prev->first + prev->second)) + " bytes past the end of the allocation at " +
           hexAddress(prev->first) + " (" + std::to_string(prev->second) + " bytes)";
  }
  return "not in any live allocation";
}

// The capture that a synchronous call on this thread would break.
CUstream_st* captureOfThisThread() {
  for (auto& [h, st] : state().streams)
    if (st->capture && (st->capture->mode == CU_STREAM_CAPTURE_MODE_GLOBAL ||
                        (st->capture->mode == CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
                         st->capture->thread == std::this_thread::get_id())))
      return st.get();
  return nullptr;
}

}  // namespace

State& state() {
  static State* s = new State;
  return *s;
}

CUcontext& currentContext() {
  thread_local CUcontext current = nullptr;
  return current;
}

std::string hexAddress(CUdeviceptr p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, uint64_t(p));
  return buf;
}

CUresult noteRelease(const char* call, CUresult r) {
  if (r != CUDA_SUCCESS) {
    ++state().failedReleases;
    state().lastFailedRelease = std::string(call) + ": " + lastDetail(r);
  }
  return r;
}

std::unique_lock<std::recursive_mutex> lockDevice() { return std::unique_lock(state().mutex); }

CUresult fail(CUresult r, std::string detail) {
  lastError = {r, std::move(detail)};
  return r;
}

std::string lastDetail(CUresult r) { return lastError.code == r ? lastError.detail : ""; }

CUresult requireInit(const char* call) {
  if (!state().initialized) return fail(CUDA_ERROR_NOT_INITIALIZED, std::string(call) + " before cuInit");
  return CUDA_SUCCESS;
}

CUresult requireContext(const char* call) {
  if (CUresult r = requireInit(call)) return r;
  CUcontext c = currentContext();
  if (!c) return fail(CUDA_ERROR_INVALID_CONTEXT, std::string(call) + " with no current context on this thread");
  if (c->retains <= 0)
    return fail(CUDA_ERROR_CONTEXT_IS_DESTROYED,
                std::string(call) + ": the current context is the primary context, released by every retainer");
  return CUDA_SUCCESS;
}

CUresult checkRange(CUdeviceptr p, size_t bytes, const std::string& what) {
  if (bytes == 0) return CUDA_SUCCESS;
  State& s = state();
  auto it = s.allocations.upper_bound(p);
  if (it != s.allocations.begin()) {
    auto prev = std::prev(it);
    if (p >= prev->first && p - prev->first <= prev->second && bytes <= prev->second - (p - prev->first))
      return CUDA_SUCCESS;
  }
  std::string why = s.freed.count(p) ? " (freed memory)" : "";
  return fail(CUDA_ERROR_ILLEGAL_ADDRESS, what + ": " + std::to_string(bytes) + " bytes at " + hexAddress(p) + why +
                                              " do not lie in one live allocation: " + locate(p));
}

CUresult forbidWhileCapturing(const char* call) {
  if (CUstream_st* st = captureOfThisThread()) {
    if (st->capture->invalidatedBy.empty()) st->capture->invalidatedBy = call;
    return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
                std::string(call) + " while this thread captures a stream (the capture is now invalid)");
  }
  return CUDA_SUCCESS;
}

bool validStream(CUstream stream) { return !stream || state().streams.count(stream); }

CUresult submit(CUstream stream, std::string what, Work work) {
  if (!validStream(stream)) return fail(CUDA_ERROR_INVALID_HANDLE, what + ": unknown stream");
  CUstream_st* st = stream ? state().streams.at(stream).get() : nullptr;
  if (st && st->capture) {
    if (!st->capture->invalidatedBy.empty())
      return fail(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
                  what + ": the stream's capture was invalidated by " + st->capture->invalidatedBy);
    st->capture->graph->nodes.push_back({std::move(what), std::move(work)});
    return CUDA_SUCCESS;
  }
  return work();
}

CUresult runUncapturable(CUstream stream, const char* call, const Work& work) {
  if (!validStream(stream)) return fail(CUDA_ERROR_INVALID_HANDLE, std::string(call) + ": unknown stream");
  CUstream_st* st = stream ? state().streams.at(stream).get() : nullptr;
  if (st && st->capture) {
    if (st->capture->invalidatedBy.empty()) st->capture->invalidatedBy = call;
    return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
                std::string(call) + " on a capturing stream (a copy to pageable host memory cannot be captured)");
  }
  return work();
}

void addBlasHandle(const void* h) { state().blasHandles.insert(h); }
bool removeBlasHandle(const void* h) { return state().blasHandles.erase(h) > 0; }
bool hasBlasHandle(const void* h) { return state().blasHandles.count(h) > 0; }

}  // namespace dlc::testing::fake_cuda
