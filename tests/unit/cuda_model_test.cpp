// CudaModel: planning and inspection without a GPU (every CI run), and
// whole graphs on the GPU against the reference interpreter (skipped with a
// message when there is no CUDA device).
#include <gtest/gtest.h>

#include <random>

#include "ir/graph_clone.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/tensor_compare.h"
#include "support/error.h"

#if DLC_HAVE_CUDA
#include "codegen/cuda/cuda_model.h"
#include "runtime/cuda/cuda_driver.h"
#endif

using namespace dlc;

#if DLC_HAVE_CUDA
namespace {

// Weights are constants (the GEMM and convolution paths need them so).
std::string constant(const std::string& name, const std::string& type, int64_t n) {
  std::string values;
  for (int64_t i = 0; i < n; ++i) values += fmt::format("{}{}", i ? ", " : "", double((i * 37) % 19 - 9) / 16);
  return fmt::format("  %{}: {} = const [{}]\n", name, type, values);
}

std::string graphText() {
  return "graph @g(%x: f32[2,3,8,8], %i: i64[3]) {\n" + constant("w", "f32[4,3,3,3]", 108) +
         constant("b", "f32[4]", 4) + constant("m", "f32[256,10]", 2560) + R"(  %c: f32[2,4,8,8] = Conv(%x, %w, %b) {pads = [1, 1, 1, 1]}
  %r: f32[2,4,8,8] = Relu(%c)
  %s: i64[2] = const [2, 256]
  %f: f32[2,256] = Reshape(%r, %s)
  %y: f32[2,10] = MatMul(%f, %m)
  %p: f32[2,10] = Softmax(%y) {axis = -1}
  %g: f32[3,10] = Gather(%p, %i) {axis = 0}
  return %p, %g
}
)";
}

ir::NamedTensors randomInputs(const ir::Graph& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1, 1);
  ir::NamedTensors inputs;
  for (const ir::Value* in : g.inputs()) {
    ir::Tensor t(in->dtype(), in->type().shape->extents());
    for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, in->dtype() == ir::DType::I64 ? double(i % 2) : dist(rng));
    inputs[in->name()] = std::move(t);
  }
  return inputs;
}

// Runs `model` (compiled from `g`) on three random input sets, the second
// and third replaying the captured graph, against the interpreter.
void expectMatchesInterpreter(codegen::cuda::CudaModel& model, const ir::Graph& g, ir::Tolerance tol,
                              const std::string& what) {
  for (unsigned seed = 1; seed <= 3; ++seed) {
    ir::NamedTensors inputs = randomInputs(g, seed);
    std::vector<ir::Tensor> expected = ir::interpret(g, inputs);
    std::vector<ir::Tensor> actual = model.run(inputs);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      auto diff = ir::compareTensors(actual[i], expected[i], tol);
      EXPECT_FALSE(diff.has_value()) << what << " output " << i << ": " << *diff << "\n" << model.describe();
    }
  }
}

}  // namespace

TEST(CudaModel, PlansAndPrintsSourceWithoutADevice) {
  codegen::cuda::CudaModel model(ir::parseGraph(graphText()), {});
  EXPECT_EQ(model.numPlannedVariants(), 1u);
  std::string d = model.describe();
  EXPECT_NE(d.find("im2col kernel + cuBLAS GEMM"), std::string::npos) << d;
  EXPECT_NE(d.find("cuBLAS GEMM"), std::string::npos) << d;
  EXPECT_EQ(d.find("library call"), std::string::npos) << d;
  std::string src = model.cudaSource();
  EXPECT_NE(src.find("extern \"C\" __global__"), std::string::npos);
  EXPECT_NE(src.find("dlc_im2col_"), std::string::npos);
  if (!runtime::cuda::driver()) {
    try {
      model.run(randomInputs(ir::parseGraph(graphText()), 1));
      FAIL() << "expected 'no CUDA device'";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
    }
  }
}

TEST(CudaModel, GraphsMatchTheInterpreterOnTheGpu) {
  std::string why;
  if (!runtime::cuda::driver(&why)) GTEST_SKIP() << "no CUDA device: " << why;
  ir::Graph g = ir::parseGraph(graphText());
  codegen::cuda::CudaModel model(ir::cloneGraph(g), {});
  expectMatchesInterpreter(model, g, ir::Tolerance{1e-4, 1e-6}, "");
  // A Gather index out of range is reported, not read out of bounds.
  ir::NamedTensors bad = randomInputs(g, 4);
  bad["i"] = ir::Tensor::fromVector<int64_t>({3}, {0, 5, 1});
  EXPECT_THROW(model.run(bad), UserError);
}

// On the GPU: an attention kernel (causal Where, 300 keys) and GEMMs whose
// bias, residual and ReLU epilogues cuBLASLt computes, with and without
// cuBLASLt.
TEST(CudaModel, AttentionAndCublasLtEpiloguesOnTheGpu) {
  ir::Graph g = ir::parseGraph("graph @g(%q: f32[2,4,64,32], %kt: f32[2,4,32,300], %v: f32[2,4,300,32], "
                               "%c: f32[1,1,64,300], %x: f32[96,64]) {\n" +
                               constant("w", "f32[128,64]", 8192) + constant("b", "f32[128]", 128) +
                               constant("u", "f32[128,64]", 8192) + R"(  %scale: f32[] = const [0.17677669]
  %s: f32[2,4,64,300] = MatMul(%q, %kt)
  %t: f32[2,4,64,300] = Mul(%s, %scale)
  %zero: f32[] = const [0.0]
  %keep: bool[1,1,64,300] = Greater(%c, %zero)
  %ninf: f32[] = const [-1e30]
  %m: f32[2,4,64,300] = Where(%keep, %t, %ninf)
  %p: f32[2,4,64,300] = Softmax(%m) {axis = -1}
  %y: f32[2,4,64,32] = MatMul(%p, %v)
  %h: f32[96,128] = Gemm(%x, %w, %b) {transB = 1}
  %hr: f32[96,128] = Relu(%h)
  %o: f32[96,64] = MatMul(%hr, %u)
  %os: f32[96,64] = Add(%x, %o)
  %or: f32[96,64] = Relu(%os)
  return %y, %hr, %or
}
)");
  // Planned without a device (CI checks this much).
  std::string d = codegen::cuda::CudaModel(ir::cloneGraph(g), {}).describe();
  EXPECT_NE(d.find("[MatMul Mul Where Softmax MatMul]"), std::string::npos) << d;
  EXPECT_NE(d.find("cuBLASLt GEMM with its bias + ReLU epilogue"), std::string::npos) << d;
  EXPECT_NE(d.find("cuBLASLt GEMM with its residual + ReLU epilogue"), std::string::npos) << d;
  std::string why;
  if (!runtime::cuda::driver(&why)) GTEST_SKIP() << "no CUDA device: " << why;
  for (bool lt : {true, false}) {
    codegen::cuda::CudaOptions options;
    options.useLtEpilogues = lt;
    codegen::cuda::CudaModel model(ir::cloneGraph(g), options);
    expectMatchesInterpreter(model, g, ir::Tolerance{1e-4, 1e-5}, lt ? "cuBLASLt" : "cuBLAS");
  }
}
#else
TEST(CudaModel, NotBuilt) { GTEST_SKIP() << "dlc was built without CUDA (DLC_CUDA=OFF)"; }
#endif
