// CUDA programs as plain data, without a GPU: which bundle image a device
// loads, the launch shapes and im2col kernels planCuda puts into the spec
// (and the spec format keeps), and `dlc compile --target cuda`'s bundle
// (cubins per arch + PTX, the header's device entry point). The bundles
// themselves are built and run by ctest aot_cuda.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "runtime/cuda/image_select.h"

#if DLC_HAVE_CUDA
#include "codegen/cpu/program_builder.h"
#include "codegen/cuda/cuda_aot.h"
#include "codegen/cuda/cuda_program.h"
#include "codegen/cuda/nvrtc_compiler.h"
#include "frontend/onnx/importer.h"
#include "passes/pass.h"
#include "runtime/spec_format.h"
#include "support/error.h"
#endif

using namespace dlc;
using runtime::cuda::selectImage;

TEST(CudaImageSelect, PrefersTheExactCubinThenACompatibleOneThenPtx) {
  std::vector<std::string> images = {"sm_80", "sm_86", "sm_90", "compute_80"};
  EXPECT_EQ(selectImage(images, 90), 2);   // H100: its own cubin
  EXPECT_EQ(selectImage(images, 86), 1);   // its own cubin over the compatible sm_80
  EXPECT_EQ(selectImage(images, 89), 1);   // Ada: the newest cubin of major 8 (sm_86)
  EXPECT_EQ(selectImage(images, 100), 3);  // Blackwell: no cubin of major 10, so PTX
  EXPECT_EQ(selectImage(images, 75), -1);  // Turing: older than every image
  EXPECT_EQ(selectImage({"sm_90", "compute_80", "compute_90"}, 120), 2);  // the newest PTX that fits
  EXPECT_EQ(selectImage({"sm_90", "compute_90"}, 80), -1);  // a newer arch never runs on an older GPU
  EXPECT_EQ(selectImage({"gfx90a", "sm_9x", ""}, 90), -1);  // not image archs
  EXPECT_EQ(selectImage({}, 90), -1);
}

TEST(CudaImageSelect, ParsesArchNames) {
  runtime::cuda::ImageArch a;
  ASSERT_TRUE(runtime::cuda::parseImageArch("sm_90", a));
  EXPECT_FALSE(a.isPtx);
  EXPECT_EQ(a.version, 90);
  ASSERT_TRUE(runtime::cuda::parseImageArch("compute_100", a));
  EXPECT_TRUE(a.isPtx);
  EXPECT_EQ(a.version, 100);
  for (const char* bad : {"sm_", "sm_9", "sm_9000", "sm_90a", "compute_", "90", "SM_90"})
    EXPECT_FALSE(runtime::cuda::parseImageArch(bad, a)) << bad;
}

#if DLC_HAVE_CUDA

namespace {
const std::string kModels = DLC_TEST_MODELS_DIR;

ir::Graph model(const std::string& name) {
  return frontend::onnx::importOnnxFile(kModels + "/" + name + "/model.onnx").graph;
}
}  // namespace

TEST(CudaPlanSpec, EveryKernelHasALaunchAndConvolutionsTheirIm2col) {
  ir::Graph graph = codegen::cpu::specialiseGraph(model("resnet_tiny"), {{"input", {2, 3, 64, 64}}});
  codegen::cuda::CudaPlan plan = codegen::cuda::planCuda(graph);
  const runtime::ProgramSpec& spec = plan.planned.spec;
  ASSERT_EQ(spec.kernelNames.size(), plan.kernels.size());
  ASSERT_EQ(spec.launches.size(), plan.kernels.size());
  for (size_t i = 0; i < plan.kernels.size(); ++i) {
    EXPECT_EQ(spec.kernelNames[i], plan.kernels[i].name);
    EXPECT_NE(plan.source.find(" " + plan.kernels[i].name + "("), std::string::npos) << plan.kernels[i].name;
    EXPECT_GE(spec.launches[i].threads, 32u);
    EXPECT_LE(spec.launches[i].threads, 1024u);
  }
  int im2col = 0;
  for (const runtime::StepSpec& s : spec.steps)
    if (const auto* c = std::get_if<runtime::ConvStepSpec>(&s.op); c && c->im2col != runtime::kNone) {
      ++im2col;
      EXPECT_EQ(spec.kernelNames.at(size_t(c->im2col)).rfind("dlc_im2col_", 0), 0u);
      // One thread per element of the column matrix [N, C*KH*KW, OH*OW].
      const runtime::ConvShape& sh = c->shape;
      int64_t columns = sh.batch * sh.inChannels * sh.kernelH * sh.kernelW * sh.outH() * sh.outW();
      const runtime::GpuLaunchSpec& l = spec.launches[size_t(c->im2col)];
      EXPECT_GE(l.blocks * l.threads, columns);
    }
  EXPECT_GT(im2col, 0) << "resnet_tiny has 3x3 convolutions";
  EXPECT_NO_THROW(runtime::validate(spec, spec.kernelNames.size()));

  // The spec format keeps what the GPU runner needs.
  runtime::SerializedSpec blobs = runtime::serializeSpec(spec);
  std::shared_ptr<uint8_t> weights(static_cast<uint8_t*>(std::aligned_alloc(64, (blobs.weights.size() + 64) / 64 * 64)),
                                   std::free);
  std::memcpy(weights.get(), blobs.weights.data(), blobs.weights.size());
  runtime::ProgramSpec loaded = runtime::deserializeSpec(blobs.spec, {weights.get(), blobs.weights.size()}, weights);
  ASSERT_EQ(loaded.launches.size(), spec.launches.size());
  for (size_t i = 0; i < spec.launches.size(); ++i) {
    EXPECT_EQ(loaded.launches[i].blocks, spec.launches[i].blocks);
    EXPECT_EQ(loaded.launches[i].threads, spec.launches[i].threads);
  }
  int ltGemms = 0;
  size_t ltStep = 0;
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    if (const auto* c = std::get_if<runtime::ConvStepSpec>(&spec.steps[i].op)) {
      EXPECT_EQ(std::get<runtime::ConvStepSpec>(loaded.steps[i].op).im2col, c->im2col);
    }
    if (const auto* g = std::get_if<runtime::GemmStepSpec>(&spec.steps[i].op); g && g->ltEpilogue) {
      const auto& l = std::get<runtime::GemmStepSpec>(loaded.steps[i].op);
      EXPECT_EQ(l.ltEpilogue, g->ltEpilogue);
      EXPECT_EQ(l.ltAlpha, g->ltAlpha);
      EXPECT_EQ(l.ltBias.space, g->ltBias.space);
      EXPECT_EQ(l.ltBias.index, g->ltBias.index);
      ++ltGemms;
      ltStep = i;
    }
  }
  // The classifier's Gemm + bias: a cuBLASLt bias epilogue.
  ASSERT_EQ(ltGemms, 1);
  EXPECT_EQ(std::get<runtime::GemmStepSpec>(spec.steps[ltStep].op).ltEpilogue, runtime::kLtBias);

  // A spec with launch shapes for some kernels only is refused.
  runtime::ProgramSpec broken = loaded;
  broken.launches.pop_back();
  EXPECT_THROW(runtime::validate(broken, broken.kernelNames.size()), UserError);
  broken = loaded;
  broken.launches[0].threads = 2048;
  EXPECT_THROW(runtime::validate(broken, broken.kernelNames.size()), UserError);
  // cuBLASLt epilogue flags it does not know, or without the kernel that
  // computes the epilogue where cuBLASLt cannot.
  broken = loaded;
  std::get<runtime::GemmStepSpec>(broken.steps[ltStep].op).ltEpilogue = 8;
  EXPECT_THROW(runtime::validate(broken, broken.kernelNames.size()), UserError);
  broken = loaded;
  std::get<runtime::GemmStepSpec>(broken.steps[ltStep].op).epilogue = runtime::kNone;
  EXPECT_THROW(runtime::validate(broken, broken.kernelNames.size()), UserError);
}

TEST(CudaAot, BundleHoldsACubinPerArchAndPtx) {
  codegen::cuda::CudaAotOptions options;
  options.name = "bert";
  options.archs = {"sm_90", "sm_80", "sm_90"};  // repeats are dropped
  codegen::cuda::CudaAotBundle b = codegen::cuda::compileCudaAot(model("bert_tiny"), {}, options);
  EXPECT_NE(b.bundle.target.find("sm_90, sm_80, compute_80"), std::string::npos) << b.bundle.target;
  EXPECT_NE(b.bundle.header.find("dlcrt_status bert_create(const char* weights_path, int device, bert_model** out);"),
            std::string::npos)
      << b.bundle.header;
  EXPECT_NE(b.bundle.header.find("#define BERT_DEVICE DLCRT_DEVICE_CUDA"), std::string::npos);
  EXPECT_NE(b.source.find("__global__"), std::string::npos);
  EXPECT_GT(b.bundle.object.size(), 1000u);
  EXPECT_FALSE(b.bundle.weights.empty());

  options.archs = {"sm90"};
  EXPECT_THROW(codegen::cuda::compileCudaAot(model("bert_tiny"), {}, options), UserError);
  options.archs = {};
  EXPECT_THROW(codegen::cuda::compileCudaAot(model("bert_tiny"), {}, options), UserError);
}

// --precision fp16 / bf16: after autocast, every matrix product of the BERT
// encoder is a half cuBLAS GEMM (its cast back to f32 fused into the
// epilogue, which rounds a C stored as f32), nothing runs on the host, the
// program compiles with NVRTC, and the spec keeps the GEMMs' types. The CPU
// planner, whose micro-kernels are f32, leaves half GEMMs to library calls.
TEST(CudaPlanSpec, HalfPrecisionMatrixProductsAreCublasGemms) {
  for (ir::DType half : {ir::DType::F16, ir::DType::BF16}) {
    ir::Graph g = model("bert_tiny");
    ASSERT_TRUE(passes::autocastMatrixProducts(g, half));
    ir::Graph graph = codegen::cpu::specialiseGraph(g, {});
    codegen::cuda::CudaPlan plan = codegen::cuda::planCuda(graph);
    const runtime::ProgramSpec& spec = plan.planned.spec;
    int halfGemms = 0, f32C = 0;
    for (const runtime::StepSpec& s : spec.steps) {
      EXPECT_FALSE(std::holds_alternative<runtime::LibraryStepSpec>(s.op)) << s.what;
      if (const auto* gemm = std::get_if<runtime::GemmStepSpec>(&s.op)) {
        EXPECT_EQ(gemm->dtype, uint8_t(half)) << s.what;
        ++halfGemms;
        f32C += gemm->cDtype == uint8_t(ir::DType::F32);
      }
    }
    EXPECT_GE(halfGemms, 8);  // per layer: QKV, two attention products, output projection, two MLP
    EXPECT_GT(f32C, 0);
    codegen::cuda::CompiledImage image = codegen::cuda::compileCuda(plan.source, "half.cu", {"sm_80", false, ""});
    EXPECT_FALSE(image.image.empty());
    runtime::SerializedSpec blobs = runtime::serializeSpec(spec);
    std::shared_ptr<uint8_t> weights(
        static_cast<uint8_t*>(std::aligned_alloc(64, (blobs.weights.size() + 64) / 64 * 64)), std::free);
    std::memcpy(weights.get(), blobs.weights.data(), blobs.weights.size());
    runtime::ProgramSpec loaded = runtime::deserializeSpec(blobs.spec, {weights.get(), blobs.weights.size()}, weights);
    for (size_t i = 0; i < spec.steps.size(); ++i) {
      if (const auto* gemm = std::get_if<runtime::GemmStepSpec>(&spec.steps[i].op)) {
        const auto& back = std::get<runtime::GemmStepSpec>(loaded.steps[i].op);
        EXPECT_EQ(back.dtype, gemm->dtype);
        EXPECT_EQ(back.cDtype, gemm->cDtype);
      }
    }
    EXPECT_NO_THROW(runtime::validate(spec, spec.kernelNames.size()));
    codegen::cpu::PlannedProgram cpuPlan = codegen::cpu::planProgram(graph);
    EXPECT_FALSE(cpuPlan.libraryCalls.empty());
  }
}

#endif  // DLC_HAVE_CUDA
