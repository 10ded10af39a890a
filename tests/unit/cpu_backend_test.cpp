// The CPU backend (LLVM JIT) against the reference interpreter: op by op,
// fused chains, random elementwise graphs with broadcasting, symbolic dims,
// and concurrent runs.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "codegen/cpu/cpu_model.h"
#include "ir/graph_clone.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/tensor_compare.h"
#include "support/error.h"

using namespace dlc;
using codegen::cpu::CpuModel;
using codegen::cpu::CpuOptions;

namespace {

ir::Tensor randomTensor(ir::DType dtype, const std::vector<int64_t>& shape, std::mt19937& rng) {
  ir::Tensor t(dtype, shape);
  std::uniform_real_distribution<double> dist(-2.0, 2.0);
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, dist(rng));
  return t;
}

ir::NamedTensors randomInputs(const ir::Graph& g, std::mt19937& rng) {
  ir::NamedTensors inputs;
  for (const ir::Value* in : g.inputs()) inputs[in->name()] = randomTensor(in->dtype(), in->type().shape->extents(), rng);
  return inputs;
}

// Compiles `text` for the CPU and checks its outputs against the interpreter.
std::string expectMatchesInterpreter(const std::string& text, double rtol = 1e-5, double atol = 1e-6, int threads = 2,
                                     unsigned seed = 1, bool fuseAttention = false, bool blockedLayout = true) {
  ir::Graph g = ir::parseGraph(text);
  std::mt19937 rng(seed);
  ir::NamedTensors inputs = randomInputs(g, rng);
  std::vector<ir::Tensor> expected = ir::interpret(g, inputs);
  CpuModel model(ir::cloneGraph(g),
                 CpuOptions{.threads = threads, .fuseAttention = fuseAttention, .blockedLayout = blockedLayout});
  std::vector<ir::Tensor> actual = model.run(inputs);
  EXPECT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size() && i < actual.size(); ++i) {
    auto diff = ir::compareTensors(actual[i], expected[i], ir::Tolerance{rtol, atol});
    EXPECT_FALSE(diff.has_value()) << "output " << i << ": " << diff.value_or("") << "\n" << model.describe();
  }
  return model.describe();
}

int countLines(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(CpuBackend, ElementwiseChainWithBroadcastingIsOneKernel) {
  std::string d = expectMatchesInterpreter(R"(graph @g(%x: f32[2,3,5], %b: f32[5], %c: f32[3,1]) {
  %a: f32[2,3,5] = Add(%x, %b)
  %r: f32[2,3,5] = Relu(%a)
  %m: f32[2,3,5] = Mul(%r, %c)
  %t: f32[2,3,5] = Tanh(%m)
  return %t
}
)");
  EXPECT_EQ(countLines(d, "JIT kernel"), 1) << d;
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
}

TEST(CpuBackend, ActivationsMatchTheReference) {
  for (const char* op : {"Sigmoid", "Tanh", "Exp", "Erf", "Softplus", "Softsign", "Elu", "Selu", "HardSigmoid",
                         "HardSwish", "LeakyRelu", "Gelu", "Mish", "Abs", "Neg", "Floor", "Ceil", "Round", "Sin",
                         "Cos", "Atan", "Sign"}) {
    SCOPED_TRACE(op);
    std::string d = expectMatchesInterpreter(fmt::format(R"(graph @g(%x: f32[7,33]) {{
  %y: f32[7,33] = {}(%x)
  return %y
}}
)",
                                                         op),
                                             2e-6, 2e-6);
    EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
  }
}

TEST(CpuBackend, ComparisonsSelectAndCasts) {
  std::string d = expectMatchesInterpreter(R"(graph @g(%x: f32[4,9], %y: f32[9]) {
  %lt: bool[4,9] = Less(%x, %y)
  %w: f32[4,9] = Where(%lt, %x, %y)
  %i: i32[4,9] = Cast(%w) {to = "i32"}
  %f: f32[4,9] = Cast(%i) {to = "f32"}
  %h: f16[4,9] = Cast(%w) {to = "f16"}
  return %f, %h
}
)");
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
}

TEST(CpuBackend, MatMulWithFusedEpilogue) {
  std::string d = expectMatchesInterpreter(R"(graph @g(%x: f32[5,16], %w: f32[16,24], %b: f32[24]) {
  %m: f32[5,24] = MatMul(%x, %w)
  %a: f32[5,24] = Add(%m, %b)
  %r: f32[5,24] = Relu(%a)
  return %r
}
)",
                                           1e-5, 1e-5);
  EXPECT_EQ(countLines(d, "GEMM"), 1) << d;
}

TEST(CpuBackend, BatchedAndBroadcastMatMul) {
  expectMatchesInterpreter(R"(graph @g(%x: f32[2,3,7,9], %y: f32[2,3,9,5], %w: f32[9,4]) {
  %m: f32[2,3,7,5] = MatMul(%x, %y)
  %n: f32[2,3,7,4] = MatMul(%x, %w)
  return %m, %n
}
)",
                           1e-5, 1e-5);
}

TEST(CpuBackend, GemmWithTransposesAndBias) {
  expectMatchesInterpreter(R"(graph @g(%a: f32[8,6], %b: f32[10,8], %c: f32[10]) {
  %y: f32[6,10] = Gemm(%a, %b, %c) {alpha = 0.5, beta = 2.0, transA = 1, transB = 1}
  return %y
}
)",
                           1e-5, 1e-5);
}

TEST(CpuBackend, RowReductions) {
  std::string d = expectMatchesInterpreter(R"(graph @g(%x: f32[3,4,17], %s: f32[17], %b: f32[17]) {
  %sm: f32[3,4,17] = Softmax(%x) {axis = -1}
  %s1: f32[3,4,17] = Softmax(%x) {axis = 1}
  %ls: f32[3,4,17] = LogSoftmax(%x) {axis = 2}
  %ln: f32[3,4,17] = LayerNormalization(%x, %s, %b) {axis = -1, epsilon = 1e-5}
  %ax: i64[1] = const [2]
  %rm: f32[3,4,1] = ReduceMean(%x, %ax) {keepdims = 1}
  %rx: f32[3,4] = ReduceMax(%x, %ax) {keepdims = 0}
  return %sm, %s1, %ls, %ln, %rm, %rx
}
)",
                                           1e-5, 1e-5);
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
}

TEST(CpuBackend, DataMovement) {
  std::string d = expectMatchesInterpreter(R"(graph @g(%x: f32[2,3,4], %y: f32[2,5,4], %i: i64[2,2]) {
  %t: f32[4,2,3] = Transpose(%x) {perm = [2, 0, 1]}
  %c: f32[2,8,4] = Concat(%x, %y) {axis = 1}
  %st: i64[1] = const [1]
  %en: i64[1] = const [7]
  %ax: i64[1] = const [1]
  %sp: i64[1] = const [2]
  %s: f32[2,3,4] = Slice(%c, %st, %en, %ax, %sp)
  %k: i64[2,2] = const [0, 2, -1, 1]
  %g: f32[2,2,2,4] = Gather(%x, %k) {axis = 1}
  %sz: i64[3] = const [1, 4, 3]
  %p0: f32[2,1,4], %p1: f32[2,4,4], %p2: f32[2,3,4] = Split(%c, %sz) {axis = 1}
  return %t, %c, %s, %g, %p0, %p1, %p2
}
)");
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
}

// Slices and one-index Gathers that are one contiguous run of an
// intermediate are views at an offset (no kernel); the others copy.
TEST(CpuBackend, ContiguousSlicesAreViews) {
  std::string d = expectMatchesInterpreter(R"(graph @g(%x: f32[3,1,4,5]) {
  %a: f32[3,1,4,5] = Exp(%x)
  %i1: i64[] = const [1]
  %q: f32[1,4,5] = Gather(%a, %i1) {axis = 0}
  %im: i64[] = const [-1]
  %k: f32[1,4,5] = Gather(%a, %im) {axis = 0}
  %st: i64[1] = const [1]
  %en: i64[1] = const [3]
  %ax1: i64[1] = const [1]
  %inner: f32[1,2,5] = Slice(%q, %st, %en, %ax1)
  %ax2: i64[1] = const [2]
  %strided: f32[1,4,2] = Slice(%k, %st, %en, %ax2)
  %qk: f32[1,4,5] = Mul(%q, %k)
  %y: f32[1,2,5] = Neg(%inner)
  %z: f32[1,4,2] = Neg(%strided)
  return %qk, %y, %z
}
)");
  EXPECT_EQ(countLines(d, "view at byte offset 80 "), 1) << d;   // q: a[1]
  EXPECT_EQ(countLines(d, "view at byte offset 160 "), 1) << d;  // k: a[-1]
  EXPECT_EQ(countLines(d, "view at byte offset 20 "), 1) << d;   // inner: rows 1..2 of q
  EXPECT_EQ(countLines(d, "[Slice]"), 1) << d;                   // columns 1..2: strided, a kernel
}

TEST(CpuBackend, GatherIndexOutOfRangeIsAnError) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[4,3], %i: i64[2]) {
  %y: f32[2,3] = Gather(%x, %i) {axis = 0}
  return %y
}
)");
  CpuModel model(std::move(g), CpuOptions{"host", 2});
  ir::NamedTensors inputs{{"x", ir::Tensor(ir::DType::F32, {4, 3})},
                          {"i", ir::Tensor::fromVector<int64_t>({2}, {1, 4})}};
  try {
    model.run(inputs);
    FAIL() << "expected an error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("outside [-4, 4)"), std::string::npos) << e.what();
  }
  inputs["i"] = ir::Tensor::fromVector<int64_t>({2}, {-4, 3});
  EXPECT_NO_THROW(model.run(inputs));
}

TEST(CpuBackend, PoolingAndDepthwiseConvolution) {
  std::string d = expectMatchesInterpreter(R"(graph @g(%x: f32[2,3,9,8], %w: f32[3,1,3,3], %b: f32[3]) {
  %mp: f32[2,3,4,4] = MaxPool(%x) {kernel_shape = [3, 2], pads = [1, 0, 0, 0], strides = [2, 2]}
  %ap: f32[2,3,5,4] = AveragePool(%x) {kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]}
  %aq: f32[2,3,5,4] = AveragePool(%x) {count_include_pad = 1, kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]}
  %gp: f32[2,3,1,1] = GlobalAveragePool(%x)
  %dw: f32[2,3,9,8] = Conv(%x, %w, %b) {group = 3, pads = [1, 1, 1, 1]}
  %lo: f32[] = const [0.0]
  %hi: f32[] = const [0.5]
  %dc: f32[2,3,9,8] = Clip(%dw, %lo, %hi)
  %dm: f32[2,3,9,8] = Mul(%dc, %x)
  return %mp, %ap, %aq, %gp, %dw, %dm
}
)",
                                           1e-5, 1e-5);
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
  // The depthwise convolution's epilogue (Clip, Mul) runs in the same kernel.
  EXPECT_EQ(countLines(d, "[Conv Clip Mul]"), 1) << d;
}

// Random elementwise graphs: chains of unary and binary ops over operands
// that broadcast in random ways, compared with the interpreter.
TEST(CpuBackend, RandomElementwiseGraphs) {
  const char* unary[] = {"Relu", "Tanh", "Sigmoid", "Neg", "Abs", "Exp"};
  const char* binary[] = {"Add", "Sub", "Mul", "Max", "Min"};
  for (unsigned seed = 0; seed < 40; ++seed) {
    std::mt19937 rng(seed);
    int rank = 1 + int(rng() % 4);
    std::vector<int64_t> shape;
    for (int d = 0; d < rank; ++d) shape.push_back(1 + int64_t(rng() % 6));
    auto shapeStr = [](const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ",")); };
    std::string inputs = fmt::format("%x0: f32{}", shapeStr(shape));
    std::string body;
    std::string last = "%x0";
    int numInputs = 1;
    for (int step = 0; step < 6; ++step) {
      std::string out = fmt::format("%v{}", step);
      if (rng() % 2) {
        body += fmt::format("  {}: f32{} = {}({})\n", out, shapeStr(shape), unary[rng() % 6], last);
      } else {
        // An operand that broadcasts: a random suffix of the shape with some dims set to 1.
        size_t keep = rng() % (shape.size() + 1);
        std::vector<int64_t> s(shape.end() - ptrdiff_t(keep), shape.end());
        for (auto& e : s)
          if (rng() % 3 == 0) e = 1;
        std::string in = fmt::format("%x{}", numInputs++);
        inputs += fmt::format(", {}: f32{}", in, shapeStr(s));
        bool swap = rng() % 2;
        body += fmt::format("  {}: f32{} = {}({}, {})\n", out, shapeStr(shape), binary[rng() % 5], swap ? in : last,
                            swap ? last : in);
      }
      last = out;
    }
    std::string text = fmt::format("graph @g({}) {{\n{}  return {}\n}}\n", inputs, body, last);
    SCOPED_TRACE(text);
    expectMatchesInterpreter(text, 1e-5, 1e-6, 2, seed);
  }
}

// A model with a symbolic batch dim compiles once per shape signature.
TEST(CpuBackend, SymbolicDimsCompileOncePerSignature) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[N,4], %w: f32[4,3]) {
  %m: f32[N,3] = MatMul(%x, %w)
  %r: f32[N,3] = Relu(%m)
  return %r
}
)");
  ir::Graph reference = ir::cloneGraph(g);
  CpuModel model(std::move(g), CpuOptions{"host", 2});
  EXPECT_EQ(model.numCompiledVariants(), 0u);
  std::mt19937 rng(3);
  ir::Tensor w = randomTensor(ir::DType::F32, {4, 3}, rng);
  for (int64_t n : {2, 5, 2, 5, 1}) {
    ir::NamedTensors inputs{{"x", randomTensor(ir::DType::F32, {n, 4}, rng)}, {"w", w}};
    std::vector<ir::Tensor> expected = ir::interpret(reference, inputs);
    std::vector<ir::Tensor> actual = model.run(inputs);
    EXPECT_FALSE(ir::compareTensors(actual[0], expected[0], ir::Tolerance{1e-5, 1e-6}).has_value());
  }
  EXPECT_EQ(model.numCompiledVariants(), 3u);  // N = 2, 5, 1
}

TEST(CpuBackend, BadInputsAreUserErrors) {
  CpuModel model(ir::parseGraph(R"(graph @g(%x: f32[2,3]) {
  %y: f32[2,3] = Relu(%x)
  return %y
}
)"),
                 CpuOptions{"host", 1});
  EXPECT_THROW(model.run({}), UserError);
  EXPECT_THROW(model.run({{"x", ir::Tensor(ir::DType::F32, {3, 2})}}), UserError);
  EXPECT_THROW(model.run({{"x", ir::Tensor(ir::DType::F64, {2, 3})}}), UserError);
}

TEST(CpuBackend, UnknownCpuNameIsAUserError) {
  EXPECT_THROW(CpuModel(ir::parseGraph(R"(graph @g(%x: f32[2]) {
  %y: f32[2] = Relu(%x)
  return %y
}
)"),
                        CpuOptions{"no-such-cpu", 1}),
               UserError);
}

// One compiled model run from 8 threads at once, 1000 runs each, gives the
// single-threaded results exactly.
TEST(CpuBackend, ConcurrentRunsMatchASingleThreadedRun) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[4,32], %w: f32[32,16], %b: f32[16]) {
  %m: f32[4,16] = MatMul(%x, %w)
  %a: f32[4,16] = Add(%m, %b)
  %s: f32[4,16] = Softmax(%a) {axis = -1}
  return %s
}
)");
  CpuModel model(std::move(g), CpuOptions{"host", 2});
  std::mt19937 rng(7);
  std::vector<ir::NamedTensors> inputs;
  std::vector<std::vector<ir::Tensor>> expected;
  for (int i = 0; i < 8; ++i) {
    inputs.push_back({{"x", randomTensor(ir::DType::F32, {4, 32}, rng)},
                      {"w", randomTensor(ir::DType::F32, {32, 16}, rng)},
                      {"b", randomTensor(ir::DType::F32, {16}, rng)}});
    expected.push_back(model.run(inputs.back()));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int run = 0; run < 1000; ++run) {
        std::vector<ir::Tensor> out = model.run(inputs[size_t(t)]);
        if (std::memcmp(out[0].rawData(), expected[size_t(t)][0].rawData(), out[0].byteSize()) != 0) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Strided and dilated 2-D convolutions with padding, a pointwise one, a 1-D
// one and a grouped one: with the blocked layout (the default) the 2-D ones
// with group 1 are blocked convolutions, the others GEMMs; without it, all
// four are GEMMs.
TEST(CpuBackend, ConvolutionsThroughGemmOrBlocked) {
  const std::string graph = R"(graph @g(%x: f32[2,5,11,9], %r: f32[2,6,6,3], %s: f32[2,4,13], %r4: f32[2,4,13,12]) {
  %w: f32[6,5,3,3] = const [)" + [] {
    std::string v;
    for (int i = 0; i < 6 * 5 * 3 * 3; ++i) v += fmt::format("{}{}", i ? ", " : "", ((i * 37) % 19 - 9) / 10.0);
    return v;
  }() + R"(]
  %b: f32[6] = const [0.5, -0.25, 0.125, 1.0, -1.0, 0.0]
  %c: f32[2,6,6,3] = Conv(%x, %w, %b) {dilations = [1, 2], pads = [1, 0, 1, 1], strides = [2, 2]}
  %a: f32[2,6,6,3] = Add(%c, %r)
  %y: f32[2,6,6,3] = Relu(%a)
  %w1: f32[3,5,1,1] = const [0.1, 0.2, 0.3, 0.4, 0.5, -0.1, -0.2, -0.3, -0.4, -0.5, 1.0, 0.0, -1.0, 0.5, 0.25]
  %p: f32[2,3,11,9] = Conv(%x, %w1)
  %w2: f32[2,4,3] = const [1, 0, -1, 0.5, 0.5, 0.5, 0, 1, 0, -1, 2, -1, 0.25, 0.5, 0.25, 1, 1, 1, 0, 0, 1, -0.5, 0, 0.5]
  %q: f32[2,2,13] = Conv(%s, %w2) {pads = [1, 1]}
  %w3: f32[4,2,1,3] = const [1, 0, -1, 0.5, 0.5, 0.5, 0, 1, 0, -1, 2, -1, 0.25, 0.5, 0.25, 1, 1, 1, 0, 0, 1, -0.5, 0, 0.5]
  %u: f32[2,4,13,11] = Conv(%r4, %w3) {group = 2, pads = [0, 1, 0, 0]}
  return %y, %p, %q, %u
}
)";
  std::string blocked = expectMatchesInterpreter(graph, 1e-5, 1e-5);
  EXPECT_EQ(countLines(blocked, "GEMM"), 2) << blocked;
  EXPECT_EQ(countLines(blocked, "-> blocked conv"), 2) << blocked;
  EXPECT_EQ(countLines(blocked, "reference kernel"), 0) << blocked;
  std::string gemms = expectMatchesInterpreter(graph, 1e-5, 1e-5, 2, 1, false, /*blockedLayout=*/false);
  EXPECT_EQ(countLines(gemms, "GEMM"), 4) << gemms;
  EXPECT_EQ(countLines(gemms, "reference kernel"), 0) << gemms;
}

// Attention subgraphs (MatMul, scale and mask, Softmax, MatMul) become one
// kernel each when asked (the CUDA target's default; the same kernel-IR
// lowering runs here through LLVM): a padding mask broadcast over heads and
// queries, a causal Where over batch and heads, and one without batch dims.
TEST(CpuBackend, AttentionIsOneKernel) {
  std::string d = expectMatchesInterpreter(R"(graph @g(%q: f32[2,3,6,8], %kt: f32[2,3,8,7], %v: f32[2,3,7,5], %kb: f32[2,3,8,7], %pad: f32[2,1,1,7], %c: f32[1,1,6,7], %q2: f32[6,8], %k2: f32[8,7], %v2: f32[7,5]) {
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
  %s3: f32[6,7] = MatMul(%q2, %k2)
  %p3: f32[6,7] = Softmax(%s3) {axis = -1}
  %y3: f32[6,5] = MatMul(%p3, %v2)
  return %y, %y2, %y3
}
)",
                                           1e-5, 1e-5, 2, 1, true);
  EXPECT_EQ(countLines(d, "Softmax MatMul]"), 3) << d;
  EXPECT_EQ(countLines(d, "GEMM"), 0) << d;
  EXPECT_EQ(countLines(d, "reference kernel"), 0) << d;
}
