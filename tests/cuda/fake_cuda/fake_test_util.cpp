#include "tests/cuda/fake_cuda/fake_test_util.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "runtime/cuda/cuda_driver.h"
#include "tests/cuda/fake_cuda/emulation_builder.h"

namespace dlc::testing::fake_cuda {

void useEmulationOf(const std::string& cudaSource) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::string so = buildEmulation(cudaSource, DLC_FAKE_CUDA_CACHE).string();
  ::setenv("DLC_FAKE_CUDA_PROGRAM", so.c_str(), 1);
}

void expectFakeDevice() {
  std::string why;
  const runtime::cuda::Driver* d = runtime::cuda::driver(&why);
  ASSERT_NE(d, nullptr) << "the fake CUDA driver did not load (LD_LIBRARY_PATH must name it): " << why;
  char name[256] = {};
  ASSERT_EQ(d->cuDeviceGetName(name, sizeof name, 0), CUDA_SUCCESS);
  ASSERT_STREQ(name, "dlc fake CUDA device") << "a real CUDA driver was loaded instead of the fake";
}

DeviceUsage deviceUsage() {
  DeviceUsage u;
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);  // loaded by dlc already
  if (!lib) {
    ADD_FAILURE() << "the fake libcuda.so.1 is not loaded";
    return u;
  }
  auto live = reinterpret_cast<size_t (*)(size_t*)>(dlsym(lib, "dlc_fake_cuda_live_allocations"));
  auto failed = reinterpret_cast<unsigned long long (*)(const char**)>(dlsym(lib, "dlc_fake_cuda_failed_releases"));
  if (!live || !failed) {
    ADD_FAILURE() << "libcuda.so.1 is not the fake";
  } else {
    u.allocations = live(&u.bytes);
    const char* last = nullptr;
    u.failedReleases = failed(&last);
    u.lastFailedRelease = last ? last : "";
  }
  dlclose(lib);
  return u;
}

void expectReleasedSince(const DeviceUsage& before, const std::string& context) {
  DeviceUsage now = deviceUsage();
  EXPECT_EQ(now.allocations, before.allocations) << context << ": device allocations left behind (" << now.bytes
                                                 << " bytes live, " << before.bytes << " before)";
  EXPECT_EQ(now.failedReleases, before.failedReleases)
      << context << ": a free/destroy/unload failed (ignored by dlc): " << now.lastFailedRelease;
}

void expectClose(const std::vector<ir::Tensor>& actual, const std::vector<ir::Tensor>& expected, ir::Tolerance tol,
                 const std::string& context) {
  ASSERT_EQ(actual.size(), expected.size()) << context;
  for (size_t i = 0; i < expected.size(); ++i) {
    auto diff = ir::compareTensors(actual[i], expected[i], tol);
    EXPECT_FALSE(diff.has_value()) << context << ": output " << i << ": " << *diff;
  }
}

}  // namespace dlc::testing::fake_cuda
