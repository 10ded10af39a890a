// Shared by the C API's sources (c_api.cpp, tensor_files.cpp, aot_main.cpp).
#pragma once

#include <string>

#include "dlc_runtime.h"

namespace dlc::runtime::capi {

// Sets the calling thread's dlcrt_last_error() and returns `status`.
dlcrt_status fail(dlcrt_status status, std::string message);

}  // namespace dlc::runtime::capi
