// The fake CUDA driver and cuBLAS themselves, through dlc's own driver
// table (runtime/cuda): they load in place of the real ones, behave like one
// plausible device, and are strict where a GPU would catch a bug (so that the
// model tests cannot pass by the fake accepting anything): out-of-bounds,
// freed and misaligned pointers, synchronous calls inside a capture, a
// missing or mismatched emulation.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cublas_api.h>

#include <cstdlib>
#include <vector>

#include "codegen/cuda/cuda_emitter.h"
#include "codegen/cuda/nvrtc_compiler.h"
#include "runtime/cuda/cuda_device.h"
#include "support/error.h"
#include "tests/cuda/fake_cuda/emulation_builder.h"
#include "tests/cuda/fake_cuda/fake_test_util.h"

using namespace dlc;
using namespace dlc::runtime::cuda;
using dlc::testing::fake_cuda::buildEmulation;
using dlc::testing::fake_cuda::expectFakeDevice;
using dlc::testing::fake_cuda::useEmulationOf;

namespace {

// The error text dlc would report for `r` (DLC_CU's message).
std::string errorText(const Driver& d, CUresult r) {
  try {
    check(d, r, "call");
  } catch (const InternalError& e) {
    return e.what();
  }
  return "CUDA_SUCCESS";
}

#define EXPECT_CU_ERROR(d, call, code, text)                                         \
  do {                                                                               \
    CUresult r_ = (call);                                                            \
    EXPECT_EQ(r_, code) << errorText(d, r_);                                         \
    EXPECT_NE(errorText(d, r_).find(text), std::string::npos) << errorText(d, r_);   \
  } while (0)

// One kernel in the emitter's format: y = 2 * x over 8 elements.
std::string doublingProgram() {
  return std::string(codegen::cuda::prelude()) + R"(
// dlc_fake_double: 8 x 1 points
//   b0: x f32[8]
//   b1: y f32[8] (written)
extern "C" __global__ void __launch_bounds__(256) dlc_fake_double(const f32* b0, f32* b1) {
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < 8ll; i += (i64)gridDim.x * blockDim.x) {
    b1[i] = b0[i] * 2.0f;
  }
}
)";
}

}  // namespace

TEST(FakeDriver, LoadsInPlaceOfTheRealOne) {
  expectFakeDevice();
  Device dev;
  EXPECT_EQ(dev.name(), "dlc fake CUDA device");
  EXPECT_EQ(dev.arch(), "sm_90");
  EXPECT_EQ(dev.multiprocessors(), 132);
  EXPECT_GE(dev.totalMemory(), size_t(1) << 30);
}

TEST(FakeDriver, OutOfBoundsFreedAndForeignPointersFail) {
  Device dev;
  const Driver& d = dev.driver();
  std::vector<char> host(512, 1);
  DeviceMemory m(dev, 100);
  EXPECT_EQ(d.cuMemcpyHtoD(m.ptr(), host.data(), 100), CUDA_SUCCESS);
  EXPECT_CU_ERROR(d, d.cuMemcpyHtoD(m.ptr(), host.data(), 101), CUDA_ERROR_ILLEGAL_ADDRESS,
                  "do not lie in one live allocation");
  EXPECT_CU_ERROR(d, d.cuMemcpyDtoH(host.data(), m.ptr() + 50, 51), CUDA_ERROR_ILLEGAL_ADDRESS, "offset 50");
  EXPECT_CU_ERROR(d, d.cuMemsetD8Async(m.ptr() + 100, 0, 1, nullptr), CUDA_ERROR_ILLEGAL_ADDRESS, "past the end");
  EXPECT_CU_ERROR(d, d.cuMemcpyHtoD(CUdeviceptr(host.data()), host.data(), 8), CUDA_ERROR_ILLEGAL_ADDRESS,
                  "fake CUDA");  // a host pointer is no device memory
  EXPECT_CU_ERROR(d, d.cuMemFree(m.ptr() + 4), CUDA_ERROR_INVALID_VALUE, "not its start");
  CUdeviceptr p = 0;
  ASSERT_EQ(d.cuMemAlloc(&p, 64), CUDA_SUCCESS);
  ASSERT_EQ(d.cuMemFree(p), CUDA_SUCCESS);
  EXPECT_CU_ERROR(d, d.cuMemFree(p), CUDA_ERROR_INVALID_VALUE, "freed already");
  EXPECT_CU_ERROR(d, d.cuMemcpyHtoD(p, host.data(), 4), CUDA_ERROR_ILLEGAL_ADDRESS, "freed memory");
  // Fresh memory is not zeroed (all bits set: NaN as floats).
  DeviceMemory fresh(dev, 8);
  float f[2] = {0, 0};
  ASSERT_EQ(d.cuMemcpyDtoH(f, fresh.ptr(), 8), CUDA_SUCCESS);
  EXPECT_TRUE(std::isnan(f[0]) && std::isnan(f[1]));
  // The error reaches dlc's message through cuGetErrorString.
  try {
    DLC_CU(d, cuMemcpyHtoD, m.ptr(), host.data(), 200);
    FAIL() << "expected an error";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA call cuMemcpyHtoD failed: CUDA_ERROR_ILLEGAL_ADDRESS"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("cuMemcpyHtoD destination: 200 bytes"), std::string::npos) << e.what();
  }
}

TEST(FakeDriver, CaptureRecordsWorkAndRefusesSynchronousCalls) {
  Device dev;
  const Driver& d = dev.driver();
  Stream s(dev);
  DeviceMemory a(dev, 16), b(dev, 16);
  const unsigned char ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  ASSERT_EQ(d.cuMemcpyHtoD(a.ptr(), ones, 16), CUDA_SUCCESS);
  ASSERT_EQ(d.cuStreamBeginCapture(s.get(), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), CUDA_SUCCESS);
  ASSERT_EQ(d.cuMemsetD8Async(a.ptr(), 7, 16, s.get()), CUDA_SUCCESS);
  ASSERT_EQ(d.cuMemcpyDtoDAsync(b.ptr(), a.ptr(), 16, s.get()), CUDA_SUCCESS);
  CUgraph g = nullptr;
  ASSERT_EQ(d.cuStreamEndCapture(s.get(), &g), CUDA_SUCCESS);
  unsigned char out[16] = {};
  ASSERT_EQ(d.cuMemcpyDtoH(out, a.ptr(), 16), CUDA_SUCCESS);
  EXPECT_EQ(out[0], 1) << "captured work ran at capture time";
  GraphExec exec(dev, g);
  exec.launch(s);
  ASSERT_EQ(d.cuMemcpyDtoH(out, b.ptr(), 16), CUDA_SUCCESS);
  EXPECT_EQ(out[15], 7);

  // A synchronous copy inside a capture fails and invalidates it.
  ASSERT_EQ(d.cuStreamBeginCapture(s.get(), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), CUDA_SUCCESS);
  EXPECT_CU_ERROR(d, d.cuMemcpyDtoH(out, a.ptr(), 16), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "capture");
  EXPECT_CU_ERROR(d, d.cuMemcpyDtoHAsync(out, a.ptr(), 16, s.get()), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
                  "pageable");
  EXPECT_EQ(d.cuStreamEndCapture(s.get(), &g), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  EXPECT_EQ(g, nullptr);
  // An allocation freed after capture: the replay fails.
  auto c = std::make_unique<DeviceMemory>(dev, 16);
  ASSERT_EQ(d.cuStreamBeginCapture(s.get(), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), CUDA_SUCCESS);
  ASSERT_EQ(d.cuMemsetD8Async(c->ptr(), 0, 16, s.get()), CUDA_SUCCESS);
  ASSERT_EQ(d.cuStreamEndCapture(s.get(), &g), CUDA_SUCCESS);
  GraphExec stale(dev, g);
  c.reset();
  EXPECT_THROW(stale.launch(s), InternalError);
}

TEST(FakeDriver, ModulesNeedTheMatchingEmulation) {
  Device dev;
  const Driver& d = dev.driver();
  std::string source = doublingProgram();
  codegen::cuda::CompiledImage image = codegen::cuda::compileCuda(source, "double.cu", {"sm_90", false, ""});
  CUmodule mod = nullptr;
  ::unsetenv("DLC_FAKE_CUDA_PROGRAM");
  EXPECT_CU_ERROR(d, d.cuModuleLoadData(&mod, image.image.data()), CUDA_ERROR_FILE_NOT_FOUND,
                  "DLC_FAKE_CUDA_PROGRAM is not set");
  // An emulation of another program is refused.
  std::string other = source;
  other.replace(other.find("dlc_fake_double("), 16, "dlc_fake_triple(");
  useEmulationOf(other);
  EXPECT_CU_ERROR(d, d.cuModuleLoadData(&mod, image.image.data()), CUDA_ERROR_FILE_NOT_FOUND, "exactly the image's");
  // Two programs with the same kernel names: refused, not guessed between.
  std::string tripling = source;
  tripling.replace(tripling.find("* 2.0f"), 6, "* 3.0f");
  std::string both = buildEmulation(source, DLC_FAKE_CUDA_CACHE).string() + ":" +
                     buildEmulation(tripling, DLC_FAKE_CUDA_CACHE).string();
  ::setenv("DLC_FAKE_CUDA_PROGRAM", both.c_str(), 1);
  EXPECT_CU_ERROR(d, d.cuModuleLoadData(&mod, image.image.data()), CUDA_ERROR_FILE_NOT_FOUND,
                  "name only the program");
  useEmulationOf(source);
  ASSERT_EQ(d.cuModuleLoadData(&mod, image.image.data()), CUDA_SUCCESS) << errorText(d, CUDA_ERROR_FILE_NOT_FOUND);
  CUfunction f = nullptr;
  EXPECT_EQ(d.cuModuleGetFunction(&f, mod, "nope"), CUDA_ERROR_NOT_FOUND);
  ASSERT_EQ(d.cuModuleGetFunction(&f, mod, "dlc_fake_double"), CUDA_SUCCESS);

  DeviceMemory x(dev, 32), y(dev, 32), small(dev, 16);
  float in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8] = {};
  ASSERT_EQ(d.cuMemcpyHtoD(x.ptr(), in, 32), CUDA_SUCCESS);
  CUdeviceptr px = x.ptr(), py = y.ptr();
  void* args[] = {&px, &py};
  ASSERT_EQ(d.cuLaunchKernel(f, 1, 1, 1, 3, 1, 1, 0, nullptr, args, nullptr), CUDA_SUCCESS);
  ASSERT_EQ(d.cuMemcpyDtoH(out, y.ptr(), 32), CUDA_SUCCESS);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], 2 * in[i]);
  // The buffer comment says 8 floats: a 16-byte buffer is out of bounds.
  CUdeviceptr ps = small.ptr(), pmis = x.ptr() + 2;
  void* tooSmall[] = {&px, &ps};
  EXPECT_CU_ERROR(d, d.cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, tooSmall, nullptr),
                  CUDA_ERROR_ILLEGAL_ADDRESS, "parameter b1");
  // The written y partly over the read x: a race between the GPU's threads.
  DeviceMemory shared(dev, 48);
  CUdeviceptr pin = shared.ptr(), pout = shared.ptr() + 16;
  void* overlapping[] = {&pin, &pout};
  EXPECT_CU_ERROR(d, d.cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, overlapping, nullptr),
                  CUDA_ERROR_INVALID_VALUE, "partly overlaps");
  void* misaligned[] = {&pmis, &py};
  EXPECT_NE(d.cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, misaligned, nullptr), CUDA_SUCCESS);
  EXPECT_CU_ERROR(d, d.cuLaunchKernel(f, 1, 1, 1, 512, 1, 1, 0, nullptr, args, nullptr),
                  CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "__launch_bounds__(256)");
  EXPECT_CU_ERROR(d, d.cuLaunchKernel(f, 0, 1, 1, 32, 1, 1, 0, nullptr, args, nullptr), CUDA_ERROR_INVALID_VALUE,
                  "is 0");
  EXPECT_EQ(d.cuModuleUnload(mod), CUDA_SUCCESS);
  EXPECT_EQ(d.cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, args, nullptr), CUDA_ERROR_INVALID_HANDLE);
}

TEST(FakeCublas, GemmIsAColumnMajorReferenceAndChecksItsOperands) {
  Device dev;
  const Driver& d = dev.driver();
  void* lib = dlopen("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto create = reinterpret_cast<decltype(&cublasCreate_v2)>(dlsym(lib, "cublasCreate_v2"));
  auto destroy = reinterpret_cast<decltype(&cublasDestroy_v2)>(dlsym(lib, "cublasDestroy_v2"));
  auto statusName = reinterpret_cast<decltype(&cublasGetStatusName)>(dlsym(lib, "cublasGetStatusName"));
  using Gemm = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                                  const void*, cudaDataType, int, long long, const void*, cudaDataType, int,
                                  long long, const void*, void*, cudaDataType, int, long long, int,
                                  cublasComputeType_t, cublasGemmAlgo_t);
  auto gemm = reinterpret_cast<Gemm>(dlsym(lib, "cublasGemmStridedBatchedEx"));
  ASSERT_TRUE(create && destroy && statusName && gemm);
  cublasHandle_t h = nullptr;
  ASSERT_EQ(create(&h), CUBLAS_STATUS_SUCCESS);
  // C (2x2) = A (2x3) * B (3x2), column-major.
  float a[6] = {1, 4, 2, 5, 3, 6}, b[6] = {1, 0, 1, 0, 1, 1}, c[4] = {};
  DeviceMemory da(dev, sizeof a), db(dev, sizeof b), dc(dev, sizeof c);
  DLC_CU(d, cuMemcpyHtoD, da.ptr(), a, sizeof a);
  DLC_CU(d, cuMemcpyHtoD, db.ptr(), b, sizeof b);
  const float one = 1, zero = 0;
  auto run = [&](CUdeviceptr pc, int ldc) {
    return gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, reinterpret_cast<void*>(da.ptr()), CUDA_R_32F, 2, 6,
                reinterpret_cast<void*>(db.ptr()), CUDA_R_32F, 3, 6, &zero, reinterpret_cast<void*>(pc), CUDA_R_32F,
                ldc, 4, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  ASSERT_EQ(run(dc.ptr(), 2), CUBLAS_STATUS_SUCCESS) << statusName(CUBLAS_STATUS_EXECUTION_FAILED);
  DLC_CU(d, cuMemcpyDtoH, c, dc.ptr(), sizeof c);
  EXPECT_EQ(c[0], 4);  // row 0 . col 0 = 1 + 3
  EXPECT_EQ(c[1], 10);
  EXPECT_EQ(c[2], 5);
  EXPECT_EQ(c[3], 11);
  // ldc 3: C spans 5 floats, its allocation holds 4.
  cublasStatus_t s = run(dc.ptr(), 3);
  EXPECT_EQ(s, CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_NE(std::string(statusName(s)).find("operand C"), std::string::npos) << statusName(s);
  EXPECT_EQ(run(dc.ptr(), 1), CUBLAS_STATUS_INVALID_VALUE);  // ldc < m
  EXPECT_EQ(destroy(h), CUBLAS_STATUS_SUCCESS);
  EXPECT_NE(destroy(h), CUBLAS_STATUS_SUCCESS);
}
