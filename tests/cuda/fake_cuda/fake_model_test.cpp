// CudaModel end to end on the fake CUDA device: small graphs covering each
// way a step runs on the GPU (elementwise kernels with broadcasting, row
// kernels, cuBLAS GEMMs with their epilogue, im2col + cuBLAS convolutions,
// pooling, a gather's status word), then the real test models, against the
// reference interpreter; with and without CUDA graphs, several runs, and
// two threads at once.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "codegen/cuda/cuda_model.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/graph_clone.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "passes/pass.h"
#include "support/error.h"
#include "tests/cuda/fake_cuda/fake_test_util.h"

using namespace dlc;
using codegen::cuda::CudaModel;
using codegen::cuda::CudaOptions;
using dlc::testing::fake_cuda::expectClose;
using dlc::testing::fake_cuda::expectFakeDevice;
using dlc::testing::fake_cuda::useEmulationOf;

namespace {

// Float inputs uniform in [-1, 1]; integer inputs (indices) 0, 1, 0, ...
ir::NamedTensors randomInputs(const ir::Graph& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1, 1);
  ir::NamedTensors inputs;
  for (const ir::Value* in : g.inputs()) {
    ir::Tensor t(in->dtype(), in->type().shape->extents());
    for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, ir::isFloat(in->dtype()) ? dist(rng) : double(i % 2));
    inputs[in->name()] = std::move(t);
  }
  return inputs;
}

CudaOptions options(bool useGraphs) {
  CudaOptions o;
  o.useGraphs = useGraphs;
  o.cacheDir = std::string(DLC_FAKE_CUDA_CACHE) + "/nvrtc";  // each program through NVRTC once
  return o;
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// Weights as constants (the GEMM and convolution paths want them so).
std::string constant(const std::string& name, const std::string& type, int64_t n) {
  std::string values;
  for (int64_t i = 0; i < n; ++i) values += fmt::format("{}{}", i ? ", " : "", double((i * 37) % 19 - 9) / 16);
  return fmt::format("  %{}: {} = const [{}]\n", name, type, values);
}

// `graph` on the fake device against the interpreter: with and without CUDA
// graphs, three runs each (the later ones replay the captured graph), then
// two threads at once on one model.
void expectMatchesInterpreter(const ir::Graph& graph, const std::string& what,
                              ir::Tolerance tol = ir::Tolerance{1e-4, 1e-6},
                              std::function<ir::NamedTensors(unsigned)> inputsFor = {}) {
  expectFakeDevice();
  const dlc::testing::fake_cuda::DeviceUsage before = dlc::testing::fake_cuda::deviceUsage();
  if (!inputsFor) inputsFor = [&](unsigned seed) { return randomInputs(graph, seed); };
  for (bool useGraphs : {true, false}) {
    std::string context = what + (useGraphs ? " (CUDA graphs)" : " (step by step)");
    // The model's device memory, streams, graphs and module are all released
    // when it goes.
    struct Released {
      const dlc::testing::fake_cuda::DeviceUsage& before;
      std::string context;
      ~Released() { dlc::testing::fake_cuda::expectReleasedSince(before, context); }
    } released{before, context};
    CudaModel model(ir::cloneGraph(graph), options(useGraphs));
    useEmulationOf(model.cudaSource());
    for (unsigned seed = 1; seed <= 3; ++seed) {
      ir::NamedTensors inputs = inputsFor(seed);
      expectClose(model.run(inputs), ir::interpret(graph, inputs), tol,
                  context + " run " + std::to_string(seed) + "\n" + model.describe());
    }
    if (!useGraphs) continue;
    std::vector<std::vector<ir::Tensor>> results(2);
    std::vector<ir::NamedTensors> inputs = {inputsFor(11), inputsFor(12)};
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 2; ++t)
      threads.emplace_back([&, t] {
        try {
          for (int i = 0; i < 2; ++i) results[t] = model.run(inputs[t]);
        } catch (const std::exception& e) {
          ADD_FAILURE() << context << " thread " << t << ": " << e.what();
        }
      });
    for (std::thread& t : threads) t.join();
    for (size_t t = 0; t < 2; ++t)
      if (!results[t].empty())
        expectClose(results[t], ir::interpret(graph, inputs[t]), tol, context + " thread " + std::to_string(t));
  }
}

}  // namespace

TEST(FakeCudaModel, ElementwiseWithBroadcasting) {
  expectMatchesInterpreter(ir::parseGraph(R"(graph @g(%x: f32[4,3,40], %y: f32[3,1], %z: f32[40]) {
  %a: f32[4,3,40] = Mul(%x, %y)
  %b: f32[4,3,40] = Add(%a, %z)
  %c: f32[4,3,40] = Tanh(%b)
  %d: f32[4,3,40] = Sigmoid(%x)
  %e: f32[4,3,40] = Sub(%c, %d)
  return %e, %c
}
)"),
                           "elementwise");
}

TEST(FakeCudaModel, LargeElementwiseUsesVectors) {
  // Over kMinVectorPoints: the 16-byte vector path.
  expectMatchesInterpreter(ir::parseGraph(R"(graph @g(%x: f32[64,300], %y: f32[64,300]) {
  %a: f32[64,300] = Mul(%x, %y)
  %b: f32[64,300] = Relu(%a)
  return %b
}
)"),
                           "vectorised elementwise");
}

TEST(FakeCudaModel, SoftmaxAndLayerNorm) {
  expectMatchesInterpreter(ir::parseGraph("graph @g(%x: f32[6,50], %w: f32[3000]) {\n" +
                                          constant("s", "f32[50]", 50) + constant("b", "f32[50]", 50) +
                                          constant("s2", "f32[3000]", 3000) + constant("b2", "f32[3000]", 3000) +
                                          R"(  %sm: f32[6,50] = Softmax(%x) {axis = -1}
  %ls: f32[6,50] = LogSoftmax(%x) {axis = 0}
  %ln: f32[6,50] = LayerNormalization(%x, %s, %b) {axis = -1, epsilon = 1e-5}
  %r: i64[2] = const [1, 3000]
  %w2: f32[1,3000] = Reshape(%w, %r)
  %ln2: f32[1,3000] = LayerNormalization(%w2, %s2, %b2) {axis = -1, epsilon = 1e-5}
  return %sm, %ls, %ln, %ln2
}
)"),
                           "row kernels");
}

// Attention kernels (CudaOptions::fuseAttention, the default): a padding
// mask broadcast over heads and queries, a causal Where (a warp per query
// row), and 2500 keys (a block of threads per row, partials combined in
// shared memory).
TEST(FakeCudaModel, AttentionKernels) {
  ir::Graph graph = ir::parseGraph(R"(graph @g(%q: f32[2,3,6,8], %kt: f32[2,3,8,7], %v: f32[2,3,7,5], %kb: f32[2,3,8,7], %pad: f32[2,1,1,7], %c: f32[1,1,6,7], %ql: f32[1,3,4], %kl: f32[1,4,2500], %vl: f32[1,2500,3]) {
  %scale: f32[] = const [0.35355339]
  %s: f32[2,3,6,7] = MatMul(%q, %kt)
  %t: f32[2,3,6,7] = Mul(%s, %scale)
  %m: f32[2,3,6,7] = Add(%t, %pad)
  %p: f32[2,3,6,7] = Softmax(%m) {axis = -1}
  %y: f32[2,3,6,5] = MatMul(%p, %v)
  %zero: f32[] = const [-1.0]
  %keep: bool[1,1,6,7] = Greater(%c, %zero)
  %ninf: f32[] = const [-1e30]
  %s2: f32[2,3,6,7] = MatMul(%q, %kb)
  %w2: f32[2,3,6,7] = Where(%keep, %s2, %ninf)
  %p2: f32[2,3,6,7] = Softmax(%w2) {axis = 3}
  %y2: f32[2,3,6,5] = MatMul(%p2, %v)
  %sl: f32[1,3,2500] = MatMul(%ql, %kl)
  %pl: f32[1,3,2500] = Softmax(%sl) {axis = -1}
  %yl: f32[1,3,3] = MatMul(%pl, %vl)
  return %y, %y2, %yl
}
)");
  std::string described = CudaModel(ir::cloneGraph(graph), options(true)).describe();
  for (const char* kernel : {"[MatMul Mul Add Softmax MatMul]", "[MatMul Where Softmax MatMul]", "[MatMul Softmax MatMul]"})
    EXPECT_NE(described.find(kernel), std::string::npos) << kernel << "\n" << described;
  EXPECT_NE(described.find("a block per row"), std::string::npos) << described;
  EXPECT_EQ(described.find("cuBLAS"), std::string::npos) << described;
  expectMatchesInterpreter(graph, "attention", ir::Tolerance{1e-4, 1e-5});
}

TEST(FakeCudaModel, GemmWithEpilogue) {
  expectMatchesInterpreter(ir::parseGraph("graph @g(%x: f32[5,24], %y: f32[3,24,7]) {\n" +
                                          constant("w", "f32[16,24]", 384) + constant("bias", "f32[16]", 16) +
                                          constant("m", "f32[3,7,9]", 189) +
                                          R"(  %g: f32[5,16] = Gemm(%x, %w, %bias) {transB = 1}
  %r: f32[5,16] = Relu(%g)
  %t: f32[5,16] = Tanh(%g)
  %s: f32[5,16] = Add(%r, %t)
  %z: f32[3,24,9] = MatMul(%y, %m)
  return %s, %z
}
)"),
                           "GEMM");
}

// GEMMs whose epilogue is a bias, a residual and/or ReLU run it in cuBLASLt
// (the fake counts its GEMMs): Gemm with its C as the bias (transB, alpha),
// MatMul + bias + ReLU, MatMul + ReLU, the bias from a graph input, bias +
// residual + ReLU, a residual alone; a GELU epilogue stays a kernel. With CudaOptions::useLtEpilogues off, cuBLAS and
// the kernels give the same results.
TEST(FakeCudaModel, GemmEpiloguesInCublasLt) {
  ir::Graph graph = ir::parseGraph(
      "graph @g(%x: f32[5,24], %b2: f32[16], %w2: f32[24,16], %v2: f32[24,16], %v3: f32[24,16], %v4: f32[24,16], "
      "%v5: f32[24,16], %res: f32[5,16]) {\n" +
      constant("w", "f32[16,24]", 384) +
                                   constant("bias", "f32[16]", 16) + constant("v", "f32[24,16]", 384) +
                                   R"(  %g: f32[5,16] = Gemm(%x, %w, %bias) {alpha = 0.5, transB = 1}
  %m: f32[5,16] = MatMul(%x, %v)
  %mb: f32[5,16] = Add(%bias, %m)
  %mr: f32[5,16] = Relu(%mb)
  %n: f32[5,16] = MatMul(%x, %w2)
  %nr: f32[5,16] = Relu(%n)
  %o: f32[5,16] = MatMul(%x, %v2)
  %ob: f32[5,16] = Add(%o, %b2)
  %p: f32[5,16] = MatMul(%x, %v3)
  %pg: f32[5,16] = Gelu(%p)
  %r: f32[5,16] = MatMul(%x, %v4)
  %rb: f32[5,16] = Add(%r, %bias)
  %rr: f32[5,16] = Add(%res, %rb)
  %rl: f32[5,16] = Relu(%rr)
  %s: f32[5,16] = MatMul(%x, %v5)
  %sr: f32[5,16] = Add(%s, %res)
  return %g, %mr, %nr, %ob, %pg, %rl, %sr
}
)");
  auto ltMatmuls = [] {
    void* lib = dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_NOLOAD);
    auto count = lib ? reinterpret_cast<unsigned long long (*)()>(dlsym(lib, "dlc_fake_cublaslt_matmuls")) : nullptr;
    return count ? count() : 0ull;
  };
  for (bool useLt : {true, false}) {
    CudaOptions o = options(true);
    o.useLtEpilogues = useLt;
    CudaModel model(ir::cloneGraph(graph), o);
    std::string described = model.describe();
    EXPECT_EQ(count(described, "cuBLASLt GEMM with its bias epilogue"), 2) << described;
    EXPECT_EQ(count(described, "cuBLASLt GEMM with its bias + ReLU epilogue"), 1) << described;
    EXPECT_EQ(count(described, "cuBLASLt GEMM with its ReLU epilogue"), 1) << described;
    EXPECT_EQ(count(described, "cuBLASLt GEMM with its bias + residual + ReLU epilogue"), 1) << described;
    EXPECT_EQ(count(described, "cuBLASLt GEMM with its residual epilogue"), 1) << described;
    useEmulationOf(model.cudaSource());
    for (unsigned seed = 1; seed <= 2; ++seed) {
      ir::NamedTensors inputs = randomInputs(graph, seed);
      unsigned long long before = ltMatmuls();
      expectClose(model.run(inputs), ir::interpret(graph, inputs), ir::Tolerance{1e-5, 1e-6},
                  std::string(useLt ? "cuBLASLt" : "cuBLAS + kernels") + "\n" + described);
      EXPECT_EQ(ltMatmuls() - before, useLt ? 6u : 0u);
    }
  }
}

TEST(FakeCudaModel, ConvWithBiasReluAndPooling) {
  expectMatchesInterpreter(ir::parseGraph("graph @g(%x: f32[2,3,9,9]) {\n" + constant("w", "f32[4,3,3,3]", 108) +
                                          constant("b", "f32[4]", 4) + constant("w1", "f32[6,4,1,1]", 24) +
                                          constant("dw", "f32[6,1,3,3]", 54) +
                                          R"(  %c: f32[2,4,9,9] = Conv(%x, %w, %b) {pads = [1, 1, 1, 1]}
  %r: f32[2,4,9,9] = Relu(%c)
  %p: f32[2,4,4,4] = MaxPool(%r) {kernel_shape = [2, 2], strides = [2, 2]}
  %c1: f32[2,6,4,4] = Conv(%p, %w1)
  %d: f32[2,6,2,2] = Conv(%c1, %dw) {group = 6, strides = [2, 2]}
  %a: f32[2,6,1,1] = GlobalAveragePool(%d)
  %ap: f32[2,4,3,3] = AveragePool(%r) {kernel_shape = [3, 3], strides = [3, 3]}
  return %a, %ap
}
)"),
                           "convolution");
}

// ConvTranspose: a cuBLAS GEMM per group into the arena's columns, then a
// col2im kernel.
TEST(FakeCudaModel, ConvTranspose) {
  expectMatchesInterpreter(ir::parseGraph("graph @g(%x: f32[2,4,5,5]) {\n" + constant("w", "f32[4,3,3,3]", 108) +
                                          constant("b", "f32[6]", 6) + constant("w2", "f32[6,2,2,2]", 48) +
                                          "  %y: f32[2,6,9,9] = ConvTranspose(%x, %w, %b) "
                                          "{group = 2, strides = [2, 2], pads = [1, 1, 1, 1]}\n"
                                          R"(  %r: f32[2,6,9,9] = Relu(%y)
  %z: f32[2,2,10,10] = ConvTranspose(%r, %w2)
  return %r, %z
}
)"),
                           "conv transpose");
}

TEST(FakeCudaModel, GatherOutOfRangeIsAUserError) {
  ir::Graph g = ir::parseGraph("graph @g(%x: f32[2,3,8,8], %i: i64[3]) {\n" + constant("w", "f32[4,3,3,3]", 108) +
                               constant("b", "f32[4]", 4) + constant("m", "f32[256,10]", 2560) +
                               R"(  %c: f32[2,4,8,8] = Conv(%x, %w, %b) {pads = [1, 1, 1, 1]}
  %r: f32[2,4,8,8] = Relu(%c)
  %s: i64[2] = const [2, 256]
  %f: f32[2,256] = Reshape(%r, %s)
  %y: f32[2,10] = MatMul(%f, %m)
  %p: f32[2,10] = Softmax(%y) {axis = -1}
  %g: f32[3,10] = Gather(%p, %i) {axis = 0}
  return %p, %g
}
)");
  expectMatchesInterpreter(g, "gather");
  for (bool useGraphs : {true, false}) {
    CudaModel model(ir::cloneGraph(g), options(useGraphs));
    useEmulationOf(model.cudaSource());
    ir::NamedTensors bad = randomInputs(g, 4);
    bad["i"] = ir::Tensor::fromVector<int64_t>({3}, {0, 5, 1});
    EXPECT_THROW(model.run(bad), UserError);
    // The status word is reset: a good run afterwards succeeds.
    ir::NamedTensors good = randomInputs(g, 5);
    expectClose(model.run(good), ir::interpret(g, good), ir::Tolerance{1e-4, 1e-6}, "after the bad index");
  }
}

// ---- The real test models (tests/models, models/demo_cnn) with their own
// test inputs.

namespace {

struct LoadedModel {
  ir::Graph graph;
  ir::NamedTensors inputs;
};

// The model with its batch dim N (where it has one) bound to the test
// inputs' batch: a model with symbolic shapes is planned only at its first
// run, and the emulation must be built before that.
LoadedModel load(const std::filesystem::path& dir) {
  ir::NamedTensors inputs;
  frontend::onnx::ImportOptions options;
  for (int i = 0;; ++i) {
    std::filesystem::path p = dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb");
    if (!std::filesystem::exists(p)) break;
    std::string name;
    ir::Tensor t = frontend::onnx::readTensorProtoFile(p.string(), &name);
    if (i == 0 && !t.shape().empty()) options.dimBindings["N"] = t.shape()[0];
    inputs[name] = std::move(t);
  }
  return {frontend::onnx::importOnnxFile((dir / "model.onnx").string(), options).graph, std::move(inputs)};
}

void expectRealModel(const std::filesystem::path& dir) {
  LoadedModel m = load(dir);
  ASSERT_FALSE(m.inputs.empty()) << dir;
  // Three runs on the model's own inputs, then on the same inputs scaled.
  auto inputsFor = [&](unsigned seed) {
    ir::NamedTensors in;
    for (const auto& [name, t] : m.inputs) {
      ir::Tensor c = t.clone();
      if (ir::isFloat(c.dtype()))
        for (int64_t i = 0; i < c.numel(); ++i) c.setDouble(i, c.getDouble(i) * (1.0 + 0.1 * (seed - 1)));
      in[name] = std::move(c);
    }
    return in;
  };
  expectMatchesInterpreter(m.graph, dir.filename().string(), ir::Tolerance{1e-4, 1e-5}, inputsFor);
}

}  // namespace

TEST(FakeCudaRealModel, ResnetTiny) { expectRealModel(std::filesystem::path(DLC_TEST_MODELS_DIR) / "resnet_tiny"); }
TEST(FakeCudaRealModel, MobilenetTiny) {
  expectRealModel(std::filesystem::path(DLC_TEST_MODELS_DIR) / "mobilenet_tiny");
}
TEST(FakeCudaRealModel, BertTiny) { expectRealModel(std::filesystem::path(DLC_TEST_MODELS_DIR) / "bert_tiny"); }
TEST(FakeCudaRealModel, GptTiny) { expectRealModel(std::filesystem::path(DLC_TEST_MODELS_DIR) / "gpt_tiny"); }
TEST(FakeCudaRealModel, LstmTiny) { expectRealModel(std::filesystem::path(DLC_TEST_MODELS_DIR) / "lstm_tiny"); }
TEST(FakeCudaRealModel, DemoCnn) { expectRealModel(DLC_DEMO_MODEL_DIR); }

// --precision fp16 / bf16: the matrix products and convolutions run as half
// cuBLAS GEMMs (f32 accumulation, one rounding; half im2col), with the casts
// fused into their epilogues; the result matches the interpreter running the
// same autocast graph (products in the half type, rounded once) within a few
// half ulps.
void expectHalfPrecisionMatches(const std::string& name) {
  expectFakeDevice();
  LoadedModel m = load(std::filesystem::path(DLC_TEST_MODELS_DIR) / name);
  for (ir::DType half : {ir::DType::F16, ir::DType::BF16}) {
    std::string what = name + " in " + std::string(ir::dtypeName(half));
    ir::Graph reference = ir::cloneGraph(m.graph);
    passes::autocastMatrixProducts(reference, half);
    CudaOptions o = options(true);
    o.precision = half;
    CudaModel model(ir::cloneGraph(m.graph), o);
    useEmulationOf(model.cudaSource());
    EXPECT_EQ(model.describe().find("library call"), std::string::npos) << model.describe();
    ir::Tolerance tol = half == ir::DType::F16 ? ir::Tolerance{2e-3, 2e-4} : ir::Tolerance{1e-2, 2e-3};
    expectClose(model.run(m.inputs), ir::interpret(reference, m.inputs), tol, what + "\n" + model.describe());
  }
}

TEST(FakeCudaRealModel, BertTinyInHalfPrecision) { expectHalfPrecisionMatches("bert_tiny"); }
TEST(FakeCudaRealModel, ResnetTinyInHalfPrecision) { expectHalfPrecisionMatches("resnet_tiny"); }
TEST(FakeCudaRealModel, MobilenetTinyInHalfPrecision) { expectHalfPrecisionMatches("mobilenet_tiny"); }

// ---- Less common paths.

TEST(FakeCudaModel, PtxImages) {
  // CudaOptions::ptx: the driver gets PTX text instead of a cubin.
  expectFakeDevice();
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[3,70]) {
  %s: f32[3,70] = Softmax(%x) {axis = -1}
  %e: f32[3,70] = Exp(%s)
  return %e
}
)");
  CudaOptions o = options(true);
  o.ptx = true;
  CudaModel model(ir::cloneGraph(g), o);
  useEmulationOf(model.cudaSource());
  ir::NamedTensors in = randomInputs(g, 1);
  expectClose(model.run(in), ir::interpret(g, in), ir::Tolerance{1e-5, 1e-6}, "ptx");
}

TEST(FakeCudaModel, EmptyTensors) {
  expectMatchesInterpreter(ir::parseGraph(R"(graph @g(%x: f32[0,4], %y: f32[3,4]) {
  %r: f32[0,4] = Relu(%x)
  %c: f32[3,4] = Concat(%x, %y) {axis = 0}
  %t: f32[3,4] = Tanh(%c)
  return %r, %t
}
)"),
                           "empty tensors");
}

// Device objects are used from threads that never ran the model: the model
// must make its context current there (a missing cuCtxSetCurrent fails
// with CUDA_ERROR_INVALID_CONTEXT on the fake, as on a GPU).
TEST(FakeCudaModel, OtherThreadsReadCarriedValuesAndDestroy) {
  expectFakeDevice();
  const dlc::testing::fake_cuda::DeviceUsage before = dlc::testing::fake_cuda::deviceUsage();
  ir::Graph g = ir::parseGraph(R"(graph @acc(%p: f32[4], %x: f32[4]) {
  %n: f32[4] = Add(%p, %x)
  return %n
}
)");
  auto model = std::make_unique<CudaModel>(ir::cloneGraph(g), CudaOptions{.cacheDir = options(true).cacheDir,
                                                                          .carried = {{"n", "p"}}});
  useEmulationOf(model->cudaSource());
  model->setCarried("p", ir::Tensor::fromVector<float>({4}, {1, 2, 3, 4}));
  std::thread([&] { model->run({{"x", ir::Tensor::fromVector<float>({4}, {1, 1, 1, 1})}}); }).join();
  ir::Tensor p;
  std::thread([&] { p = model->carried("p"); }).join();
  expectClose({p}, {ir::Tensor::fromVector<float>({4}, {2, 3, 4, 5})}, ir::Tolerance{0, 0}, "carried");
  model->run({{"x", ir::Tensor::fromVector<float>({4}, {1, 1, 1, 1})}});
  std::thread([&] { p = model->carried("p"); }).join();
  expectClose({p}, {ir::Tensor::fromVector<float>({4}, {3, 4, 5, 6})}, ir::Tolerance{0, 0}, "carried");
  std::thread([&] { model.reset(); }).join();
  dlc::testing::fake_cuda::expectReleasedSince(before, "model destroyed on another thread");
}

// A model with symbolic shapes is planned at its first run; the program
// then exists only after a first run that fails for want of its emulation.
// The model stays usable: the next run plans, loads and runs.
TEST(FakeCudaModel, SymbolicShapesAfterAFailedFirstRun) {
  expectFakeDevice();
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[N,5]) {
  %s: f32[N,5] = Softmax(%x) {axis = -1}
  return %s
}
)");
  CudaModel model(ir::cloneGraph(g), options(true));
  ir::Tensor x(ir::DType::F32, {3, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.setDouble(i, double(i % 7) / 3);
  ::setenv("DLC_FAKE_CUDA_PROGRAM", "/nonexistent/emulation.so", 1);
  EXPECT_THROW(model.run({{"x", x}}), std::exception);
  useEmulationOf(model.cudaSource());
  expectClose(model.run({{"x", x}}), ir::interpret(g, {{"x", x}}), ir::Tolerance{1e-5, 1e-6}, "after the failure");
}

// A device ordinal that does not exist is the user's mistake, said plainly.
TEST(FakeCudaModel, MissingDeviceOrdinalIsAUserError) {
  expectFakeDevice();
  ir::Graph g = ir::parseGraph("graph @g(%x: f32[4]) {\n  %r: f32[4] = Relu(%x)\n  return %r\n}\n");
  CudaOptions o = options(true);
  o.device = 1;
  CudaModel model(ir::cloneGraph(g), o);
  try {
    model.run(randomInputs(g, 1));
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("device 1 asked for, 1 present"), std::string::npos) << e.what();
  }
}

// A model whose planned memory does not fit the device (the fake has 4 GiB):
// the user's problem (a smaller batch, another device), not dlc's.
TEST(FakeCudaModel, OutOfDeviceMemoryIsAUserError) {
  expectFakeDevice();
  // A 1 x 1 input expanded to 40000 x 40000 (6.4 GB) and summed.
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[1,1]) {
  %s: i64[2] = const [40000, 40000]
  %e: f32[40000,40000] = Expand(%x, %s)
  %t: f32[40000,40000] = Tanh(%e)
  %a: i64[2] = const [0, 1]
  %r: f32[1,1] = ReduceSum(%t, %a) {keepdims = 1}
  return %r
}
)");
  CudaModel model(ir::cloneGraph(g), options(true));
  useEmulationOf(model.cudaSource());
  try {
    model.run(randomInputs(g, 1));
    FAIL() << "expected an error\n" << model.describe();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("memory"), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "device out of memory is not a UserError: " << e.what();
  }
}
