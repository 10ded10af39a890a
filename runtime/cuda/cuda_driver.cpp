#include "runtime/cuda/cuda_driver.h"

#include <dlfcn.h>

#include "support/error_types.h"

namespace dlc::runtime::cuda {

namespace {

struct Loaded {
  Driver driver;
  bool ok = false;
  std::string whyNot;
};

Loaded load() {
  Loaded out;
  // Never unloaded: the driver stays for the life of the process.
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    out.whyNot = std::string("the CUDA driver (libcuda.so.1) could not be loaded: ") + (e ? e : "unknown reason");
    return out;
  }
  Driver& d = out.driver;
#define DLC_DRIVER_LOOKUP(fn, symbol)                                                  \
  d.fn = reinterpret_cast<decltype(d.fn)>(dlsym(lib, symbol));                         \
  if (!d.fn) {                                                                         \
    out.whyNot = std::string("the CUDA driver has no ") + symbol + " (too old a driver?)";     \
    return out;                                                                        \
  }
  DLC_CUDA_DRIVER_FUNCTIONS(DLC_DRIVER_LOOKUP)
#undef DLC_DRIVER_LOOKUP
  CUresult r = d.cuInit(0);
  if (r != CUDA_SUCCESS) {
    const char* name = nullptr;
    d.cuGetErrorName(r, &name);
    out.whyNot = std::string("cuInit failed: ") + (name ? name : "error " + std::to_string(int(r)));
    return out;
  }
  int count = 0;
  if (d.cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0) {
    out.whyNot = "the CUDA driver reports no device";
    return out;
  }
  if (d.cuDriverGetVersion(&d.version) != CUDA_SUCCESS) d.version = 0;
  out.ok = true;
  return out;
}

}  // namespace

const Driver* driver(std::string* whyNot) {
  static const Loaded loaded = load();  // thread-safe, once per process
  if (!loaded.ok) {
    if (whyNot) *whyNot = loaded.whyNot;
    return nullptr;
  }
  return &loaded.driver;
}

void check(const Driver& d, CUresult r, const char* call) {
  if (r == CUDA_SUCCESS) return;
  const char* name = nullptr;
  const char* text = nullptr;
  d.cuGetErrorName(r, &name);
  d.cuGetErrorString(r, &text);
  throw InternalError(std::string("CUDA call ") + call + " failed: " + (name ? name : "error " + std::to_string(int(r))) +
                      " (" + (text ? text : "no description") + ")");
}

}  // namespace dlc::runtime::cuda
