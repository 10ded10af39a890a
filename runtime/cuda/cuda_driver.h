// The CUDA driver API, loaded at run time with dlopen("libcuda.so.1"), so
// that dlc builds, starts and compiles CUDA code on machines without a GPU or
// a driver. Only the few cu* functions dlc uses are looked up; each call's
// CUresult is checked by DLC_CU, whose error names the call and the driver's
// error name and text.
//
// Internal to runtime/cuda and codegen/cuda (includes <cuda.h>; the toolkit
// headers are there whenever DLC_CUDA is on).
#pragma once

#include <cuda.h>

#include <string>

namespace dlc::runtime::cuda {

// X(member, exported symbol). <cuda.h> maps the plain names to the versioned
// ones (cuMemAlloc -> cuMemAlloc_v2), so the member's type is the versioned
// function's; the symbol strings say which version is looked up.
#define DLC_CUDA_DRIVER_FUNCTIONS(X)                             \
  X(cuInit, "cuInit")                                            \
  X(cuDriverGetVersion, "cuDriverGetVersion")                    \
  X(cuGetErrorName, "cuGetErrorName")                            \
  X(cuGetErrorString, "cuGetErrorString")                        \
  X(cuDeviceGetCount, "cuDeviceGetCount")                        \
  X(cuDeviceGet, "cuDeviceGet")                                  \
  X(cuDeviceGetName, "cuDeviceGetName")                          \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute")                \
  X(cuDeviceTotalMem, "cuDeviceTotalMem_v2")                     \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain")        \
  X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2")   \
  X(cuCtxSetCurrent, "cuCtxSetCurrent")                          \
  X(cuMemAlloc, "cuMemAlloc_v2")                                 \
  X(cuMemFree, "cuMemFree_v2")                                   \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2")                             \
  X(cuMemcpyDtoH, "cuMemcpyDtoH_v2")                             \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")                   \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2")                   \
  X(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2")                   \
  X(cuMemsetD8Async, "cuMemsetD8Async")                          \
  X(cuModuleLoadData, "cuModuleLoadData")                        \
  X(cuModuleUnload, "cuModuleUnload")                            \
  X(cuModuleGetFunction, "cuModuleGetFunction")                  \
  X(cuLaunchKernel, "cuLaunchKernel")                            \
  X(cuStreamCreate, "cuStreamCreate")                            \
  X(cuStreamDestroy, "cuStreamDestroy_v2")                       \
  X(cuStreamSynchronize, "cuStreamSynchronize")                  \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2")             \
  X(cuStreamEndCapture, "cuStreamEndCapture")                    \
  X(cuGraphInstantiate, "cuGraphInstantiateWithFlags")           \
  X(cuGraphLaunch, "cuGraphLaunch")                              \
  X(cuGraphExecDestroy, "cuGraphExecDestroy")                    \
  X(cuGraphDestroy, "cuGraphDestroy")

struct Driver {
#define DLC_DRIVER_MEMBER(fn, symbol) decltype(&::fn) fn = nullptr;
  DLC_CUDA_DRIVER_FUNCTIONS(DLC_DRIVER_MEMBER)
#undef DLC_DRIVER_MEMBER
  int version = 0;  // cuDriverGetVersion: 13000 for CUDA 13.0
};

// The driver, loaded and initialised (cuInit) once per process (the table is
// immutable afterwards). nullptr when there is no usable driver or device;
// `whyNot` then says which ("libcuda.so.1 not found: ...", "cuInit failed:
// CUDA_ERROR_NO_DEVICE ...", "no CUDA device").
const Driver* driver(std::string* whyNot = nullptr);

// Throws InternalError "CUDA call <call> failed: <name> (<text>)" unless r
// is CUDA_SUCCESS.
void check(const Driver& d, CUresult r, const char* call);

// DLC_CU(d, cuMemAlloc, &ptr, bytes): calls d.cuMemAlloc and checks it.
#define DLC_CU(d, fn, ...) ::dlc::runtime::cuda::check((d), (d).fn(__VA_ARGS__), #fn)

}  // namespace dlc::runtime::cuda
