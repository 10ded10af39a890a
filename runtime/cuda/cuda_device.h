// RAII owners of CUDA driver objects: the device's primary context, device
// memory, a loaded module, a stream, an instantiated graph. Every call is
// checked (DLC_CU). Objects are used on the thread that makes the context
// current first (Device::makeCurrent()).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "runtime/cuda/cuda_driver.h"

namespace dlc::runtime::cuda {

class Device {
 public:
  // Opens device `ordinal` (its primary context). UserError "no CUDA device:
  // <why>" when there is no driver or device.
  explicit Device(int ordinal = 0);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const Driver& driver() const { return d_; }
  void makeCurrent() const;  // on the calling thread
  const std::string& name() const { return name_; }
  int computeCapability() const { return ccMajor_ * 10 + ccMinor_; }  // 90 for an H100
  std::string arch() const;                                           // "sm_90"
  int multiprocessors() const { return sms_; }
  size_t totalMemory() const { return totalMemory_; }

 private:
  const Driver& d_;
  CUdevice dev_ = 0;
  CUcontext ctx_ = nullptr;
  std::string name_;
  int ccMajor_ = 0, ccMinor_ = 0, sms_ = 0;
  size_t totalMemory_ = 0;
};

class DeviceMemory {
 public:
  DeviceMemory() = default;
  // bytes == 0: no allocation. UserError "out of GPU memory: ..." when the
  // device has too little free.
  DeviceMemory(const Device& dev, size_t bytes);
  ~DeviceMemory();
  DeviceMemory(DeviceMemory&& o) noexcept;
  DeviceMemory& operator=(DeviceMemory&& o) noexcept;
  CUdeviceptr ptr() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  const Driver* d_ = nullptr;
  CUdeviceptr ptr_ = 0;
  size_t bytes_ = 0;
};

class Module {
 public:
  Module(const Device& dev, const std::string& image);  // a cubin or PTX
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  CUfunction function(const std::string& name) const;

 private:
  const Driver& d_;
  CUmodule module_ = nullptr;
};

class Stream {
 public:
  explicit Stream(const Device& dev);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  CUstream get() const { return stream_; }
  void synchronize() const;

 private:
  const Driver& d_;
  CUstream stream_ = nullptr;
};

// A CUDA graph captured from a stream and instantiated.
class GraphExec {
 public:
  GraphExec(const Device& dev, CUgraph graph);  // takes ownership of graph
  ~GraphExec();
  GraphExec(const GraphExec&) = delete;
  GraphExec& operator=(const GraphExec&) = delete;
  void launch(const Stream& s) const;

 private:
  const Driver& d_;
  CUgraph graph_ = nullptr;
  CUgraphExec exec_ = nullptr;
};

}  // namespace dlc::runtime::cuda
