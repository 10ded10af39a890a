// Tests only: the one fake CUDA device behind the fake driver
// (libcuda.so.1, fake_driver_*.cpp) and the fake cuBLAS (libcublas.so.13,
// fake_cublas.cpp), which links the driver library so that both share this
// state. A fake driver has process-wide state by nature; all of it lives in
// fake_device.cpp, behind one lock.
//
// The model, strict where a real GPU would catch a bug:
//  - device memory is host memory (256-byte aligned, filled with 0xff bytes,
//    which read as NaN or -1, as a GPU gives no zeroed memory); every
//    pointer a copy, memset, kernel or GEMM touches must lie, with its whole
//    extent, in one live allocation;
//  - streams run work synchronously when it is submitted, except while they
//    capture (cuStreamBeginCapture): then work is recorded into a graph
//    (kernel parameter values copied at record time) that cuGraphLaunch
//    replays, checking every pointer again; synchronous calls (allocations,
//    frees, blocking copies, stream synchronisation) on a capturing thread
//    fail with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and invalidate the
//    capture, as the real driver does;
//  - a failed call says why through cuGetErrorString (and, for cuBLAS,
//    cublasGetStatusName) on the failing thread.
#pragma once

#include <cuda.h>

#include <functional>
#include <mutex>
#include <string>

namespace dlc::testing::fake_cuda {

// Every entry point holds this lock for its whole call: the device runs one
// thing at a time (the emulated kernels share the shim's globals).
std::unique_lock<std::recursive_mutex> lockDevice();

// Records `detail` as the reason of the current call's failure (for
// cuGetErrorString on this thread) and returns `r`.
CUresult fail(CUresult r, std::string detail);
// The reason recorded for `r` on this thread ("" when none).
std::string lastDetail(CUresult r);

// "0x7f..." for messages.
std::string hexAddress(CUdeviceptr p);

// A release (free, destroy, unload) whose result dlc's destructors ignore:
// a failure is counted, with its reason, for dlc_fake_cuda_failed_releases.
CUresult noteRelease(const char* call, CUresult r);

// CUDA_ERROR_NOT_INITIALIZED before cuInit; CUDA_ERROR_INVALID_CONTEXT
// without a current, retained context (requireContext also checks cuInit).
CUresult requireInit(const char* call);
CUresult requireContext(const char* call);

// [p, p + bytes) lies in one live allocation (bytes == 0: nothing to check).
// CUDA_ERROR_ILLEGAL_ADDRESS naming `what` and the nearest allocation.
CUresult checkRange(CUdeviceptr p, size_t bytes, const std::string& what);

// A call that blocks the host or changes the memory map (cuMemAlloc,
// cuMemFree, synchronous copies, module loads): fails, and invalidates the
// capture, when the calling thread captures in global or thread-local mode.
CUresult forbidWhileCapturing(const char* call);

// Work on a stream: run now, or recorded when the stream captures (then run
// by each cuGraphLaunch of the instantiated graph). `what` names it in
// errors. A stream handle that does not exist is CUDA_ERROR_INVALID_HANDLE.
using Work = std::function<CUresult()>;
CUresult submit(CUstream stream, std::string what, Work work);
// Whether `stream` is 0 or a live stream.
bool validStream(CUstream stream);
// Work that cannot be captured (a copy to pageable host memory): fails and
// invalidates the capture when `stream` captures, else runs now.
CUresult runUncapturable(CUstream stream, const char* call, const Work& work);

// cuBLAS handles (kept here with the rest of the state).
void addBlasHandle(const void* h);
bool removeBlasHandle(const void* h);
bool hasBlasHandle(const void* h);

}  // namespace dlc::testing::fake_cuda
