// runtime::conv2d against the reference interpreter's Conv (ir::evalNode
// through a one-node graph), with the portable and the JIT micro-kernels.
#include <gtest/gtest.h>

#include <atomic>
#include <random>

#include "codegen/llvm/cpu_jit.h"
#include "op_test_util.h"
#include "runtime/conv.h"

using namespace dlc;
using namespace dlc::ir;
using namespace dlc::ir::testing;
using runtime::ConvShape;
using Ints = std::vector<int64_t>;

namespace {

std::vector<float> randomVector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<std::atomic<int>>* gHits = nullptr;
int64_t gCols = 0;
void countRows(void* const*, const int64_t* range) {
  for (int64_t r = range[0]; r < range[1]; ++r)
    for (int64_t c = range[2]; c < range[3]; ++c) ++(*gHits)[size_t(r * gCols + c)];
}

void checkConv(const runtime::GemmMicroKernel& uk, const ConvShape& s, bool oneDimensional = false) {
  SCOPED_TRACE(::testing::Message() << "N" << s.batch << " IC" << s.inChannels << " " << s.inH << "x" << s.inW << " OC"
                                  << s.outChannels << " k" << s.kernelH << "x" << s.kernelW << " g" << s.group
                                  << " s" << s.strideH << "x" << s.strideW << " d" << s.dilationH << "x"
                                  << s.dilationW << " p" << s.padTop << "," << s.padLeft << "," << s.padBottom << ","
                                  << s.padRight << " uk " << uk.mr << "x" << uk.nr);
  std::vector<float> x = randomVector(size_t(s.batch * s.inChannels * s.inH * s.inW), 1);
  std::vector<float> w = randomVector(size_t(s.outChannels * s.depth()), 2);
  // The reference.
  Attributes a;
  Tensor xt, wt;
  if (oneDimensional) {
    xt = Tensor::fromVector<float>({s.batch, s.inChannels, s.inW}, x);
    wt = Tensor::fromVector<float>({s.outChannels, s.inChannels / s.group, s.kernelW}, w);
    a = attrs({{"group", s.group}, {"strides", Ints{s.strideW}}, {"dilations", Ints{s.dilationW}},
               {"pads", Ints{s.padLeft, s.padRight}}});
  } else {
    xt = Tensor::fromVector<float>({s.batch, s.inChannels, s.inH, s.inW}, x);
    wt = Tensor::fromVector<float>({s.outChannels, s.inChannels / s.group, s.kernelH, s.kernelW}, w);
    a = attrs({{"group", s.group},
               {"strides", Ints{s.strideH, s.strideW}},
               {"dilations", Ints{s.dilationH, s.dilationW}},
               {"pads", Ints{s.padTop, s.padLeft, s.padBottom, s.padRight}}});
  }
  Tensor ref = runOp1(OpKind::Conv, {xt, wt}, a);
  ASSERT_EQ(ref.numel(), s.batch * s.outChannels * s.outH() * s.outW());

  runtime::PackedConvWeights packed = runtime::prepareConvWeights(uk, s, w.data());
  std::vector<float> out(size_t(ref.numel()), -999.0f);
  int64_t rows = s.batch * s.outChannels, cols = s.outH() * s.outW();
  std::vector<std::atomic<int>> hits(size_t(rows * cols));
  gHits = &hits;
  gCols = cols;
  for (int threads : {1, 4}) {
    for (auto& h : hits) h = 0;
    runtime::ThreadPool pool(threads);
    runtime::conv2d(pool, uk, packed, x.data(), out.data(), countRows, nullptr);
    const float* want = ref.data<float>().data();
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_NEAR(out[i], want[i], 1e-4 * (1 + double(s.depth()))) << "at " << i << " threads " << threads;
      ASSERT_EQ(hits[i].load(), 1) << "epilogue at " << i;
    }
  }
}

const runtime::GemmMicroKernel& jitMicroKernel() {
  static std::unique_ptr<codegen::cpu::JitProgram> program = codegen::cpu::jitCompile({}, {});
  return program->gemmMicroKernel();
}

ConvShape shape(int64_t n, int64_t ic, int64_t h, int64_t w, int64_t oc, int64_t k) {
  ConvShape s;
  s.batch = n, s.inChannels = ic, s.inH = h, s.inW = w, s.outChannels = oc, s.kernelH = k, s.kernelW = k;
  return s;
}

void runAll(const runtime::GemmMicroKernel& uk) {
  checkConv(uk, shape(1, 3, 8, 8, 4, 3));  // plain 3x3, no padding
  ConvShape padded = shape(2, 5, 9, 7, 13, 3);
  padded.padTop = padded.padLeft = padded.padBottom = padded.padRight = 1;
  checkConv(uk, padded);
  ConvShape strided = shape(1, 4, 11, 10, 6, 3);
  strided.strideH = 2, strided.strideW = 3, strided.padTop = 2, strided.padLeft = 0, strided.padBottom = 1,
  strided.padRight = 2;
  checkConv(uk, strided);
  ConvShape dilated = shape(1, 2, 12, 12, 3, 3);
  dilated.dilationH = 2, dilated.dilationW = 3, dilated.padTop = dilated.padLeft = 2;
  checkConv(uk, dilated);
  ConvShape grouped = shape(2, 6, 7, 7, 9, 3);
  grouped.group = 3, grouped.padTop = grouped.padBottom = 1;
  checkConv(uk, grouped);
  ConvShape depthwise = shape(1, 4, 6, 6, 4, 3);
  depthwise.group = 4, depthwise.padLeft = depthwise.padRight = 1;
  checkConv(uk, depthwise);
  checkConv(uk, shape(2, 16, 5, 9, 24, 1));  // pointwise: no im2col
  ConvShape pointStrided = shape(1, 8, 6, 6, 5, 1);
  pointStrided.strideH = pointStrided.strideW = 2;
  checkConv(uk, pointStrided);
  ConvShape large = shape(1, 64, 14, 14, 40, 3);  // K = 576: more than one KC block
  large.padTop = large.padLeft = large.padBottom = large.padRight = 1;
  checkConv(uk, large);
  ConvShape conv1d = shape(2, 3, 1, 20, 4, 1);
  conv1d.kernelW = 5, conv1d.strideW = 2, conv1d.dilationW = 2, conv1d.padLeft = 3, conv1d.padRight = 1;
  checkConv(uk, conv1d, true);
}

}  // namespace

TEST(Conv, PortableMicroKernelMatchesInterpreter) { runAll(runtime::portableGemmMicroKernel()); }
TEST(Conv, JitMicroKernelMatchesInterpreter) { runAll(jitMicroKernel()); }

TEST(Conv, InconsistentShapeIsAnInternalError) {
  ConvShape s = shape(1, 3, 4, 4, 4, 3);
  s.group = 2;  // 3 channels do not split in 2 groups
  std::vector<float> w(100);
  EXPECT_THROW(runtime::prepareConvWeights(runtime::portableGemmMicroKernel(), s, w.data()), InternalError);
  ConvShape tooSmall = shape(1, 1, 2, 2, 1, 3);  // empty output
  EXPECT_THROW(runtime::prepareConvWeights(runtime::portableGemmMicroKernel(), tooSmall, w.data()), InternalError);
}
