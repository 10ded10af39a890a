// Tests only, the fake CUDA driver (libcuda.so.1; fake_device.h): errors,
// initialisation, the one device, its primary context, and the counters the
// tests read.
#include <cstring>

#include "tests/cuda/fake_cuda/fake_state.h"

using namespace dlc::testing::fake_cuda;

namespace {

constexpr const char* kDeviceName = "dlc fake CUDA device";
constexpr int kDriverVersion = 13000;

struct ErrorText {
  CUresult code;
  const char* name;
  const char* text;
};
constexpr ErrorText kErrors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_CONTEXT_IS_DESTROYED, "CUDA_ERROR_CONTEXT_IS_DESTROYED", "context is destroyed"},
    {CUDA_ERROR_FILE_NOT_FOUND, "CUDA_ERROR_FILE_NOT_FOUND", "file not found"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_ILLEGAL_STATE, "CUDA_ERROR_ILLEGAL_STATE", "the operation cannot be performed in the present state"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {CUDA_ERROR_MISALIGNED_ADDRESS, "CUDA_ERROR_MISALIGNED_ADDRESS", "misaligned address"},
    {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
     "too many resources requested for launch"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
     "operation not permitted when stream is capturing"},
    {CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
     "operation failed due to a previous error during capture"},
    {CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD, "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD",
     "attempt to terminate a thread-local capture sequence from another thread"},
};

const ErrorText* findError(CUresult r) {
  for (const ErrorText& e : kErrors)
    if (e.code == r) return &e;
  return nullptr;
}

CUresult checkDevice(CUdevice dev, const char* call) {
  if (CUresult r = requireInit(call)) return r;
  if (dev != 0) return fail(CUDA_ERROR_INVALID_DEVICE, std::string(call) + ": device " + std::to_string(dev));
  return CUDA_SUCCESS;
}

}  // namespace

extern "C" {

CUresult cuGetErrorName(CUresult error, const char** pStr) {
  const ErrorText* e = findError(error);
  if (!pStr) return CUDA_ERROR_INVALID_VALUE;
  *pStr = e ? e->name : nullptr;
  return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult error, const char** pStr) {
  thread_local std::string text;
  const ErrorText* e = findError(error);
  if (!pStr) return CUDA_ERROR_INVALID_VALUE;
  if (!e) {
    *pStr = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
  }
  std::string detail = lastDetail(error);
  text = std::string(e->text) + (detail.empty() ? "" : "; fake CUDA: " + detail);
  *pStr = text.c_str();
  return CUDA_SUCCESS;
}

// Not for dlc: NVRTC itself dlopens libcuda.so.1 when a driver is loaded and
// asks for this (it crashes when the symbol is missing); with no table to
// give, it compiles without the driver's help.
CUresult cuGetExportTable(const void** ppExportTable, const CUuuid* pExportTableId) {
  if (ppExportTable) *ppExportTable = nullptr;
  return fail(CUDA_ERROR_NOT_SUPPORTED, "cuGetExportTable: the fake has no internal export tables");
}

CUresult cuInit(unsigned int flags) {
  auto lock = lockDevice();
  if (flags != 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuInit: flags must be 0");
  state().initialized = true;
  return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int* version) {
  if (!version) return fail(CUDA_ERROR_INVALID_VALUE, "cuDriverGetVersion: null pointer");
  *version = kDriverVersion;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int* count) {
  auto lock = lockDevice();
  if (CUresult r = requireInit("cuDeviceGetCount")) return r;
  if (!count) return fail(CUDA_ERROR_INVALID_VALUE, "cuDeviceGetCount: null pointer");
  *count = 1;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  auto lock = lockDevice();
  if (CUresult r = requireInit("cuDeviceGet")) return r;
  if (!device) return fail(CUDA_ERROR_INVALID_VALUE, "cuDeviceGet: null pointer");
  if (ordinal != 0) return fail(CUDA_ERROR_INVALID_DEVICE, "cuDeviceGet: ordinal " + std::to_string(ordinal));
  *device = 0;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  auto lock = lockDevice();
  if (CUresult r = checkDevice(dev, "cuDeviceGetName")) return r;
  if (!name || len <= 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuDeviceGetName: no buffer");
  std::strncpy(name, kDeviceName, size_t(len));
  name[len - 1] = '\0';
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* pi, CUdevice_attribute attrib, CUdevice dev) {
  auto lock = lockDevice();
  if (CUresult r = checkDevice(dev, "cuDeviceGetAttribute")) return r;
  if (!pi) return fail(CUDA_ERROR_INVALID_VALUE, "cuDeviceGetAttribute: null pointer");
  switch (attrib) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *pi = 9; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *pi = 0; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *pi = 132; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *pi = kMaxThreadsPerBlock; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: *pi = kMaxThreadsPerBlock; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *pi = 0x7fffffff; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *pi = 32; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *pi = 48 * 1024; return CUDA_SUCCESS;
    default:
      // Strict: a new attribute dlc asks for is added here with a plausible value.
      return fail(CUDA_ERROR_INVALID_VALUE,
                  "cuDeviceGetAttribute: attribute " + std::to_string(int(attrib)) + " is not modelled by the fake");
  }
}

CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
  auto lock = lockDevice();
  if (CUresult r = checkDevice(dev, "cuDeviceTotalMem")) return r;
  if (!bytes) return fail(CUDA_ERROR_INVALID_VALUE, "cuDeviceTotalMem: null pointer");
  *bytes = kTotalMemory;
  return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
  auto lock = lockDevice();
  if (CUresult r = checkDevice(dev, "cuDevicePrimaryCtxRetain")) return r;
  if (!pctx) return fail(CUDA_ERROR_INVALID_VALUE, "cuDevicePrimaryCtxRetain: null pointer");
  ++state().primary.retains;
  *pctx = &state().primary;
  return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuDevicePrimaryCtxRelease_v2", [&]() -> CUresult {
    if (CUresult r = checkDevice(dev, "cuDevicePrimaryCtxRelease")) return r;
    if (state().primary.retains <= 0)
      return fail(CUDA_ERROR_INVALID_CONTEXT, "cuDevicePrimaryCtxRelease: the primary context is not retained");
    --state().primary.retains;
    return CUDA_SUCCESS;
  }());
}

CUresult cuCtxSetCurrent(CUcontext ctx) {
  auto lock = lockDevice();
  if (CUresult r = requireInit("cuCtxSetCurrent")) return r;
  if (ctx && (ctx != &state().primary || ctx->retains <= 0))
    return fail(CUDA_ERROR_INVALID_CONTEXT, "cuCtxSetCurrent: not a retained primary context");
  currentContext() = ctx;
  return CUDA_SUCCESS;
}

// ---- Introspection for the tests (not part of the CUDA API).

// Live allocations: their number, and their bytes in *bytes.
size_t dlc_fake_cuda_live_allocations(size_t* bytes) {
  auto lock = lockDevice();
  if (bytes) *bytes = state().allocatedBytes;
  return state().allocations.size();
}

// Release calls that failed so far, and the last one's reason in *last
// (valid until the next failure).
unsigned long long dlc_fake_cuda_failed_releases(const char** last) {
  auto lock = lockDevice();
  if (last) *last = state().lastFailedRelease.c_str();
  return state().failedReleases;
}

}  // extern "C"
