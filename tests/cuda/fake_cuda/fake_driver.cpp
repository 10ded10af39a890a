// Tests only: the fake CUDA driver's entry points (libcuda.so.1), with the
// exported names and signatures of <cuda.h> that runtime/cuda/cuda_driver.h
// looks up. The behaviour is described in fake_device.h; kernels run the
// host emulation named by DLC_FAKE_CUDA_PROGRAM (emulation_builder.h).
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "tests/cuda/fake_cuda/cuda_image.h"
#include "tests/cuda/fake_cuda/fake_state.h"

using namespace dlc::testing::fake_cuda;

namespace {

constexpr const char* kDeviceName = "dlc fake CUDA device";
constexpr int kDriverVersion = 13000;
constexpr int kMaxThreadsPerBlock = 1024;

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
    {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
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

std::string hex(CUdeviceptr p) {
  std::ostringstream s;
  s << "0x" << std::hex << p;
  return s.str();
}

CUresult checkDevice(CUdevice dev, const char* call) {
  if (CUresult r = requireInit(call)) return r;
  if (dev != 0) return fail(CUDA_ERROR_INVALID_DEVICE, std::string(call) + ": device " + std::to_string(dev));
  return CUDA_SUCCESS;
}

CUstream_st* findStream(CUstream s) {
  auto it = state().streams.find(s);
  return it == state().streams.end() ? nullptr : it->second.get();
}

// The emulation library of DLC_FAKE_CUDA_PROGRAM (one path, or a
// ':'-separated list) whose kernels are exactly the image's; its handle, or
// nullptr and *why. Kernel names repeat from program to program (dlc names
// them after the ops they compute), so two candidates that both match are
// refused rather than guessed between.
void* openEmulation(const std::set<std::string>& kernels, std::string* path, std::string* why) {
  const char* list = std::getenv("DLC_FAKE_CUDA_PROGRAM");
  if (!list || !*list) {
    *why = "DLC_FAKE_CUDA_PROGRAM is not set: the fake CUDA driver runs a host-compiled emulation of the program "
           "(tests/cuda/fake_cuda: buildEmulation or fake_cuda_emulate) instead of the image";
    return nullptr;
  }
  std::string wanted;
  for (const std::string& k : kernels) wanted += " " + k;
  std::string tried;
  void* found = nullptr;
  std::istringstream in(list);
  for (std::string p; std::getline(in, p, ':');) {
    if (p.empty()) continue;
    void* lib = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      tried += " " + p + " does not load (" + (e ? e : "?") + ");";
      continue;
    }
    auto names = static_cast<const char* const*>(dlsym(lib, kKernelListSymbol));
    std::set<std::string> have;
    for (size_t i = 0; names && names[i]; ++i) have.insert(names[i]);
    if (names && have == kernels) {
      if (found) {
        dlclose(lib);
        dlclose(found);
        *why = "both " + *path + " and " + p + " in DLC_FAKE_CUDA_PROGRAM have the image's kernels (" +
               wanted.substr(0, 300) + " ): name only the program of the model being loaded";
        return nullptr;
      }
      found = lib;
      *path = p;
      continue;
    }
    tried += " " + p + (names ? " has " + std::to_string(have.size()) + " other kernels;" : " is no emulation;");
    dlclose(lib);
  }
  if (!found)
    *why = "no program in DLC_FAKE_CUDA_PROGRAM has exactly the image's " + std::to_string(kernels.size()) +
           " kernels (" + wanted.substr(0, 300) + " ):" + tried;
  return found;
}

CUresult launch(CUfunction f, const std::vector<CUdeviceptr>& args, unsigned grid, unsigned block) {
  auto it = state().functions.find(f);
  if (it == state().functions.end())
    return fail(CUDA_ERROR_INVALID_HANDLE, "kernel launch: the function's module was unloaded");
  std::vector<void*> pointers;
  for (size_t i = 0; i < args.size(); ++i) {
    unsigned long long bytes = f->paramBytes[i];
    std::string what = "kernel " + f->name + " parameter b" + std::to_string(i);
    if (CUresult r = checkRange(args[i], bytes, what)) return r;
    if (bytes && args[i] % f->paramAlign[i])
      return fail(CUDA_ERROR_MISALIGNED_ADDRESS,
                  what + ": " + hex(args[i]) + " is not " + std::to_string(f->paramAlign[i]) + "-byte aligned");
    pointers.push_back(reinterpret_cast<void*>(args[i]));
  }
  // A written buffer that partly overlaps another parameter: the result
  // would depend on the order the GPU's threads run in (the emulation's
  // order is fixed, so it would pass here). The same pointer twice is an
  // in-place update, left to the kernel.
  for (size_t i = 0; i < args.size(); ++i)
    for (size_t j = 0; j < args.size(); ++j)
      if (i != j && f->paramWritten[i] && args[i] != args[j] && f->paramBytes[i] && f->paramBytes[j] &&
          args[i] < args[j] + f->paramBytes[j] && args[j] < args[i] + f->paramBytes[i])
        return fail(CUDA_ERROR_INVALID_VALUE, "kernel " + f->name + ": written parameter b" + std::to_string(i) +
                                                  " (" + hex(args[i]) + ", " + std::to_string(f->paramBytes[i]) +
                                                  " bytes) partly overlaps b" + std::to_string(j) + " (" +
                                                  hex(args[j]) + ", " + std::to_string(f->paramBytes[j]) +
                                                  " bytes): a data race on a GPU");
  f->entry(pointers.data(), grid, block);
  return CUDA_SUCCESS;
}

// A failed release (free, destroy, unload) that dlc's destructors ignore:
// counted, with its reason, for dlc_fake_cuda_failed_releases.
CUresult noteRelease(const char* call, CUresult r) {
  if (r != CUDA_SUCCESS) {
    ++state().failedReleases;
    state().lastFailedRelease = std::string(call) + ": " + lastDetail(r);
  }
  return r;
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

CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuMemAlloc")) return r;
  if (CUresult r = forbidWhileCapturing("cuMemAlloc")) return r;
  if (!dptr || bytes == 0) return fail(CUDA_ERROR_INVALID_VALUE, "cuMemAlloc: null pointer or 0 bytes");
  State& s = state();
  if (bytes > kTotalMemory - s.allocatedBytes)
    return fail(CUDA_ERROR_OUT_OF_MEMORY, "cuMemAlloc of " + std::to_string(bytes) + " bytes with " +
                                              std::to_string(s.allocatedBytes) + " of " +
                                              std::to_string(kTotalMemory) + " in use");
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
        return fail(CUDA_ERROR_INVALID_VALUE, "cuMemFree of " + hex(dptr) + ", inside an allocation, not its start");
      return fail(CUDA_ERROR_INVALID_VALUE,
                  "cuMemFree of " + hex(dptr) + (s.freed.count(dptr) ? ", freed already" : ", not device memory"));
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
      return fail(CUDA_ERROR_INVALID_VALUE, "cuMemcpyDtoDAsync: source " + hex(src) + " and destination " + hex(dst) +
                                                " overlap (" + std::to_string(bytes) + " bytes)");
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

CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuModuleLoadData")) return r;
  if (CUresult r = forbidWhileCapturing("cuModuleLoadData")) return r;
  if (!module) return fail(CUDA_ERROR_INVALID_VALUE, "cuModuleLoadData: null pointer");
  std::optional<std::set<std::string>> kernels = imageKernels(image);
  if (!kernels) return fail(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData: the image is neither a cubin nor PTX");
  std::string path, why;
  void* lib = openEmulation(*kernels, &path, &why);
  if (!lib) return fail(CUDA_ERROR_FILE_NOT_FOUND, "cuModuleLoadData: " + why);
  auto m = std::make_unique<CUmod_st>();
  m->library = lib;
  m->path = path;
  *module = m.get();
  state().modules.emplace(m.get(), std::move(m));
  return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule module) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuModuleUnload", [&]() -> CUresult {
    if (CUresult r = requireContext("cuModuleUnload")) return r;
    auto it = state().modules.find(module);
    if (it == state().modules.end()) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleUnload: unknown module");
    for (auto& [name, f] : module->functions) state().functions.erase(f.get());
    dlclose(module->library);
    state().modules.erase(it);
    return CUDA_SUCCESS;
  }());
}

CUresult cuModuleGetFunction(CUfunction* hfunc, CUmodule module, const char* name) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuModuleGetFunction")) return r;
  if (!state().modules.count(module)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleGetFunction: unknown module");
  if (!hfunc || !name) return fail(CUDA_ERROR_INVALID_VALUE, "cuModuleGetFunction: null pointer");
  auto& slot = module->functions[name];
  if (!slot) {
    void* lib = module->library;
    auto entry = reinterpret_cast<HostEntry>(dlsym(lib, entrySymbol(name).c_str()));
    auto num = static_cast<const unsigned*>(dlsym(lib, numParamsSymbol(name).c_str()));
    auto bytes = static_cast<const unsigned long long*>(dlsym(lib, paramBytesSymbol(name).c_str()));
    auto align = static_cast<const unsigned long long*>(dlsym(lib, paramAlignSymbol(name).c_str()));
    auto written = static_cast<const unsigned char*>(dlsym(lib, paramWrittenSymbol(name).c_str()));
    auto bounds = static_cast<const unsigned*>(dlsym(lib, launchBoundsSymbol(name).c_str()));
    if (!entry || !num || !bytes || !align || !written || !bounds) {
      module->functions.erase(name);
      return fail(CUDA_ERROR_NOT_FOUND,
                  std::string("cuModuleGetFunction: no kernel ") + name + " in the emulation " + module->path);
    }
    slot = std::make_unique<CUfunc_st>(CUfunc_st{module, name, entry, *num, bytes, align, written, *bounds});
    state().functions[slot.get()] = module;
  }
  *hfunc = slot.get();
  return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned gridX, unsigned gridY, unsigned gridZ, unsigned blockX,
                        unsigned blockY, unsigned blockZ, unsigned sharedMemBytes, CUstream stream,
                        void** kernelParams, void** extra) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuLaunchKernel")) return r;
  if (!state().functions.count(f)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuLaunchKernel: unknown function");
  std::string what = "cuLaunchKernel(" + f->name + ")";
  if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1)
    return fail(CUDA_ERROR_INVALID_VALUE, what + ": a grid or block dimension is 0");
  if (gridY != 1 || gridZ != 1 || blockY != 1 || blockZ != 1)
    return fail(CUDA_ERROR_NOT_SUPPORTED, what + ": the fake (and dlc's kernels) launch 1-D grids only");
  if (blockX > unsigned(kMaxThreadsPerBlock) || blockX > f->launchBounds)
    return fail(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, what + ": " + std::to_string(blockX) +
                                                        " threads per block, over the kernel's __launch_bounds__(" +
                                                        std::to_string(f->launchBounds) + ") or 1024");
  if (sharedMemBytes != 0)
    return fail(CUDA_ERROR_NOT_SUPPORTED, what + ": dynamic shared memory (dlc's kernels use static shared memory)");
  if (extra) return fail(CUDA_ERROR_NOT_SUPPORTED, what + ": `extra` launch parameters");
  if (f->numParams && !kernelParams) return fail(CUDA_ERROR_INVALID_VALUE, what + ": no kernel parameters");
  // Each parameter points at a CUdeviceptr; the values are copied now (a
  // captured launch keeps them).
  std::vector<CUdeviceptr> args;
  for (unsigned i = 0; i < f->numParams; ++i) {
    if (!kernelParams[i]) return fail(CUDA_ERROR_INVALID_VALUE, what + ": parameter " + std::to_string(i) + " is null");
    CUdeviceptr v;
    std::memcpy(&v, kernelParams[i], sizeof v);
    args.push_back(v);
  }
  for (size_t i = 0; i < args.size(); ++i)
    if (CUresult r = checkRange(args[i], f->paramBytes[i], what + " parameter b" + std::to_string(i))) return r;
  return submit(stream, what, [=] { return launch(f, args, gridX, blockX); });
}

CUresult cuStreamCreate(CUstream* phStream, unsigned int flags) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuStreamCreate")) return r;
  if (!phStream) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamCreate: null pointer");
  if (flags & ~unsigned(CU_STREAM_NON_BLOCKING)) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamCreate: bad flags");
  auto s = std::make_unique<CUstream_st>();
  *phStream = s.get();
  state().streams.emplace(s.get(), std::move(s));
  return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream stream) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuStreamDestroy_v2", [&]() -> CUresult {
    if (CUresult r = requireContext("cuStreamDestroy")) return r;
    if (!state().streams.erase(stream)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamDestroy: unknown stream");
    return CUDA_SUCCESS;
  }());
}

CUresult cuStreamSynchronize(CUstream stream) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuStreamSynchronize")) return r;
  if (!validStream(stream)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamSynchronize: unknown stream");
  if (CUstream_st* st = findStream(stream); st && st->capture) {
    if (st->capture->invalidatedBy.empty()) st->capture->invalidatedBy = "cuStreamSynchronize";
    return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "cuStreamSynchronize of a capturing stream");
  }
  return forbidWhileCapturing("cuStreamSynchronize");  // work ran when it was submitted
}

CUresult cuStreamBeginCapture_v2(CUstream stream, CUstreamCaptureMode mode) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuStreamBeginCapture")) return r;
  if (!stream) return fail(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "cuStreamBeginCapture on the legacy stream");
  CUstream_st* st = findStream(stream);
  if (!st) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamBeginCapture: unknown stream");
  if (st->capture) return fail(CUDA_ERROR_ILLEGAL_STATE, "cuStreamBeginCapture: the stream captures already");
  if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
      mode != CU_STREAM_CAPTURE_MODE_RELAXED)
    return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamBeginCapture: bad mode");
  st->capture = std::make_unique<CUstream_st::Capture>();
  st->capture->graph = std::make_unique<CUgraph_st>();
  st->capture->mode = mode;
  st->capture->thread = std::this_thread::get_id();
  return CUDA_SUCCESS;
}

CUresult cuStreamEndCapture(CUstream stream, CUgraph* phGraph) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuStreamEndCapture")) return r;
  CUstream_st* st = findStream(stream);
  if (!st) return fail(CUDA_ERROR_INVALID_HANDLE, "cuStreamEndCapture: unknown stream");
  if (!phGraph) return fail(CUDA_ERROR_INVALID_VALUE, "cuStreamEndCapture: null pointer");
  if (!st->capture) return fail(CUDA_ERROR_ILLEGAL_STATE, "cuStreamEndCapture: the stream does not capture");
  if (st->capture->mode != CU_STREAM_CAPTURE_MODE_RELAXED && st->capture->thread != std::this_thread::get_id())
    return fail(CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD, "cuStreamEndCapture from another thread");
  std::unique_ptr<CUstream_st::Capture> capture = std::move(st->capture);
  *phGraph = nullptr;
  if (!capture->invalidatedBy.empty())
    return fail(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
                "cuStreamEndCapture: the capture was invalidated by " + capture->invalidatedBy);
  *phGraph = capture->graph.get();
  state().graphs.emplace(capture->graph.get(), std::move(capture->graph));
  return CUDA_SUCCESS;
}

CUresult cuGraphInstantiateWithFlags(CUgraphExec* phGraphExec, CUgraph hGraph, unsigned long long flags) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuGraphInstantiate")) return r;
  if (!state().graphs.count(hGraph)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphInstantiate: unknown graph");
  if (!phGraphExec) return fail(CUDA_ERROR_INVALID_VALUE, "cuGraphInstantiate: null pointer");
  if (flags != 0) return fail(CUDA_ERROR_NOT_SUPPORTED, "cuGraphInstantiate: flags are not modelled by the fake");
  auto e = std::make_unique<CUgraphExec_st>();
  e->nodes = hGraph->nodes;
  *phGraphExec = e.get();
  state().execs.emplace(e.get(), std::move(e));
  return CUDA_SUCCESS;
}

CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream stream) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuGraphLaunch")) return r;
  if (!state().execs.count(hGraphExec)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphLaunch: unknown graph");
  if (!validStream(stream)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphLaunch: unknown stream");
  if (CUstream_st* st = findStream(stream); st && st->capture)
    return fail(CUDA_ERROR_NOT_SUPPORTED, "cuGraphLaunch into a capturing stream is not modelled by the fake");
  const std::vector<CUgraph_st::Node>& nodes = hGraphExec->nodes;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (CUresult r = nodes[i].work())
      return fail(r, "graph node " + std::to_string(i) + " (" + nodes[i].what + "): " + lastDetail(r));
  return CUDA_SUCCESS;
}

CUresult cuGraphExecDestroy(CUgraphExec hGraphExec) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuGraphExecDestroy", [&]() -> CUresult {
    if (CUresult r = requireContext("cuGraphExecDestroy")) return r;
    if (!state().execs.erase(hGraphExec)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphExecDestroy: unknown graph");
    return CUDA_SUCCESS;
  }());
}

CUresult cuGraphDestroy(CUgraph hGraph) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuGraphDestroy", [&]() -> CUresult {
    if (CUresult r = requireContext("cuGraphDestroy")) return r;
    if (!state().graphs.erase(hGraph)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuGraphDestroy: unknown graph");
    return CUDA_SUCCESS;
  }());
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
