// Tests only: helpers of the fake CUDA device tests (this folder's
// *_test.cpp, run by ctest with LD_LIBRARY_PATH naming the fake driver).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/interpreter.h"
#include "ir/tensor_compare.h"

namespace dlc::testing::fake_cuda {

// Compiles the host emulation of a CUDA program (once per source, cached in
// the build tree) and names it in DLC_FAKE_CUDA_PROGRAM, where the fake
// driver's next cuModuleLoadData finds it. Call before the first run of the
// model whose cudaSource() it is (the module is loaded then).
void useEmulationOf(const std::string& cudaSource);

// The real driver is not what these tests run on: the loaded libcuda.so.1
// must be the fake ("dlc fake CUDA device").
void expectFakeDevice();

// What the fake device holds (its introspection functions).
struct DeviceUsage {
  size_t allocations = 0, bytes = 0;
  unsigned long long failedReleases = 0;  // frees, destroys, unloads that failed (dlc ignores them)
  std::string lastFailedRelease;
};
DeviceUsage deviceUsage();
// After a model's lifetime: every allocation made since `before` freed, and
// no release failed (a leak a real GPU would not report).
void expectReleasedSince(const DeviceUsage& before, const std::string& context);

// Each output within `tol` of the expected one.
void expectClose(const std::vector<ir::Tensor>& actual, const std::vector<ir::Tensor>& expected,
                 ir::Tolerance tol, const std::string& context);

}  // namespace dlc::testing::fake_cuda
