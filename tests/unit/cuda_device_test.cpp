// GPU execution of the lowest layers (skipped with a message when there is
// no CUDA driver or device, as in CI): emitted kernels compiled by NVRTC for
// the device's arch and launched through the dlopen'd driver give the same
// bits as the LLVM JIT on the same inputs; cuBLAS runs the planned GEMMs like
// the reference. Without a device, the driver reports why instead of
// crashing.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <random>

#include "codegen/cuda/cuda_emitter.h"
#include "codegen/kernel/kernel_ir.h"
#include "codegen/llvm/cpu_jit.h"
#include "support/error.h"

#if DLC_HAVE_CUDA
#include "codegen/cuda/nvrtc_compiler.h"
#include "runtime/cuda/blas_gemm.h"
#include "runtime/cuda/cublas.h"
#include "runtime/cuda/cuda_device.h"
#endif

using namespace dlc;
using namespace dlc::codegen;

#if DLC_HAVE_CUDA
namespace {

#define SKIP_WITHOUT_GPU()                                                     \
  std::string why;                                                             \
  if (!runtime::cuda::driver(&why)) GTEST_SKIP() << "no CUDA device: " << why; \
  runtime::cuda::Device dev(0)

kir::Kernel opKernel(const std::string& name, kir::BinaryOp op, ir::DType t, int64_t n) {
  kir::Kernel k;
  k.name = name;
  k.extent0 = n;
  int x = kir::addBuffer(k, "x", t, n, false);
  int y = kir::addBuffer(k, "y", t, n, false);
  kir::Expr e = kir::binary(op, kir::load(k, x, kir::var(k.iter0)), kir::load(k, y, kir::var(k.iter0)));
  int z = kir::addBuffer(k, "z", e->dtype, n, true);
  k.body = {kir::store(k, z, kir::var(k.iter0), e)};
  return k;
}

}  // namespace

TEST(CudaDevice, WithoutADriverTheReasonIsReported) {
  std::string why;
  const runtime::cuda::Driver* d = runtime::cuda::driver(&why);
  if (d) {
    EXPECT_GT(d->version, 0);
  } else {
    EXPECT_FALSE(why.empty());
    EXPECT_THROW(runtime::cuda::Device(0), UserError);
  }
}

TEST(CudaDevice, EmittedKernelsMatchTheLlvmJitBitForBit) {
  SKIP_WITHOUT_GPU();
  std::vector<kir::Kernel> ks;
  int id = 0;
  for (ir::DType t : {ir::DType::F32, ir::DType::F64, ir::DType::I32, ir::DType::I8, ir::DType::U64})
    for (kir::BinaryOp op : {kir::BinaryOp::Add, kir::BinaryOp::Mul, kir::BinaryOp::Div, kir::BinaryOp::Rem,
                             kir::BinaryOp::Min, kir::BinaryOp::Max, kir::BinaryOp::Lt})
      ks.push_back(opKernel(fmt::format("k{}", id++), op, t, 5000));
  cuda::CompiledImage img = cuda::compileCuda(cuda::emitProgram(ks), "device_test.cu", {dev.arch(), false, ""});
  runtime::cuda::Module module(dev, img.image);
  runtime::cuda::Stream stream(dev);
  auto jit = cpu::jitCompile(ks, cpu::CpuTargetOptions{"host"});
  std::mt19937 rng(11);
  for (const kir::Kernel& k : ks) {
    std::vector<std::vector<std::byte>> host;
    std::vector<runtime::cuda::DeviceMemory> devBufs;
    std::vector<CUdeviceptr> ptrs;
    for (const kir::BufferParam& p : k.buffers) {
      host.emplace_back(size_t(p.numElements) * ir::dtypeSize(p.dtype));
      for (auto& b : host.back()) b = std::byte(rng());  // any bits: NaNs, zeros, extremes included
      devBufs.emplace_back(dev, host.back().size());
      DLC_CU(dev.driver(), cuMemcpyHtoD, devBufs.back().ptr(), host.back().data(), host.back().size());
      ptrs.push_back(devBufs.back().ptr());
    }
    std::vector<void*> args;
    for (CUdeviceptr& p : ptrs) args.push_back(&p);
    cuda::LaunchShape shape = cuda::launchShape(k);
    DLC_CU(dev.driver(), cuLaunchKernel, module.function(k.name), shape.grid, 1, 1, shape.block, 1, 1, 0,
           stream.get(), args.data(), nullptr);
    stream.synchronize();
    std::vector<void*> hostPtrs;
    for (auto& h : host) hostPtrs.push_back(h.data());
    int64_t range[] = {0, k.extent0, 0, 1};
    jit->kernel(k.name)(hostPtrs.data(), range);
    std::vector<std::byte> fromGpu(host[2].size());
    DLC_CU(dev.driver(), cuMemcpyDtoH, fromGpu.data(), devBufs[2].ptr(), fromGpu.size());
    size_t size = ir::dtypeSize(k.buffers[2].dtype);
    for (int64_t e = 0; e < k.extent0; ++e) {
      const std::byte* a = host[2].data() + e * size;
      const std::byte* b = fromGpu.data() + e * size;
      if (std::memcmp(a, b, size) == 0) continue;
      bool bothNaN = false;
      if (k.buffers[2].dtype == ir::DType::F32) {
        float x, y;
        std::memcpy(&x, a, 4);
        std::memcpy(&y, b, 4);
        bothNaN = std::isnan(x) && std::isnan(y);
      } else if (k.buffers[2].dtype == ir::DType::F64) {
        double x, y;
        std::memcpy(&x, a, 8);
        std::memcpy(&y, b, 8);
        bothNaN = std::isnan(x) && std::isnan(y);
      }
      ASSERT_TRUE(bothNaN) << k.name << " element " << e << "\n" << cuda::emitKernel(k);
    }
  }
}

TEST(CudaDevice, CublasRunsThePlannedGemms) {
  SKIP_WITHOUT_GPU();
  runtime::cuda::Stream stream(dev);
  runtime::cuda::Blas blas(dev, stream, false);
  runtime::GemmArgs s;
  s.batch = 3;
  s.M = 37;
  s.N = 29;
  s.K = 41;
  s.aRowStride = 1;  // A transposed
  s.aColStride = s.M;
  s.aBatchStride = s.M * s.K;
  s.bRowStride = s.N;
  s.bColStride = 1;
  s.bBatchStride = 0;  // B shared by every batch
  s.ldc = s.N;
  s.cBatchStride = s.M * s.N;
  runtime::cuda::BlasGemm g = *runtime::cuda::planBlasGemm(s);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> a(size_t(s.batch * s.M * s.K)), b(size_t(s.K * s.N)), c(size_t(s.batch * s.M * s.N));
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  std::vector<float> expected(c.size());
  runtime::cuda::referenceBlasGemm(g, b.data(), a.data(), expected.data());
  runtime::cuda::DeviceMemory da(dev, a.size() * 4), db(dev, b.size() * 4), dc(dev, c.size() * 4);
  DLC_CU(dev.driver(), cuMemcpyHtoD, da.ptr(), a.data(), a.size() * 4);
  DLC_CU(dev.driver(), cuMemcpyHtoD, db.ptr(), b.data(), b.size() * 4);
  blas.gemm(g, db.ptr(), da.ptr(), dc.ptr());
  stream.synchronize();
  DLC_CU(dev.driver(), cuMemcpyDtoH, c.data(), dc.ptr(), c.size() * 4);
  for (size_t i = 0; i < c.size(); ++i) ASSERT_NEAR(c[i], expected[i], 1e-4) << i;
}
#else
TEST(CudaDevice, NotBuilt) { GTEST_SKIP() << "dlc was built without CUDA (DLC_CUDA=OFF): GPU tests skipped"; }
#endif
