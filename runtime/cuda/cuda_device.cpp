#include "runtime/cuda/cuda_device.h"

#include <utility>

#include "support/error_types.h"

namespace dlc::runtime::cuda {

namespace {
const Driver& requireDriver() {
  std::string why;
  const Driver* d = driver(&why);
  if (!d) throw UserError("no CUDA device: " + why);
  return *d;
}
}  // namespace

Device::Device(int ordinal) : d_(requireDriver()) {
  int count = 0;
  DLC_CU(d_, cuDeviceGetCount, &count);
  if (ordinal < 0 || ordinal >= count)
    throw UserError("no CUDA device: device " + std::to_string(ordinal) + " asked for, " + std::to_string(count) +
                    " present");
  DLC_CU(d_, cuDeviceGet, &dev_, ordinal);
  char name[256] = {};
  DLC_CU(d_, cuDeviceGetName, name, int(sizeof name - 1), dev_);
  name_ = name;
  DLC_CU(d_, cuDeviceGetAttribute, &ccMajor_, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev_);
  DLC_CU(d_, cuDeviceGetAttribute, &ccMinor_, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev_);
  DLC_CU(d_, cuDeviceGetAttribute, &sms_, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev_);
  DLC_CU(d_, cuDeviceTotalMem, &totalMemory_, dev_);
  DLC_CU(d_, cuDevicePrimaryCtxRetain, &ctx_, dev_);
  makeCurrent();
}

Device::~Device() {
  if (ctx_) d_.cuDevicePrimaryCtxRelease(dev_);
}

void Device::makeCurrent() const { DLC_CU(d_, cuCtxSetCurrent, ctx_); }

std::string Device::arch() const { return "sm_" + std::to_string(ccMajor_) + std::to_string(ccMinor_); }

DeviceMemory::DeviceMemory(const Device& dev, size_t bytes) : d_(&dev.driver()), bytes_(bytes) {
  if (!bytes) return;
  CUresult r = d_->cuMemAlloc(&ptr_, bytes);
  // Too little device memory is the user's to act on (a smaller batch,
  // another device), not a bug.
  if (r == CUDA_ERROR_OUT_OF_MEMORY) {
    ptr_ = 0;
    throw UserError("out of GPU memory: " + std::to_string(bytes) + " bytes asked for on " + dev.name() + " (" +
                    std::to_string(dev.totalMemory() >> 20) + " MiB in all)");
  }
  check(*d_, r, "cuMemAlloc");
}

DeviceMemory::~DeviceMemory() {
  if (ptr_) d_->cuMemFree(ptr_);
}

DeviceMemory::DeviceMemory(DeviceMemory&& o) noexcept
    : d_(o.d_), ptr_(std::exchange(o.ptr_, 0)), bytes_(std::exchange(o.bytes_, 0)) {}

DeviceMemory& DeviceMemory::operator=(DeviceMemory&& o) noexcept {
  if (this != &o) {
    if (ptr_) d_->cuMemFree(ptr_);
    d_ = o.d_;
    ptr_ = std::exchange(o.ptr_, 0);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

Module::Module(const Device& dev, const std::string& image) : d_(dev.driver()) {
  DLC_CU(d_, cuModuleLoadData, &module_, image.data());
}

Module::~Module() {
  if (module_) d_.cuModuleUnload(module_);
}

CUfunction Module::function(const std::string& name) const {
  CUfunction f = nullptr;
  CUresult r = d_.cuModuleGetFunction(&f, module_, name.c_str());
  if (r != CUDA_SUCCESS) check(d_, r, ("cuModuleGetFunction(" + name + ")").c_str());
  return f;
}

Stream::Stream(const Device& dev) : d_(dev.driver()) { DLC_CU(d_, cuStreamCreate, &stream_, CU_STREAM_NON_BLOCKING); }

Stream::~Stream() {
  if (stream_) d_.cuStreamDestroy(stream_);
}

void Stream::synchronize() const { DLC_CU(d_, cuStreamSynchronize, stream_); }

GraphExec::GraphExec(const Device& dev, CUgraph graph) : d_(dev.driver()), graph_(graph) {
  CUresult r = d_.cuGraphInstantiate(&exec_, graph_, 0);
  if (r != CUDA_SUCCESS) {
    d_.cuGraphDestroy(graph_);  // the destructor does not run
    check(d_, r, "cuGraphInstantiate");
  }
}

GraphExec::~GraphExec() {
  if (exec_) d_.cuGraphExecDestroy(exec_);
  if (graph_) d_.cuGraphDestroy(graph_);
}

void GraphExec::launch(const Stream& s) const { DLC_CU(d_, cuGraphLaunch, exec_, s.get()); }

}  // namespace dlc::runtime::cuda
