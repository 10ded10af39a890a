// Tests only, the fake CUDA driver (libcuda.so.1; fake_device.h): device
// memory (host memory, 256-byte aligned, tracked) and copies, every range
// checked against the live allocations.
#include <cstdlib>
#include <cstring>

#include "tests/cuda/fake_cuda/fake_state.h"

using namespace dlc::testing::fake_cuda;

extern "C" {

CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuMemAlloc")) return r;
  if (CUresult r = forbidWhileCapturing("cuMemAlloc")) return r;
  if (!dptr || bytes == 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemAlloc: null pointer or 0 bytes");
  State& s = state();
  if (bytes > kTotalMemory - s.allocatedBytes)
    return fail(CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc of " + std::to_string(bytes) + " bytes with " +
                                              std::to_string(s.allocatedBytes) + " of " + std::to_string(kTotalMemory) +
                                              " in use");
  size_t rounded = (bytes + kAllocationAlignment - 1) / kAllocationAlignment * kAllocationAlignment;
  void* p = std::aligned_alloc(kAllocationAlignment, rounded);
  if (!p) return fail(CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc: host allocation failed");
  std::memset(p, 0xff, rounded);  // no zeroed memory on a GPU: NaN / -1 show reads of unwritten memory
  CUdeviceptr d = reinterpret_cast<CUdeviceptr>(p);
  s.allocations[d] = bytes;
  s.freed.erase(d);
  s.allocatedBytes += bytes;
  *dptr = d;
  return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr dptr) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuMemFree_v2", [&]() -> CUresult {
    if (CUresult r = requireContext("cuMemFree")) return r;
    if (CUresult r = forbidWhileCapturing("cuMemFree")) return r;
    State& s = state();
    auto it = s.allocations.find(dptr);
    if (it == s.allocations.end()) {
      if (dptr && !s.freed.count(dptr) && checkRange(dptr, 1, "cuMemFree") == CUDA_SUCCESS)
        return fail(CUDA_ERROR_INVALID_VALUE,
                    "cuMemFree of " + hexAddress(dptr) + ", inside an allocation, not its start");
      return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFree of " + hexAddress(dptr) +
                                                (s.freed.count(dptr) ? ", freed already" : ", not device memory"));
    }
    s.allocatedBytes -= it->second;
    s.allocations.erase(it);
    s.freed.insert(dptr);
    std::free(reinterpret_cast<void*>(dptr));
    return CUDA_SUCCESS;
  }());
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuMemcpyHtoD")) return r;
  if (CUresult r = forbidWhileCapturing("cuMemcpyHtoD")) return r;
  if (CUresult r = checkRange(dst, bytes, "cuMemcpyHtoD destination")) return r;
  if (bytes && !src) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemcpyHtoD: null host source");
  if (bytes) std::memcpy(reinterpret_cast<void*>(dst), src, bytes);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuMemcpyDtoH")) return r;
  if (CUresult r = forbidWhileCapturing("cuMemcpyDtoH")) return r;
  if (CUresult r = checkRange(src, bytes, "cuMemcpyDtoH source")) return r;
  if (bytes && !dst) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemcpyDtoH: null host destination");
  if (bytes) std::memcpy(dst, reinterpret_cast<const void*>(src), bytes);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, CUstream stream) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuMemcpyHtoDAsync")) return r;
  if (CUresult r = checkRange(dst, bytes, "cuMemcpyHtoDAsync destination")) return r;
  if (bytes && !src) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemcpyHtoDAsync: null host source");
  // Captured, the host memory is read when the graph runs (as on a GPU).
  return submit(stream, "cuMemcpyHtoDAsync", [=] {
    if (CUresult r = checkRange(dst, bytes, "cuMemcpyHtoDAsync destination")) return r;
    if (bytes) std::memcpy(reinterpret_cast<void*>(dst), src, bytes);
    return CUDA_SUCCESS;
  });
}

CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuMemcpyDtoHAsync")) return r;
  if (CUresult r = checkRange(src, bytes, "cuMemcpyDtoHAsync source")) return r;
  if (bytes && !dst) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemcpyDtoHAsync: null host destination");
  return runUncapturable(stream, "cuMemcpyDtoHAsync", [=] {
    if (bytes) std::memcpy(dst, reinterpret_cast<const void*>(src), bytes);
    return CUDA_SUCCESS;
  });
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuMemcpyDtoDAsync")) return r;
  auto work = [=]() -> CUresult {
    if (CUresult r = checkRange(src, bytes, "cuMemcpyDtoDAsync source")) return r;
    if (CUresult r = checkRange(dst, bytes, "cuMemcpyDtoDAsync destination")) return r;
    if (src != dst && src < dst + bytes && dst < src + bytes)
      return fail(CUDA_ERROR_INVALID_VALUE, "cuMemcpyDtoDAsync: source " + hexAddress(src) + " and destination " +
                                                hexAddress(dst) + " overlap (" + std::to_string(bytes) + " bytes)");
    if (bytes) std::memcpy(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes);
    return CUDA_SUCCESS;
  };
  if (CUresult r = checkRange(src, bytes, "cuMemcpyDtoDAsync source")) return r;
  if (CUresult r = checkRange(dst, bytes, "cuMemcpyDtoDAsync destination")) return r;
  return submit(stream, "cuMemcpyDtoDAsync", work);
}

CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n, CUstream stream) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuMemsetD8Async")) return r;
  if (CUresult r = checkRange(dst, n, "cuMemsetD8Async destination")) return r;
  return submit(stream, "cuMemsetD8Async", [=] {
    if (CUresult r = checkRange(dst, n, "cuMemsetD8Async destination")) return r;
    if (n) std::memset(reinterpret_cast<void*>(dst), value, n);
    return CUDA_SUCCESS;
  });
}

}  // extern "C"
