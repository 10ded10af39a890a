// Tests only, private to the fake driver (fake_device.cpp, fake_driver_*.cpp):
// the fake device's process-wide state and the objects behind the driver's
// opaque handles. Handles are checked against these registries before they
// are used, so a stale or foreign handle is an error, not a crash.
#pragma once

#include <cuda.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cuda/fake_cuda/emulation_abi.h"
#include "tests/cuda/fake_cuda/fake_device.h"

// The driver's opaque handle types (incomplete in <cuda.h>).
struct CUctx_st {
  int retains = 0;  // cuDevicePrimaryCtxRetain minus releases
};

struct CUgraph_st {
  struct Node {
    std::string what;
    dlc::testing::fake_cuda::Work work;
  };
  std::vector<Node> nodes;
};

struct CUgraphExec_st {
  std::vector<CUgraph_st::Node> nodes;  // a copy: an instantiated graph outlives its graph
};

struct CUstream_st {
  struct Capture {
    std::unique_ptr<CUgraph_st> graph;
    CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
    std::thread::id thread;
    std::string invalidatedBy;  // the call that invalidated the capture ("" while valid)
  };
  std::unique_ptr<Capture> capture;  // while capturing
};

struct CUmod_st;

struct CUfunc_st {
  CUmod_st* module = nullptr;
  std::string name;
  dlc::testing::fake_cuda::HostEntry entry = nullptr;
  unsigned numParams = 0;
  const unsigned long long* paramBytes = nullptr;
  const unsigned long long* paramAlign = nullptr;
  const unsigned char* paramWritten = nullptr;
  unsigned launchBounds = 0;
};

struct CUmod_st {
  void* library = nullptr;  // the dlopen'd emulation (nullptr: an image without kernels)
  std::string path;
  std::map<std::string, std::unique_ptr<CUfunc_st>> functions;
};

namespace dlc::testing::fake_cuda {

inline constexpr size_t kTotalMemory = size_t(4) << 30;
inline constexpr size_t kAllocationAlignment = 256;
inline constexpr int kMaxThreadsPerBlock = 1024;

struct State {
  std::recursive_mutex mutex;
  bool initialized = false;
  CUctx_st primary;
  std::map<CUdeviceptr, size_t> allocations;  // base -> bytes
  std::set<CUdeviceptr> freed;                // bases freed since (for "freed twice")
  size_t allocatedBytes = 0;
  std::map<CUstream, std::unique_ptr<CUstream_st>> streams;
  std::map<CUgraph, std::unique_ptr<CUgraph_st>> graphs;
  std::map<CUgraphExec, std::unique_ptr<CUgraphExec_st>> execs;
  std::map<CUmodule, std::unique_ptr<CUmod_st>> modules;
  std::map<CUfunction, CUmod_st*> functions;
  std::set<const void*> blasHandles;
  unsigned long long failedReleases = 0;  // see dlc_fake_cuda_failed_releases
  std::string lastFailedRelease;
};

// The one state (never destroyed: objects of other libraries may call the
// driver from their destructors at exit).
State& state();
// The context current on this thread (cuCtxSetCurrent).
CUcontext& currentContext();

}  // namespace dlc::testing::fake_cuda
