// Tests only: what an emulation library (a CUDA program compiled for the
// host by emulation_builder.h) exports for the fake CUDA driver, which loads
// it in place of the real module image (cuModuleLoadData). All C linkage:
//
//   const char* const dlc_fake_cuda_kernels[]   the kernel names, nullptr-terminated
//   void host_NAME(void* const* params, unsigned grid, unsigned block)
//                                               runs kernel NAME (host_program.h)
//   const unsigned host_NAME_num_params         its pointer parameters
//   const unsigned long long host_NAME_param_bytes[]
//                                               bytes each parameter spans (from
//                                               the emitter's buffer comments; 1
//                                               when unknown: only the start is
//                                               checked; 0: an empty buffer)
//   const unsigned long long host_NAME_param_align[]
//                                               alignment each pointer needs
//   const unsigned char host_NAME_param_written[]
//                                               1 where the kernel writes the buffer
//   const unsigned host_NAME_launch_bounds      its __launch_bounds__
#pragma once

#include <string>

namespace dlc::testing::fake_cuda {

inline constexpr const char* kKernelListSymbol = "dlc_fake_cuda_kernels";
inline std::string entrySymbol(const std::string& kernel) { return "host_" + kernel; }
inline std::string numParamsSymbol(const std::string& kernel) { return "host_" + kernel + "_num_params"; }
inline std::string paramBytesSymbol(const std::string& kernel) { return "host_" + kernel + "_param_bytes"; }
inline std::string paramAlignSymbol(const std::string& kernel) { return "host_" + kernel + "_param_align"; }
inline std::string paramWrittenSymbol(const std::string& kernel) { return "host_" + kernel + "_param_written"; }
inline std::string launchBoundsSymbol(const std::string& kernel) { return "host_" + kernel + "_launch_bounds"; }

using HostEntry = void (*)(void* const* params, unsigned grid, unsigned block);

}  // namespace dlc::testing::fake_cuda
