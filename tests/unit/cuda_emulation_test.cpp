// The CUDA emitter without a GPU: emitted programs are compiled as plain C++
// with tests/cuda/host_shim.h, run on the CPU over a small grid (3 blocks of
// 5 threads, so that the grid-stride loop is exercised; cooperative row
// kernels with their own block size), and compared with
// the same kernels JIT-compiled by the LLVM backend on the same inputs:
// kernel-IR semantics at the edges (NaN, infinities, -0, integer division by
// zero and INT_MIN / -1, saturating casts, f16/bf16 bit patterns, shifts),
// and every kind of kernel the lowerings produce (elementwise with
// broadcasting, reductions, softmax/layernorm, pooling, depthwise conv,
// data movement, gather with its status word, f16/bf16 graphs).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <limits>
#include <random>
#include <vector>

#include "codegen/cpu/anchor_kernels.h"
#include "codegen/cpu/pointwise_kernel.h"
#include "codegen/cuda/conv_kernels.h"
#include "codegen/cuda/cuda_emitter.h"
#include "codegen/kernel/kernel_ir.h"
#include "codegen/llvm/cpu_jit.h"
#include "ir/op_def.h"
#include "ir/parser.h"
#include "tests/cuda/host_emulation.h"

using namespace dlc;
using namespace dlc::codegen;
using namespace dlc::codegen::kir;

namespace {

// An emitted program compiled for the host and loaded with dlopen.
class EmulatedProgram {
 public:
  explicit EmulatedProgram(const std::vector<Kernel>& kernels) : emulation_(cuda::emitProgram(kernels), kernels) {}
  bool ok() const { return emulation_.ok(); }
  // At most 3 blocks, so that the grid-stride loop is exercised; blocks of 5
  // threads for one thread per point, the launch's own block otherwise.
  void run(const Kernel& k, void* const* buffers) const {
    cuda::LaunchShape shape = cuda::launchShape(k);
    emulation_.run(k.name, buffers, std::min(3u, shape.grid), shape.rowThreads > 1 ? shape.block : 5);
  }

 private:
  dlc::testing::HostEmulation emulation_;
};

// Random contents for a buffer: floats with NaN, infinities, +-0, tiny and
// huge values; integers with 0, -1, the extremes (or small values only,
// for index buffers).
void fill(DType t, std::vector<std::byte>& bytes, std::mt19937& rng, bool smallInts) {
  size_t n = bytes.size() / ir::dtypeSize(t);
  std::uniform_real_distribution<double> real(-3.0, 3.0);
  std::uniform_int_distribution<int> pick(0, 15);
  const double specials[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(), 0.0, -0.0, 1e-30, 0.5, -2.5, 3e9, -3e9,
                             1e20, 65519.0, 70000.0, 2.5, 1.5, -1.0};
  for (size_t i = 0; i < n; ++i) {
    std::byte* p = bytes.data() + i * ir::dtypeSize(t);
    int r = pick(rng);
    double d = r < 4 ? specials[std::uniform_int_distribution<int>(0, 15)(rng)] : real(rng);
    int64_t v = smallInts ? std::uniform_int_distribution<int64_t>(-4, 4)(rng)
                : r == 0  ? 0
                : r == 1  ? -1
                : r == 2  ? std::numeric_limits<int64_t>::min()
                : r == 3  ? std::numeric_limits<int64_t>::max()
                          : std::uniform_int_distribution<int64_t>(-300, 300)(rng);
    auto put = [&](auto x) { std::memcpy(p, &x, sizeof x); };
    switch (t) {
      case DType::F32: put(float(d)); break;
      case DType::F64: put(d); break;
      case DType::F16: put(std::bit_cast<uint16_t>(_Float16(d))); break;
      case DType::BF16: put(uint16_t(std::bit_cast<uint32_t>(float(d)) >> 16)); break;
      case DType::Bool: put(uint8_t(v & 1)); break;
      case DType::I8:
      case DType::U8: put(uint8_t(v)); break;
      case DType::I16:
      case DType::U16: put(uint16_t(v)); break;
      case DType::I32:
      case DType::U32: put(uint32_t(v)); break;
      case DType::I64:
      case DType::U64: put(uint64_t(v)); break;
      case DType::Undefined: break;
    }
  }
}

double asDouble(DType t, const std::byte* p) {
  auto get = [&](auto x) {
    std::memcpy(&x, p, sizeof x);
    return x;
  };
  switch (t) {
    case DType::F32: return get(float());
    case DType::F64: return get(double());
    case DType::F16: return double(std::bit_cast<_Float16>(get(uint16_t())));
    case DType::BF16: return std::bit_cast<float>(uint32_t(get(uint16_t())) << 16);
    default: return 0;
  }
}

// Runs every kernel on the LLVM JIT and in CUDA emulation over the same
// inputs and compares every written buffer: bit for bit (NaN matching any
// NaN), or within `rtol` for floats when `rtol` > 0.
// Integer inputs are drawn from [-4, 4] with `smallInts` (indices, divisors).
// `init`, when given, fills buffer i instead of the random data.
using InitFn = std::function<void(size_t, const BufferParam&, std::vector<std::byte>&)>;
void expectSameAsLlvm(std::vector<Kernel> kernels, double rtol = 0, unsigned seed = 1, bool smallInts = false,
                      const InitFn& init = {}) {
  for (size_t i = 0; i < kernels.size(); ++i) kernels[i].name = "k" + std::to_string(i);
  EmulatedProgram emulated(kernels);
  ASSERT_TRUE(emulated.ok());
  auto jit = cpu::jitCompile(kernels, cpu::CpuTargetOptions{"host"});
  std::mt19937 rng(seed);
  for (const Kernel& k : kernels) {
    std::vector<std::vector<std::byte>> a, b;
    for (const BufferParam& p : k.buffers) {
      a.emplace_back(size_t(p.numElements) * ir::dtypeSize(p.dtype));
      if (init)
        init(a.size() - 1, p, a.back());
      else
        fill(p.dtype, a.back(), rng, smallInts && !p.written);
    }
    b = a;
    std::vector<void*> pa, pb;
    for (size_t i = 0; i < a.size(); ++i) {
      pa.push_back(a[i].data());
      pb.push_back(b[i].data());
    }
    int64_t range[4] = {0, k.extent0, 0, k.extent1};
    jit->kernel(k.name)(pa.data(), range);
    emulated.run(k, pb.data());
    for (size_t i = 0; i < k.buffers.size(); ++i) {
      const BufferParam& p = k.buffers[i];
      if (!p.written) continue;
      size_t size = ir::dtypeSize(p.dtype);
      int reported = 0;
      for (int64_t e = 0; e < p.numElements && reported < 5; ++e) {
        const std::byte* x = a[i].data() + e * size;
        const std::byte* y = b[i].data() + e * size;
        if (std::memcmp(x, y, size) == 0) continue;
        if (ir::isFloat(p.dtype)) {
          double u = asDouble(p.dtype, x), v = asDouble(p.dtype, y);
          if (std::isnan(u) && std::isnan(v)) continue;
          if (rtol > 0 && std::abs(u - v) <= rtol * std::max(1.0, std::abs(u))) continue;
          ADD_FAILURE() << k.name << " buffer " << p.name << "[" << e << "]: LLVM " << u << ", CUDA emulation " << v
                        << "\n" << cuda::emitKernel(k);
        } else {
          ADD_FAILURE() << k.name << " buffer " << p.name << "[" << e << "] (" << ir::dtypeName(p.dtype)
                        << ") differs\n" << cuda::emitKernel(k);
        }
        ++reported;
      }
    }
  }
}

Kernel unaryKernel(UnaryOp op, DType t, int64_t n) {
  Kernel k;
  k.extent0 = n;
  int x = addBuffer(k, "x", t, n, false);
  Expr e = unary(op, load(k, x, var(k.iter0)));
  int out = addBuffer(k, "out", e->dtype, n, true);
  k.body = {store(k, out, var(k.iter0), e)};
  return k;
}

Kernel binaryKernel(BinaryOp op, DType t, int64_t n) {
  Kernel k;
  k.extent0 = n;
  int x = addBuffer(k, "x", t, n, false);
  int y = addBuffer(k, "y", t, n, false);
  Expr e = binary(op, load(k, x, var(k.iter0)), load(k, y, var(k.iter0)));
  int out = addBuffer(k, "out", e->dtype, n, true);
  k.body = {store(k, out, var(k.iter0), e)};
  return k;
}

Kernel castKernel(DType from, DType to, int64_t n) {
  Kernel k;
  k.extent0 = n;
  int x = addBuffer(k, "x", from, n, false);
  int out = addBuffer(k, "out", to, n, true);
  k.body = {store(k, out, var(k.iter0), cast(to, load(k, x, var(k.iter0))))};
  return k;
}

const DType kIntTypes[] = {DType::I8, DType::I16, DType::I32, DType::I64,
                           DType::U8, DType::U16, DType::U32, DType::U64};
const DType kAllTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::Bool, DType::I8, DType::I16,
                           DType::I32, DType::I64, DType::U8, DType::U16, DType::U32, DType::U64};

// Kernels for every node of `text` (one graph): elementwise nodes as
// pointwise kernels, the rest through the anchor and data lowerings.
std::vector<Kernel> loweredKernels(const ir::Graph& g) {
  std::vector<Kernel> out;
  for (const ir::Node* n : g.nodes()) {
    if (n->def().has(ir::kElementwise)) {
      PointwiseGroup group;
      group.nodes = {n};
      group.outputs = {n->output(0)};
      group.shape = n->output(0)->type().shape->extents();
      PointwiseKernel pk = buildPointwiseKernel("", group);
      EXPECT_EQ(pk.unsupported, nullptr) << n->describe();
      if (!pk.unsupported) out.push_back(std::move(pk.kernel));
    } else if (hasAnchorLowering(*n) || hasDataLowering(*n)) {
      LoweredKernel l = hasAnchorLowering(*n) ? lowerAnchorOp(*n) : lowerDataOp(*n);
      EXPECT_TRUE(l.unsupported.empty()) << n->describe() << ": " << l.unsupported;
      if (l.unsupported.empty()) out.push_back(std::move(l.kernel));
    }
  }
  return out;
}

}  // namespace

TEST(CudaEmulation, UnaryOpsOnFloats) {
  std::vector<Kernel> exact, approx;
  for (DType t : {DType::F32, DType::F64})
    for (UnaryOp op : {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Sign, UnaryOp::Reciprocal, UnaryOp::Sqrt,
                       UnaryOp::Rsqrt, UnaryOp::Floor, UnaryOp::Ceil, UnaryOp::Round, UnaryOp::IsNaN, UnaryOp::IsInf})
      exact.push_back(unaryKernel(op, t, 333));
  for (DType t : {DType::F32, DType::F64})
    for (UnaryOp op : {UnaryOp::Exp, UnaryOp::Log, UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Erf, UnaryOp::Sin,
                       UnaryOp::Cos, UnaryOp::Tan, UnaryOp::Asin, UnaryOp::Acos, UnaryOp::Atan, UnaryOp::Sinh,
                       UnaryOp::Cosh, UnaryOp::Asinh, UnaryOp::Acosh, UnaryOp::Atanh})
      approx.push_back(unaryKernel(op, t, 333));
  expectSameAsLlvm(exact);
  // The CPU backend's f32 exp/log/tanh/sigmoid/erf are polynomial
  // approximations (a few ulp); libm here and CUDA's math on the GPU differ
  // from them by that much.
  expectSameAsLlvm(approx, 1e-5);
}

TEST(CudaEmulation, UnaryOpsOnIntegersAndBool) {
  std::vector<Kernel> ks;
  for (DType t : kIntTypes)
    for (UnaryOp op : {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Sign, UnaryOp::BitNot}) ks.push_back(unaryKernel(op, t, 200));
  ks.push_back(unaryKernel(UnaryOp::Not, DType::Bool, 50));
  expectSameAsLlvm(ks);
}

TEST(CudaEmulation, BinaryOpsOnEveryType) {
  std::vector<Kernel> ks;
  const BinaryOp arith[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Rem,
                            BinaryOp::Min, BinaryOp::Max, BinaryOp::Eq,  BinaryOp::Ne,  BinaryOp::Lt,
                            BinaryOp::Le,  BinaryOp::Gt,  BinaryOp::Ge};
  for (DType t : {DType::F32, DType::F64})
    for (BinaryOp op : arith) ks.push_back(binaryKernel(op, t, 400));
  for (DType t : kIntTypes) {
    for (BinaryOp op : arith) ks.push_back(binaryKernel(op, t, 400));
    for (BinaryOp op : {BinaryOp::And, BinaryOp::Or, BinaryOp::Xor, BinaryOp::Pow}) ks.push_back(binaryKernel(op, t, 400));
    if (!ir::isSigned(t))
      for (BinaryOp op : {BinaryOp::Shl, BinaryOp::Shr}) ks.push_back(binaryKernel(op, t, 400));
  }
  for (BinaryOp op : {BinaryOp::And, BinaryOp::Or, BinaryOp::Xor, BinaryOp::Eq, BinaryOp::Ne})
    ks.push_back(binaryKernel(op, DType::Bool, 64));
  expectSameAsLlvm(ks);
  expectSameAsLlvm({binaryKernel(BinaryOp::Pow, DType::F32, 400), binaryKernel(BinaryOp::Pow, DType::F64, 400)}, 1e-6);
}

// x and y run over every pair of special values (NaN, +-inf, +-0, ...).
TEST(CudaEmulation, FloatBinaryOpsOnEveryPairOfSpecialValues) {
  const double specials[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(), 0.0, -0.0, 1.0, -1.0, 2.5, -3.5, 1e-40};
  constexpr size_t n = std::size(specials);
  std::vector<Kernel> ks;
  for (DType t : {DType::F32, DType::F64})
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Rem, BinaryOp::Min,
                        BinaryOp::Max, BinaryOp::Pow, BinaryOp::Eq, BinaryOp::Ne, BinaryOp::Lt, BinaryOp::Le,
                        BinaryOp::Gt, BinaryOp::Ge})
      ks.push_back(binaryKernel(op, t, n * n));
  expectSameAsLlvm(ks, 0, 1, false, [&](size_t i, const BufferParam& p, std::vector<std::byte>& bytes) {
    for (size_t e = 0; e < n * n; ++e) {
      double v = specials[i == 0 ? e / n : e % n];
      if (p.dtype == DType::F32) {
        float f = float(v);
        std::memcpy(bytes.data() + e * 4, &f, 4);
      } else if (p.dtype == DType::F64) {
        std::memcpy(bytes.data() + e * 8, &v, 8);
      }
    }
  });
}

TEST(CudaEmulation, CastsBetweenEveryPairOfTypes) {
  std::vector<Kernel> ks;
  for (DType from : kAllTypes)
    for (DType to : kAllTypes) ks.push_back(castKernel(from, to, 300));
  expectSameAsLlvm(ks);
}

// Every f16 and bf16 bit pattern to f32, and many f32 bit patterns (every
// exponent, rounding ties, subnormals, NaN payloads) to f16 and bf16.
TEST(CudaEmulation, HalfConversionsOnAllBitPatterns) {
  Kernel toF16 = castKernel(DType::F32, DType::F16, 1 << 16);
  Kernel toBF16 = castKernel(DType::F32, DType::BF16, 1 << 16);
  Kernel fromF16 = castKernel(DType::F16, DType::F32, 1 << 16);
  Kernel fromBF16 = castKernel(DType::BF16, DType::F32, 1 << 16);
  std::vector<Kernel> ks = {toF16, toBF16, fromF16, fromBF16};
  for (size_t i = 0; i < ks.size(); ++i) ks[i].name = "h" + std::to_string(i);
  EmulatedProgram emulated(ks);
  ASSERT_TRUE(emulated.ok());
  auto jit = cpu::jitCompile(ks, cpu::CpuTargetOptions{"host"});
  std::vector<uint16_t> halves(1 << 16);
  std::vector<uint32_t> floats(1 << 16);
  std::mt19937 rng(7);
  for (uint32_t i = 0; i < (1u << 16); ++i) {
    halves[i] = uint16_t(i);
    // The high half walks every sign/exponent/top-mantissa pattern; the low
    // half is a tie, just above or below one, or random.
    uint32_t low[] = {0x0000, 0x1000, 0x0fff, 0x1001, 0x8000, 0x7fff, 0x8001, uint32_t(rng() & 0xffff)};
    floats[i] = (i << 16) | low[rng() % 8];
  }
  for (size_t i = 0; i < ks.size(); ++i) {
    void* input = i < 2 ? static_cast<void*>(floats.data()) : static_cast<void*>(halves.data());
    size_t outBytes = i < 2 ? 2 : 4;
    std::vector<std::byte> a(outBytes << 16), b(outBytes << 16);
    void* pa[] = {input, a.data()};
    void* pb[] = {input, b.data()};
    int64_t range[4] = {0, ks[i].extent0, 0, 1};
    jit->kernel(ks[i].name)(pa, range);
    emulated.run(ks[i], pb);
    int mismatches = 0;
    for (size_t e = 0; e < (1u << 16); ++e)
      if (std::memcmp(a.data() + e * outBytes, b.data() + e * outBytes, outBytes) != 0) {
        double u = i < 2 ? 0 : std::bit_cast<float>(reinterpret_cast<uint32_t*>(a.data())[e]);
        double v = i < 2 ? 0 : std::bit_cast<float>(reinterpret_cast<uint32_t*>(b.data())[e]);
        if (i >= 2 && std::isnan(u) && std::isnan(v)) continue;
        if (i < 2) {  // a NaN result with another payload is still the same NaN
          uint16_t x = reinterpret_cast<uint16_t*>(a.data())[e], y = reinterpret_cast<uint16_t*>(b.data())[e];
          bool nanX = i == 0 ? (x & 0x7c00) == 0x7c00 && (x & 0x3ff) : (x & 0x7f80) == 0x7f80 && (x & 0x7f);
          bool nanY = i == 0 ? (y & 0x7c00) == 0x7c00 && (y & 0x3ff) : (y & 0x7f80) == 0x7f80 && (y & 0x7f);
          if (nanX && nanY) continue;
        }
        if (++mismatches <= 5) ADD_FAILURE() << ks[i].name << " element " << e << " differs";
      }
    EXPECT_EQ(mismatches, 0) << ks[i].name;
  }
}

TEST(CudaEmulation, ConstantsSelectAndControlFlow) {
  // out[v0, v1] = select(x > c, x * 2.5, -0.0) with a serial loop and an if.
  Kernel k;
  k.extent0 = 7;
  k.extent1 = 9;
  int x = addBuffer(k, "x", DType::F32, 63, false);
  int out = addBuffer(k, "out", DType::F32, 63, true);
  int h = addBuffer(k, "h", DType::F16, 63, true);
  Expr idx = binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(9)), var(k.iter1));
  Var acc = newVar(k, DType::F32);
  Var j = newVar(k);
  Expr xv = load(k, x, idx);
  k.body = {
      declare(acc, constant(DType::F32, -0.0)),
      forLoop(j, intConstant(0), var(k.iter1),
              {assign(acc, binary(BinaryOp::Add, var(acc), load(k, x, binary(BinaryOp::Mul, var(j), intConstant(7)))))}),
      ifThen(binary(BinaryOp::Gt, xv, constant(DType::F32, 0.1)),
             {store(k, out, idx, binary(BinaryOp::Mul, var(acc), constant(DType::F32, -2.5)))},
             {store(k, out, idx, select(unary(UnaryOp::IsNaN, xv), constant(DType::F32, INFINITY), unary(UnaryOp::Neg, constant(DType::F32, -1e-7))))}),
      store(k, h, idx, select(binary(BinaryOp::Lt, xv, constant(DType::F32, 0)), constant(DType::F16, 0.1),
                              cast(DType::F16, xv))),
  };
  expectSameAsLlvm({k});
}

TEST(CudaEmulation, ElementwiseGraphsWithBroadcasting) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%a: f32[3,1,5], %b: f32[4,1], %c: f32[5], %i: i32[3,4,5], %j: i32[5], %p: bool[4,5]) {
  %s: f32[3,4,5] = Add(%a, %b)
  %m: f32[3,4,5] = Mul(%s, %c)
  %r: f32[3,4,5] = Relu(%m)
  %w: f32[3,4,5] = Where(%p, %r, %a)
  %q: i32[3,4,5] = Max(%i, %j)
  %o: i32[3,4,5] = BitwiseXor(%i, %j)
  %fm: f32[3,4,5] = Mod(%m, %c) {fmod = 1}
  %e: bool[3,4,5] = Equal(%q, %i)
  %n: bool[3,4,5] = Not(%e)
  %k: f32[3,4,5] = Cast(%q) {to = "f32"}
  %cl: f32[] = const [-0.5]
  %ch: f32[] = const [0.5]
  %l: f32[3,4,5] = Clip(%m, %cl, %ch)
  %h: f16[3,4,5] = Cast(%m) {to = "f16"}
  %h2: f16[3,4,5] = Add(%h, %h)
  %bf: bf16[3,4,5] = Cast(%m) {to = "bf16"}
  %bm: bf16[3,4,5] = Mul(%bf, %bf)
  return %w, %o, %fm, %n, %k, %l, %h2, %bm
}
)");
  expectSameAsLlvm(loweredKernels(g), 0, 1, true);
}

TEST(CudaEmulation, RowReductionsPoolingAndDepthwise) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[3,4,17], %s: f32[17], %b: f32[17], %y: f32[2,3,9,8], %w: f32[3,1,3,3], %wb: f32[3]) {
  %sm: f32[3,4,17] = Softmax(%x) {axis = -1}
  %s1: f32[3,4,17] = Softmax(%x) {axis = 1}
  %ls: f32[3,4,17] = LogSoftmax(%x) {axis = 2}
  %ln: f32[3,4,17] = LayerNormalization(%x, %s, %b) {axis = -1, epsilon = 1e-5}
  %ax: i64[1] = const [2]
  %rm: f32[3,4,1] = ReduceMean(%x, %ax) {keepdims = 1}
  %rx: f32[3,4] = ReduceMax(%x, %ax) {keepdims = 0}
  %mp: f32[2,3,4,4] = MaxPool(%y) {kernel_shape = [3, 2], pads = [1, 0, 0, 0], strides = [2, 2]}
  %ap: f32[2,3,5,4] = AveragePool(%y) {kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]}
  %gp: f32[2,3,1,1] = GlobalAveragePool(%y)
  %dw: f32[2,3,9,8] = Conv(%y, %w, %wb) {group = 3, pads = [1, 1, 1, 1]}
  return %sm, %s1, %ls, %ln, %rm, %rx, %mp, %ap, %gp, %dw
}
)");
  std::vector<Kernel> ks = loweredKernels(g);
  EXPECT_EQ(ks.size(), 10u);
  // Reductions may be reassociated on the CPU (vectorised sums).
  expectSameAsLlvm(ks, 1e-5);
}

TEST(CudaEmulation, DataMovementAndGatherStatus) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[2,3,4], %y: f32[2,5,4], %i: i64[2,2], %e: f32[3,1]) {
  %t: f32[4,2,3] = Transpose(%x) {perm = [2, 0, 1]}
  %c: f32[2,8,4] = Concat(%x, %y) {axis = 1}
  %st: i64[1] = const [1]
  %en: i64[1] = const [7]
  %ax: i64[1] = const [1]
  %sp: i64[1] = const [2]
  %s: f32[2,3,4] = Slice(%c, %st, %en, %ax, %sp)
  %g: f32[2,2,2,4] = Gather(%x, %i) {axis = 1}
  %es: i64[2] = const [3, 4]
  %ex: f32[3,4] = Expand(%e, %es)
  return %t, %c, %s, %g, %ex
}
)");
  std::vector<Kernel> ks = loweredKernels(g);
  EXPECT_EQ(ks.size(), 5u);
  // Indices are drawn from [-4, 4]: some are out of range for axis 1 (size
  // 3), so the status word is set on both sides.
  for (unsigned seed = 1; seed <= 3; ++seed) expectSameAsLlvm(ks, 0, seed, true);
}

// Reductions over non-adjacent axes (a cooperative row loop whose offsets
// come from the reduced index) and OneHot with negative and out-of-range indices (drawn from [-4, 4]).
TEST(CudaEmulation, ReductionsOverAnyAxesAndOneHot) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[4,3,5,6], %i: i64[2,3]) {
  %a: i64[3] = const [0, 2, 3]
  %b: i64[2] = const [1, 3]
  %rs: f32[3] = ReduceSum(%x, %a) {keepdims = 0}
  %rx: f32[4,1,5,1] = ReduceMax(%x, %b) {keepdims = 1}
  %c: i64[2] = const [0, 2]
  %rm: f32[3,6] = ReduceMean(%x, %c) {keepdims = 0}
  %d: i64[1] = const [3]
  %v: f32[2] = const [0.5, 2]
  %oh: f32[2,3,3] = OneHot(%i, %d, %v) {axis = 1}
  return %rs, %rx, %rm, %oh
}
)");
  std::vector<Kernel> ks = loweredKernels(g);
  EXPECT_EQ(ks.size(), 4u);
  // Plain floats in [-3, 3] (the sums are reassociated on both sides; huge
  // special values would make them differ by cancellation) and small ints.
  std::mt19937 rng(5);
  auto init = [&](size_t, const BufferParam& p, std::vector<std::byte>& bytes) {
    for (int64_t e = 0; e < p.numElements; ++e) {
      if (p.dtype == DType::F32) {
        float v = std::uniform_real_distribution<float>(-3, 3)(rng);
        std::memcpy(bytes.data() + e * 4, &v, 4);
      } else if (p.dtype == DType::I64) {
        int64_t v = std::uniform_int_distribution<int64_t>(-4, 4)(rng);
        std::memcpy(bytes.data() + e * 8, &v, 8);
      }
    }
  };
  expectSameAsLlvm(ks, 1e-5, 1, true, init);
}

TEST(CudaEmulation, Im2colKernel) {
  runtime::ConvShape s;
  s.batch = 2;
  s.inChannels = 4;
  s.inH = 7;
  s.inW = 6;
  s.outChannels = 4;
  s.kernelH = 3;
  s.kernelW = 2;
  s.group = 2;
  s.strideH = 2;
  s.dilationW = 2;
  s.padTop = s.padLeft = s.padBottom = 1;
  expectSameAsLlvm({cuda::im2colKernel(s, "im2col")});
  // The col2im gather of the adjoint, with and without a bias.
  expectSameAsLlvm({cuda::col2imKernel(s, true, "col2im_bias"), cuda::col2imKernel(s, false, "col2im")});
}

// MaxPool with Indices (overlapping windows, ties from small integers) and
// the gather kernel of its gradient's ScatterElements, whose indices are
// drawn over the whole pooled input so that many match.
TEST(CudaEmulation, MaxPoolIndicesAndItsGradientScatter) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%y: f32[2,3,9,8], %z: f32[432], %gr: f32[120]) {
  %mp: f32[2,3,5,4], %mi: i64[2,3,5,4] = MaxPool(%y) {kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]}
  %s: i64[1] = const [-1]
  %fi: i64[120] = Reshape(%mi, %s)
  %sc: f32[432] = ScatterElements(%z, %fi, %gr) {reduction = "add"}
  return %mp, %sc
}
)");
  std::vector<Kernel> ks = loweredKernels(g);
  ASSERT_EQ(ks.size(), 2u);
  std::mt19937 rng(9);
  expectSameAsLlvm(ks, 0, 1, false, [&](size_t, const BufferParam& p, std::vector<std::byte>& bytes) {
    if (p.dtype == DType::I64) {
      std::uniform_int_distribution<int64_t> position(0, 431);
      for (size_t i = 0; i < bytes.size() / 8; ++i) {
        int64_t v = position(rng);
        std::memcpy(bytes.data() + i * 8, &v, 8);
      }
    } else {
      fill(p.dtype, bytes, rng, /*smallInts=*/true);
    }
  });
}

TEST(CudaEmulation, EmittedSourceIsReadable) {
  Kernel k = binaryKernel(BinaryOp::Add, DType::F32, 10);
  k.name = "dlc_s0_Add";
  std::string s = cuda::emitKernel(k);
  EXPECT_NE(s.find("extern \"C\" __global__ void __launch_bounds__(256) dlc_s0_Add(const f32* b0, const f32* b1, f32* b2)"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("b2[v0] = (b0[v0] + b1[v0]);"), std::string::npos) << s;
  EXPECT_EQ(cuda::gridSize(k), 1u);
  k.extent0 = 0;
  EXPECT_EQ(cuda::gridSize(k), 0u);
}

// Elementwise kernels move their 4-byte buffers as 16-byte vectors when the
// pointers are 16-byte aligned (4 points per thread, a scalar loop for the
// rest); misaligned pointers take the scalar loop for every point.
TEST(CudaEmulation, VectorisedElementwiseKernels) {
  Kernel add = binaryKernel(BinaryOp::Add, DType::F32, cuda::kMinVectorPoints + 3);  // a scalar tail of 3
  Kernel small = binaryKernel(BinaryOp::Add, DType::F32, cuda::kMinVectorPoints - 4);
  small.name = "vsmall";
  EXPECT_EQ(cuda::emitKernel(small).find("dlc_vec4"), std::string::npos);
  add.name = "vadd";
  // In place: x[i] = x[i] * 2 + y[i % 7] (a broadcast load stays scalar).
  Kernel inPlace;
  inPlace.name = "vinplace";
  inPlace.extent0 = 9;
  inPlace.extent1 = 2000;
  int x = addBuffer(inPlace, "x", DType::F32, 18000, true);
  int y = addBuffer(inPlace, "y", DType::I32, 7, false);
  Expr linear = binary(BinaryOp::Add, binary(BinaryOp::Mul, var(inPlace.iter0), intConstant(2000)), var(inPlace.iter1));
  inPlace.body = {store(inPlace, x, linear,
                        binary(BinaryOp::Add, binary(BinaryOp::Mul, load(inPlace, x, linear), constant(DType::F32, 2)),
                               cast(DType::F32, load(inPlace, y, binary(BinaryOp::Rem, var(inPlace.iter1), intConstant(7))))))};
  // A store at another index than the point's (a reversal): scalar only.
  Kernel shifted;
  shifted.name = "vshifted";
  shifted.extent0 = 20000;
  int from = addBuffer(shifted, "from", DType::F32, 20000, false);
  int to = addBuffer(shifted, "to", DType::F32, 20000, true);
  shifted.body = {store(shifted, to, binary(BinaryOp::Sub, intConstant(19999), var(shifted.iter0)),
                        load(shifted, from, var(shifted.iter0)))};

  std::string s = cuda::emitKernel(add);
  EXPECT_NE(s.find("dlc_vec4<f32> b0_v = ((const dlc_vec4<f32>*)b0)[q];"), std::string::npos) << s;
  EXPECT_NE(s.find("b2_v.v[c] = (b0_v.v[c] + b1_v.v[c]);"), std::string::npos) << s;
  EXPECT_NE(s.find("((dlc_vec4<f32>*)b2)[q] = b2_v;"), std::string::npos) << s;
  EXPECT_NE(s.find("if ((((u64)b0 | (u64)b1 | (u64)b2) & 15ull) == 0)"), std::string::npos) << s;
  std::string p = cuda::emitKernel(inPlace);
  EXPECT_NE(p.find("dlc_vec4<f32> b0_v = ((const dlc_vec4<f32>*)b0)[q];"), std::string::npos) << p;
  EXPECT_EQ(p.find("b1_v"), std::string::npos) << p;
  EXPECT_EQ(cuda::emitKernel(shifted).find("dlc_vec4"), std::string::npos);

  std::vector<Kernel> ks = {add, inPlace, shifted};
  expectSameAsLlvm(ks);  // aligned (vectors)
  // Misaligned by one element: the same results through the scalar loop.
  EmulatedProgram emulated(ks);
  ASSERT_TRUE(emulated.ok());
  auto jit = cpu::jitCompile(ks, cpu::CpuTargetOptions{"host"});
  std::mt19937 rng(3);
  for (const Kernel& k : ks) {
    std::vector<std::vector<float>> a, b;  // f32 and i32 buffers, one spare element in front
    for (const BufferParam& param : k.buffers) {
      a.emplace_back(size_t(param.numElements) + 1);
      for (float& v : a.back()) v = param.dtype == DType::I32 ? std::bit_cast<float>(int32_t(rng() % 9)) : float(rng() % 1000) / 7;
    }
    b = a;
    std::vector<void*> pa, pb;
    for (size_t i = 0; i < a.size(); ++i) {
      pa.push_back(a[i].data() + 1);
      pb.push_back(b[i].data() + 1);
    }
    int64_t range[4] = {0, k.extent0, 0, k.extent1};
    jit->kernel(k.name)(pa.data(), range);
    emulated.run(k, pb.data());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(std::memcmp(a[i].data(), b[i].data(), a[i].size() * 4), 0) << k.name;
  }
}
