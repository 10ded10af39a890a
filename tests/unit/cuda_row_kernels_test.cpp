// Cooperative row kernels on CUDA, without a GPU: the emitted source runs in
// host emulation (tests/cuda/host_shim.h: a block's threads as fibers, with
// __syncthreads, __syncwarp and warp shuffles exchanged per warp of 32).
//  - Whole planned CUDA programs (softmax, logsoftmax, layernorm with fused
//    epilogues, every Reduce* over the last axis and over all axes, global
//    average pooling) against the reference interpreter, for rows of 1 to
//    5000 elements (one thread per row, a warp per row, a block per row),
//    and rows holding NaN and infinities.
//  - Each row kernel forced to every cooperation width (1, 32 ... 1024
//    threads per row) against the LLVM JIT.
//  - f16 and bf16 storage; the kernel IR's row-loop rules; launch shapes.
// Tolerances: cooperative reductions reassociate float sums (a tree over the
// row instead of a serial sum): against the reference (f64 accumulation)
// |actual - expected| <= 1e-4 + 1e-4 |expected|; against the LLVM JIT
// |a - b| <= 1e-4 max(1, |a|); f16/bf16 results within two units in the last
// place of the storage type (2e-3, 1.6e-2 relative).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "codegen/cpu/anchor_kernels.h"
#include "codegen/cuda/cuda_emitter.h"
#include "codegen/cuda/cuda_program.h"
#include "codegen/kernel/kernel_ir.h"
#include "codegen/llvm/cpu_jit.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/tensor_compare.h"
#include "support/error.h"
#include "tests/cuda/host_emulation.h"

using namespace dlc;
using namespace dlc::codegen;
using namespace dlc::codegen::kir;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ------------------------------------------------------------ whole programs

// Runs the CUDA plan of `model` in host emulation: kernel steps with their
// launch shape (grid capped at 3 blocks so that the grid-stride loop over
// rows is exercised), copies as memcpy. The graphs used here have no GEMMs
// and no library steps.
std::vector<ir::Tensor> runPlanEmulated(const ir::Graph& model, const ir::NamedTensors& inputs,
                                        std::string* describe = nullptr) {
  ir::Graph g = cpu::specialiseGraph(model, {});
  cuda::CudaPlan plan = cuda::planCuda(g);
  dlc::testing::HostEmulation emulation(plan.source, plan.kernels);
  if (!emulation.ok()) return {};
  const runtime::ProgramSpec& spec = plan.planned.spec;
  std::vector<double> arena(size_t(spec.arenaBytes) / sizeof(double) + 8);
  std::vector<ir::Tensor> in, out;
  for (const runtime::TensorSpec& t : spec.inputs) in.push_back(inputs.at(t.name));
  for (const runtime::TensorSpec& t : spec.outputs) out.emplace_back(ir::DType(t.dtype), t.shape);
  auto resolve = [&](runtime::SpecRef r) -> void* {
    switch (r.space) {
      case runtime::SpecRef::Space::Arena:
        return reinterpret_cast<std::byte*>(arena.data()) + r.index;
      case runtime::SpecRef::Space::Input:
        return in.at(size_t(r.index)).rawData();
      case runtime::SpecRef::Space::Output:
        return out.at(size_t(r.index)).rawData();
      case runtime::SpecRef::Space::Constant:
        return const_cast<void*>(spec.constants.at(size_t(r.index)).data);
    }
    return nullptr;
  };
  for (const runtime::StepSpec& s : spec.steps) {
    if (describe) *describe += s.what + "\n";
    if (const auto* k = std::get_if<runtime::KernelStepSpec>(&s.op)) {
      const Kernel& kernel = plan.kernels.at(k->kernel);
      cuda::LaunchShape shape = cuda::launchShape(kernel);
      std::vector<void*> ptrs;
      for (runtime::SpecRef r : k->buffers) ptrs.push_back(resolve(r));
      if (shape.grid)
        emulation.run(kernel.name, ptrs.data(), std::min(3u, shape.grid), shape.rowThreads > 1 ? shape.block : 64);
    } else if (const auto* c = std::get_if<runtime::CopyStepSpec>(&s.op)) {
      std::memmove(resolve(c->to), resolve(c->from), size_t(c->bytes));
    } else {
      ADD_FAILURE() << "step not emulated here: " << s.what;
    }
  }
  return out;
}

// Uniform values in [lo, hi].
ir::Tensor randomTensor(std::vector<int64_t> shape, std::mt19937& rng, double lo = -1, double hi = 1) {
  ir::Tensor t(ir::DType::F32, std::move(shape));
  std::uniform_real_distribution<float> u{float(lo), float(hi)};
  for (float& v : t.data<float>()) v = u(rng);
  return t;
}

void expectPlanMatchesReference(const std::string& text, const ir::NamedTensors& inputs,
                                std::string* describe = nullptr) {
  ir::Graph g = ir::parseGraph(text);
  std::vector<ir::Tensor> expected = ir::interpret(g, inputs);
  std::vector<ir::Tensor> actual = runPlanEmulated(g, inputs, describe);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    auto diff = ir::compareTensors(actual[i], expected[i], ir::Tolerance{1e-4, 1e-4});
    EXPECT_FALSE(diff.has_value()) << "output " << g.outputs()[i]->name() << ": " << *diff << "\n" << text;
  }
}

// Every row kernel over rows of `len` elements: softmax, logsoftmax and
// layernorm with elementwise epilogues, every Reduce* over the last axis
// and over all axes, global average pooling.
std::string rowGraph(int64_t rows, int64_t len) {
  std::string x = fmt::format("f32[{},{}]", rows, len), r = fmt::format("f32[{},1]", rows);
  return fmt::format(R"(graph @rows(%x: {0}, %s: f32[{2}], %b: f32[{2}], %p: f32[{3},2,{2}]) {{
  %c: f32[] = const [1.5]
  %sm: {0} = Softmax(%x) {{axis = -1}}
  %sme: {0} = Mul(%sm, %c)
  %ls: {0} = LogSoftmax(%x) {{axis = 1}}
  %lse: {0} = Add(%ls, %x)
  %ln: {0} = LayerNormalization(%x, %s, %b) {{axis = -1, epsilon = 1e-5}}
  %lnr: {0} = Mul(%ln, %c)
  %ax: i64[1] = const [1]
  %rs: {1} = ReduceSum(%x, %ax) {{keepdims = 1}}
  %rm: {1} = ReduceMean(%x, %ax) {{keepdims = 1}}
  %rx: {1} = ReduceMax(%x, %ax) {{keepdims = 1}}
  %rn: {1} = ReduceMin(%x, %ax) {{keepdims = 1}}
  %rq: {1} = ReduceSumSquare(%x, %ax) {{keepdims = 1}}
  %r1: {1} = ReduceL1(%x, %ax) {{keepdims = 1}}
  %r2: {1} = ReduceL2(%x, %ax) {{keepdims = 1}}
  %ras: f32[1,1] = ReduceSum(%x) {{keepdims = 1}}
  %rax: f32[1,1] = ReduceMax(%x) {{keepdims = 1}}
  %ram: f32[1,1] = ReduceMean(%x) {{keepdims = 1}}
  %gp: f32[{3},2,1] = GlobalAveragePool(%p)
  return %sme, %lse, %lnr, %rs, %rm, %rx, %rn, %rq, %r1, %r2, %ras, %rax, %ram, %gp
}}
)",
                     x, r, len, rows);
}

ir::NamedTensors rowInputs(int64_t rows, int64_t len, unsigned seed) {
  std::mt19937 rng(seed);
  return {{"x", randomTensor({rows, len}, rng)},
          {"s", randomTensor({len}, rng, 0.5, 1.5)},
          {"b", randomTensor({len}, rng)},
          {"p", randomTensor({rows, 2, len}, rng)}};
}

class CudaRowKernelsByLength : public ::testing::TestWithParam<int64_t> {};

TEST_P(CudaRowKernelsByLength, PlannedProgramMatchesReference) {
  int64_t len = GetParam();
  int64_t rows = len > 1100 ? 5 : 30;
  expectPlanMatchesReference(rowGraph(rows, len), rowInputs(rows, len, unsigned(len)));
}

// 1 and 4: one thread per row; 5 ... 2048: a warp per row (shorter than a
// warp, exactly one, not a multiple of 32); beyond: a block per row.
INSTANTIATE_TEST_SUITE_P(Lengths, CudaRowKernelsByLength,
                         ::testing::Values(1, 4, 5, 31, 32, 33, 100, 1000, 1025, 2049, 5000));

// Rows with NaN, only -inf, -inf among finite values, zeros (+inf in the
// pooled planes only: for a softmax row holding +inf the reference, whose
// maximum skips NaN, and the kernels, whose Max propagates it, differ on
// every backend; the kernels' own behaviour with +inf is checked against the
// LLVM JIT below).
TEST(CudaRowKernels, NanAndInfinityRows) {
  for (int64_t len : {40, 3000}) {
    int64_t rows = 8;
    ir::NamedTensors in = rowInputs(rows, len, 3);
    auto x = in.at("x").data<float>();
    auto p = in.at("p").data<float>();
    float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    x[size_t(0 * len + len / 2)] = nan;
    x[size_t(1 * len + 3)] = -inf;
    p[size_t(len + 7)] = inf;
    for (int64_t j = 0; j < len; ++j) x[size_t(2 * len + j)] = -inf;
    x[size_t(3 * len + len - 1)] = -inf;
    for (int64_t j = 0; j < len; ++j) x[size_t(4 * len + j)] = 0;
    p[size_t(len + 1)] = nan;
    p[size_t(4 * len)] = -inf;
    SCOPED_TRACE(len);
    expectPlanMatchesReference(rowGraph(rows, len), in);
  }
}

TEST(CudaRowKernels, ReduceProdOverLongRows) {
  for (int64_t len : {7, 33, 1500, 4000}) {
    std::mt19937 rng{unsigned(len)};
    std::string text = fmt::format(R"(graph @p(%x: f32[6,{0}]) {{
  %ax: i64[1] = const [-1]
  %rp: f32[6] = ReduceProd(%x, %ax) {{keepdims = 0}}
  return %rp
}}
)",
                                   len);
    SCOPED_TRACE(len);
    expectPlanMatchesReference(text, {{"x", randomTensor({6, len}, rng, 0.999, 1.001)}});
  }
}

// Softmax over a middle axis (strided rows) and a 3-D layernorm over two axes.
TEST(CudaRowKernels, StridedRowsAndMultiAxisLayerNorm) {
  std::mt19937 rng(11);
  std::string text = R"(graph @g(%x: f32[3,300,5], %s: f32[300,5], %b: f32[300,5]) {
  %sm: f32[3,300,5] = Softmax(%x) {axis = 1}
  %ln: f32[3,300,5] = LayerNormalization(%x, %s, %b) {axis = 1, epsilon = 1e-3}
  return %sm, %ln
}
)";
  expectPlanMatchesReference(text, {{"x", randomTensor({3, 300, 5}, rng, -4, 4)},
                                    {"s", randomTensor({300, 5}, rng)},
                                    {"b", randomTensor({300, 5}, rng)}});
}

// The planned steps say how each row kernel is launched.
TEST(CudaRowKernels, PlanDescribesLaunchShapes) {
  ir::Graph g = ir::parseGraph(rowGraph(30, 1000));
  cuda::CudaPlan plan = cuda::planCuda(cpu::specialiseGraph(g, {}));
  std::string steps;
  for (const runtime::StepSpec& s : plan.planned.spec.steps) steps += s.what + "\n";
  EXPECT_NE(steps.find("a warp per row, 8 rows per block"), std::string::npos) << steps;
  ir::Graph big = ir::parseGraph(rowGraph(2, 5000));
  cuda::CudaPlan bigPlan = cuda::planCuda(cpu::specialiseGraph(big, {}));
  steps.clear();
  for (const runtime::StepSpec& s : bigPlan.planned.spec.steps) steps += s.what + "\n";
  EXPECT_NE(steps.find("2 blocks x 512 threads, a block per row"), std::string::npos) << steps;
}

// ------------------------------------------------------------ every width

double asDouble(DType t, const std::byte* p) {
  auto get = [&](auto x) {
    std::memcpy(&x, p, sizeof x);
    return x;
  };
  switch (t) {
    case DType::F32:
      return get(float());
    case DType::F64:
      return get(double());
    case DType::F16:
      return double(std::bit_cast<_Float16>(get(uint16_t())));
    case DType::BF16:
      return std::bit_cast<float>(uint32_t(get(uint16_t())) << 16);
    default:
      return 0;
  }
}

void fillBuffer(const BufferParam& p, std::vector<std::byte>& bytes, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  for (int64_t e = 0; e < p.numElements; ++e) {
    double d = u(rng);
    std::byte* q = bytes.data() + e * int64_t(ir::dtypeSize(p.dtype));
    switch (p.dtype) {
      case DType::F32: {
        float f = float(d);
        std::memcpy(q, &f, 4);
        break;
      }
      case DType::F64:
        std::memcpy(q, &d, 8);
        break;
      case DType::F16: {
        uint16_t h = std::bit_cast<uint16_t>(_Float16(d));
        std::memcpy(q, &h, 2);
        break;
      }
      case DType::BF16: {
        uint16_t h = uint16_t(std::bit_cast<uint32_t>(float(d)) >> 16);
        std::memcpy(q, &h, 2);
        break;
      }
      default:
        FAIL() << "float buffers only";
    }
  }
}

// Runs each kernel on the LLVM JIT and, once per width, in emulation
// (emitted with that many threads per row); compares every written buffer.
void expectEveryWidthMatchesLlvm(std::vector<Kernel> kernels, double rtol,
                                 std::vector<unsigned> widths = {1, 32, 64, 128, 256, 1024},
                                 bool withSpecials = false) {
  for (size_t i = 0; i < kernels.size(); ++i) kernels[i].name = "k" + std::to_string(i);
  std::vector<Kernel> emitted;
  std::string source(cuda::prelude());
  for (const Kernel& k : kernels)
    for (unsigned w : widths) {
      Kernel copy = k;
      copy.name = k.name + "_w" + std::to_string(w);
      source += "\n" + cuda::emitKernel(copy, w);
      emitted.push_back(std::move(copy));
    }
  dlc::testing::HostEmulation emulation(source, emitted);
  ASSERT_TRUE(emulation.ok());
  auto jit = cpu::jitCompile(kernels, cpu::CpuTargetOptions{"host"});
  std::mt19937 rng(5);
  for (bool specials : {false, withSpecials}) {
    SCOPED_TRACE(specials ? "with NaN and infinities" : "finite values");
    for (const Kernel& k : kernels) {
      std::vector<std::vector<std::byte>> a;
      for (const BufferParam& p : k.buffers) {
        a.emplace_back(size_t(p.numElements) * ir::dtypeSize(p.dtype));
        fillBuffer(p, a.back(), rng);
        if (specials && p.dtype == DType::F32 && !p.written) {
          // NaN, +inf, a run of -inf and a lone -inf at fixed places.
          auto* f = reinterpret_cast<float*>(a.back().data());
          auto set = [&](int64_t e, float v) {
            if (e >= 0 && e < p.numElements) f[e] = v;
          };
          set(3, std::numeric_limits<float>::quiet_NaN());
          set(p.numElements / 2, std::numeric_limits<float>::infinity());
          for (int64_t e = 40; e < 80; ++e) set(e, -std::numeric_limits<float>::infinity());
          set(p.numElements - 5, -std::numeric_limits<float>::infinity());
        }
      }
      std::vector<void*> pa;
      for (auto& b : a) pa.push_back(b.data());
      int64_t range[4] = {0, k.extent0, 0, k.extent1};
      std::vector<std::vector<std::byte>> original = a;
      jit->kernel(k.name)(pa.data(), range);
      for (unsigned w : widths) {
        std::vector<std::vector<std::byte>> b = original;
        std::vector<void*> pb;
        for (auto& x : b) pb.push_back(x.data());
        cuda::LaunchShape shape = cuda::launchShape(k, 65535, w);
        emulation.run(k.name + "_w" + std::to_string(w), pb.data(), std::min(3u, shape.grid),
                      shape.rowThreads > 1 ? shape.block : 7);
        for (size_t i = 0; i < k.buffers.size(); ++i) {
          const BufferParam& p = k.buffers[i];
          if (!p.written) continue;
          size_t size = ir::dtypeSize(p.dtype);
          int reported = 0;
          for (int64_t e = 0; e < p.numElements && reported < 3; ++e) {
            double u = asDouble(p.dtype, a[i].data() + e * int64_t(size));
            double v = asDouble(p.dtype, b[i].data() + e * int64_t(size));
            if ((std::isnan(u) && std::isnan(v)) || u == v || std::abs(u - v) <= rtol * std::max(1.0, std::abs(u)))
              continue;
            ADD_FAILURE() << k.name << " at " << w << " threads per row, buffer " << p.name << "[" << e << "]: LLVM "
                          << u << ", CUDA emulation " << v << "\n"
                          << print(k);
            ++reported;
          }
        }
      }
    }
    if (!withSpecials) break;
  }
}

std::vector<Kernel> lowered(const std::string& text) {
  ir::Graph g = ir::parseGraph(text);
  std::vector<Kernel> out;
  for (const ir::Node* n : g.nodes()) {
    if (!hasAnchorLowering(*n) && !hasDataLowering(*n)) continue;
    LoweredKernel l = hasAnchorLowering(*n) ? lowerAnchorOp(*n) : lowerDataOp(*n);
    EXPECT_TRUE(l.unsupported.empty()) << n->describe() << ": " << l.unsupported;
    if (l.unsupported.empty()) out.push_back(std::move(l.kernel));
  }
  return out;
}

// One emulated program for every length (host compiles dominate the time).
TEST(CudaRowKernels, EveryWidthMatchesLlvm) {
  std::vector<Kernel> ks;
  for (int64_t len : {1, 9, 70, 1100}) {
    std::vector<Kernel> some =
        lowered(fmt::format(R"(graph @w(%x: f32[10,{0}], %s: f32[{0}], %b: f32[{0}], %p: f32[2,5,{0}]) {{
  %sm: f32[10,{0}] = Softmax(%x) {{axis = 1}}
  %ls: f32[10,{0}] = LogSoftmax(%x) {{axis = -1}}
  %ln: f32[10,{0}] = LayerNormalization(%x, %s, %b) {{axis = -1, epsilon = 1e-5}}
  %ax: i64[1] = const [1]
  %rs: f32[10] = ReduceSum(%x, %ax) {{keepdims = 0}}
  %rx: f32[10] = ReduceMax(%x, %ax) {{keepdims = 0}}
  %rn: f32[10] = ReduceMin(%x, %ax) {{keepdims = 0}}
  %r2: f32[10] = ReduceL2(%x, %ax) {{keepdims = 0}}
  %ra: f32[] = ReduceMean(%x) {{keepdims = 0}}
  %gp: f32[2,5,1] = GlobalAveragePool(%p)
  return %sm, %ls, %ln, %rs, %rx, %rn, %r2, %ra, %gp
}}
)",
                            len));
    ASSERT_EQ(some.size(), 9u);
    ks.insert(ks.end(), some.begin(), some.end());
  }
  expectEveryWidthMatchesLlvm(ks, 1e-4, {1, 32, 64, 256, 1024}, true);
}

// ------------------------------------------------------------ f16 / bf16

Expr toF32(Expr e) { return e->dtype == DType::F32 ? e : cast(DType::F32, e); }
Expr fromF32(DType t, Expr e) { return t == DType::F32 ? e : cast(t, e); }

// Softmax over rows of `len` elements stored as `t`: max, then the sum of
// exp, then the normalised values, all in f32 between loads and stores.
Kernel halfSoftmax(DType t, int64_t rows, int64_t len) {
  Kernel k;
  k.name = "half_softmax";
  k.extent0 = rows;
  k.allowReassociation = true;
  int x = addBuffer(k, "x", t, rows * len, false), y = addBuffer(k, "y", t, rows * len, true);
  auto at = [&](Var j) { return binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(len)), var(j)); };
  auto xf = [&](Var j) { return toF32(load(k, x, at(j))); };
  Var m = newVar(k, DType::F32), sum = newVar(k, DType::F32), j1 = newVar(k), j2 = newVar(k), j3 = newVar(k);
  k.body = {
      declare(m, constant(DType::F32, -kInf)),
      rowLoop(j1, intConstant(0), intConstant(len), {assign(m, binary(BinaryOp::Max, var(m), xf(j1)))},
              {{m, BinaryOp::Max}}),
      declare(sum, constant(DType::F32, 0)),
      rowLoop(
          j2, intConstant(0), intConstant(len),
          {assign(sum, binary(BinaryOp::Add, var(sum), unary(UnaryOp::Exp, binary(BinaryOp::Sub, xf(j2), var(m)))))},
          {{sum, BinaryOp::Add}}),
      rowLoop(j3, intConstant(0), intConstant(len),
              {store(k, y, at(j3),
                     fromF32(t, binary(BinaryOp::Div, unary(UnaryOp::Exp, binary(BinaryOp::Sub, xf(j3), var(m))),
                                       var(sum))))}),
  };
  return k;
}

// Mean and product of each row stored as `t`, results stored as `t`.
Kernel halfMeanAndProd(DType t, int64_t rows, int64_t len) {
  Kernel k;
  k.name = "half_mean";
  k.extent0 = rows;
  k.allowReassociation = true;
  int x = addBuffer(k, "x", t, rows * len, false), y = addBuffer(k, "y", t, rows * 2, true);
  Var s = newVar(k, DType::F32), p = newVar(k, DType::F32), j = newVar(k);
  Expr xv = toF32(load(k, x, binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(len)), var(j))));
  Expr out = binary(BinaryOp::Mul, var(k.iter0), intConstant(2));
  k.body = {
      declare(s, constant(DType::F32, 0)),
      declare(p, constant(DType::F32, 1)),
      rowLoop(j, intConstant(0), intConstant(len),
              {assign(s, binary(BinaryOp::Add, var(s), xv)),
               assign(p, binary(BinaryOp::Mul, var(p),
                                binary(BinaryOp::Add, constant(DType::F32, 1),
                                       binary(BinaryOp::Mul, xv, constant(DType::F32, 1e-3)))))},
              {{s, BinaryOp::Add}, {p, BinaryOp::Mul}}),
      store(k, y, out, fromF32(t, binary(BinaryOp::Div, var(s), constant(DType::F32, double(len))))),
      store(k, y, binary(BinaryOp::Add, out, intConstant(1)), fromF32(t, var(p))),
  };
  return k;
}

TEST(CudaRowKernels, HalfAndBfloat16Storage) {
  std::vector<Kernel> f16, bf16;
  for (int64_t len : {3, 45, 700, 3000}) {
    f16.push_back(halfSoftmax(DType::F16, 9, len));
    f16.push_back(halfMeanAndProd(DType::F16, 9, len));
    bf16.push_back(halfSoftmax(DType::BF16, 9, len));
    bf16.push_back(halfMeanAndProd(DType::BF16, 9, len));
  }
  expectEveryWidthMatchesLlvm(f16, 2e-3, {1, 32, 256});
  expectEveryWidthMatchesLlvm(bf16, 1.6e-2, {1, 32, 1024});
}

// ------------------------------------------------------------ IR rules, source, shapes

TEST(CudaRowKernels, RowLoopRulesAreVerified) {
  auto base = [](Kernel& k, Var& acc, Var& j, int& x) {
    k.name = "rules";
    k.extent0 = 2;
    x = addBuffer(k, "x", DType::F32, 16, false);
    acc = newVar(k, DType::F32);
    j = newVar(k);
  };
  Kernel ok;
  Var acc, j;
  int x;
  base(ok, acc, j, x);
  Expr xv = load(ok, x, var(j));
  ok.body = {declare(acc, constant(DType::F32, 0)),
             rowLoop(j, intConstant(0), intConstant(8), {assign(acc, binary(BinaryOp::Max, var(acc), xv))},
                     {{acc, BinaryOp::Max}})};
  EXPECT_NO_THROW(verify(ok));
  EXPECT_NE(print(ok).find("row for v3 in [0, 8) reduce v2 max {"), std::string::npos) << print(ok);
  EXPECT_TRUE(hasRowLoops(ok));

  Kernel nested = ok;  // a row loop inside a serial loop
  Var i = newVar(nested);
  nested.body = {forLoop(i, intConstant(0), intConstant(2), {ok.body[0], ok.body[1]})};
  EXPECT_THROW(verify(nested), InternalError);

  Kernel wrongCombine = ok;  // declared Max, updated with Add
  wrongCombine.body[1] = rowLoop(j, intConstant(0), intConstant(8), {assign(acc, binary(BinaryOp::Add, var(acc), xv))},
                                 {{acc, BinaryOp::Max}});
  EXPECT_THROW(verify(wrongCombine), InternalError);

  Kernel readsAcc = ok;  // the partial result read inside the loop
  readsAcc.body[1] = rowLoop(j, intConstant(0), intConstant(8),
                             {assign(acc, binary(BinaryOp::Max, var(acc), binary(BinaryOp::Add, xv, var(acc))))},
                             {{acc, BinaryOp::Max}});
  EXPECT_THROW(verify(readsAcc), InternalError);

  Kernel undeclared = ok;  // a reduction of a variable not in scope
  undeclared.body = {ok.body[1]};
  EXPECT_THROW(verify(undeclared), InternalError);

  Var wide = newVar(ok, DType::I32);
  EXPECT_THROW(rowLoop(j, intConstant(0), intConstant(8), {}, {{wide, BinaryOp::Add}}), InternalError);
  EXPECT_THROW(rowLoop(j, intConstant(0), intConstant(8), {}, {{acc, BinaryOp::Sub}}), InternalError);
}

TEST(CudaRowKernels, LaunchShapes) {
  auto rowKernel = [](int64_t rows, int64_t len) {
    Kernel k = halfSoftmax(DType::F32, rows, len);
    return k;
  };
  EXPECT_EQ(cuda::rowThreadsFor(rowKernel(4, 4)), 1u);
  EXPECT_EQ(cuda::rowThreadsFor(rowKernel(4, 5)), 32u);
  EXPECT_EQ(cuda::rowThreadsFor(rowKernel(4, 2048)), 32u);
  EXPECT_EQ(cuda::rowThreadsFor(rowKernel(4, 2049)), 256u);
  EXPECT_EQ(cuda::rowThreadsFor(rowKernel(4, 5000)), 512u);
  EXPECT_EQ(cuda::rowThreadsFor(rowKernel(4, 1 << 20)), 1024u);
  // Softmax over a middle axis with 32 or more points after it: one thread
  // per point (coalesced), fewer: a warp per row.
  auto middle = [](int64_t inner) {
    return lowered(fmt::format(R"(graph @m(%x: f32[2,500,{0}]) {{
  %sm: f32[2,500,{0}] = Softmax(%x) {{axis = 1}}
  return %sm
}}
)",
                               inner))
        .at(0);
  };
  EXPECT_EQ(cuda::rowThreadsFor(middle(32)), 1u);
  EXPECT_EQ(cuda::rowThreadsFor(middle(31)), 32u);

  cuda::LaunchShape warp = cuda::launchShape(rowKernel(30, 100));
  EXPECT_EQ(warp.rowThreads, 32u);
  EXPECT_EQ(warp.block, 256u);
  EXPECT_EQ(warp.grid, 4u);  // 8 rows per block
  EXPECT_EQ(warp.sharedBytes, 0u);
  cuda::LaunchShape block = cuda::launchShape(rowKernel(5, 5000));
  EXPECT_EQ(block.block, 512u);
  EXPECT_EQ(block.grid, 5u);
  EXPECT_EQ(block.sharedBytes, 16u * 4u);
  EXPECT_EQ(cuda::launchShape(rowKernel(5, 5000), 3).grid, 3u);
  EXPECT_EQ(cuda::describeLaunch(block), "5 blocks x 512 threads, a block per row, 64 B shared");

  // Kernels without row loops run one thread per point whatever is asked.
  Kernel plain;
  plain.name = "plain";
  plain.extent0 = 1000;
  int y = addBuffer(plain, "y", DType::F32, 1000, true);
  plain.body = {store(plain, y, var(plain.iter0), constant(DType::F32, 1))};
  EXPECT_EQ(cuda::launchShape(plain, 65535, 1024).rowThreads, 1u);
  EXPECT_EQ(cuda::launchShape(plain).grid, 4u);
  EXPECT_THROW(cuda::launchShape(rowKernel(2, 100), 65535, 48), InternalError);
}

TEST(CudaRowKernels, EmittedSourceIsCooperative) {
  Kernel k = halfSoftmax(DType::F32, 30, 100);
  std::string s = cuda::emitKernel(k);
  for (const char* want :
       {"__launch_bounds__(256) half_softmax(", "const i64 dlc_lane = threadIdx.x % 32u;", "i += (i64)gridDim.x * 8",
        "+ dlc_lane;", "+= 32)", "dlc_group_reduce<dlc_op_max, 32>(v2)", "dlc_group_reduce<dlc_op_add, 32>(v3)"})
    EXPECT_NE(s.find(want), std::string::npos) << want << "\n" << s;
  std::string wide = cuda::emitKernel(halfSoftmax(DType::F32, 2, 5000));
  EXPECT_NE(wide.find("dlc_group_reduce<dlc_op_max, 512>"), std::string::npos) << wide;
  // Stores outside row loops are lane 0's.
  std::string mean = cuda::emitKernel(halfMeanAndProd(DType::F16, 3, 50));
  EXPECT_NE(mean.find("if (dlc_lane == 0) b1["), std::string::npos) << mean;
  // The prelude's group reduction uses warp shuffles and shared memory.
  std::string prelude(cuda::prelude());
  EXPECT_NE(prelude.find("__shfl_xor_sync(0xffffffffu, v, o)"), std::string::npos);
  EXPECT_NE(prelude.find("__shared__ T dlc_partial"), std::string::npos);
}

}  // namespace
