// JIT compile time for a ResNet-50-sized program: 120 kernels of the kinds
// the lowering produces (GEMM/conv epilogues with bias, residual add and
// ReLU; elementwise chains with sigmoid/tanh; row softmax with exp and
// reductions), emitted, optimised at O3 and compiled in one module.
// Run: build/jit_compile_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "codegen/kernel/kernel_ir.h"
#include "codegen/llvm/cpu_jit.h"

using namespace dlc::codegen;
using namespace dlc::codegen::kir;

namespace {

Expr idx2(const Kernel& k, int64_t cols) {
  return binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(cols)), var(k.iter1));
}

// out[r, c] = relu(acc[r, c] + bias[r] (+ residual[r, c])) over [rows, cols].
Kernel epilogue(int i, int64_t rows, int64_t cols, bool residual) {
  Kernel k;
  k.name = "epilogue_" + std::to_string(i);
  k.extent0 = rows, k.extent1 = cols;
  int acc = addBuffer(k, "acc", DType::F32, rows * cols, false);
  int bias = addBuffer(k, "bias", DType::F32, rows, false);
  int res = residual ? addBuffer(k, "residual", DType::F32, rows * cols, false) : -1;
  int out = addBuffer(k, "out", DType::F32, rows * cols, true);
  Expr v = binary(BinaryOp::Add, load(k, acc, idx2(k, cols)), load(k, bias, var(k.iter0)));
  if (residual) v = binary(BinaryOp::Add, v, load(k, res, idx2(k, cols)));
  k.body = {store(k, out, idx2(k, cols), binary(BinaryOp::Max, v, constant(DType::F32, 0)))};
  return k;
}

// out = x * sigmoid(x) + tanh(y) over n elements.
Kernel elementwise(int i, int64_t n) {
  Kernel k;
  k.name = "elementwise_" + std::to_string(i);
  k.extent1 = n;
  int x = addBuffer(k, "x", DType::F32, n, false);
  int y = addBuffer(k, "y", DType::F32, n, false);
  int out = addBuffer(k, "out", DType::F32, n, true);
  Expr xv = load(k, x, var(k.iter1));
  k.body = {store(k, out, var(k.iter1),
                  binary(BinaryOp::Add, binary(BinaryOp::Mul, xv, unary(UnaryOp::Sigmoid, xv)),
                         unary(UnaryOp::Tanh, load(k, y, var(k.iter1)))))};
  return k;
}

// Row softmax: max, sum of exp, normalise.
Kernel softmax(int i, int64_t rows, int64_t n) {
  Kernel k;
  k.name = "softmax_" + std::to_string(i);
  k.extent0 = rows;
  k.allowReassociation = true;
  int x = addBuffer(k, "x", DType::F32, rows * n, false);
  int out = addBuffer(k, "out", DType::F32, rows * n, true);
  Var m = newVar(k, DType::F32), s = newVar(k, DType::F32), j = newVar(k), j2 = newVar(k), j3 = newVar(k);
  auto at = [&](Var v) { return binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(n)), var(v)); };
  k.body = {
      declare(m, constant(DType::F32, -INFINITY)),
      forLoop(j, intConstant(0), intConstant(n), {assign(m, binary(BinaryOp::Max, var(m), load(k, x, at(j))))}),
      declare(s, constant(DType::F32, 0)),
      forLoop(j2, intConstant(0), intConstant(n),
              {assign(s, binary(BinaryOp::Add, var(s),
                                unary(UnaryOp::Exp, binary(BinaryOp::Sub, load(k, x, at(j2)), var(m)))))}),
      forLoop(j3, intConstant(0), intConstant(n),
              {store(k, out, at(j3),
                     binary(BinaryOp::Div, unary(UnaryOp::Exp, binary(BinaryOp::Sub, load(k, x, at(j3)), var(m))),
                            var(s)))}),
  };
  return k;
}

std::vector<Kernel> resnetSizedProgram() {
  std::vector<Kernel> ks;
  for (int i = 0; i < 53; ++i) ks.push_back(epilogue(i, 64 << (i % 4), 3136 >> (i % 4), i % 3 == 0));
  for (int i = 0; i < 50; ++i) ks.push_back(elementwise(i, 100352));
  for (int i = 0; i < 17; ++i) ks.push_back(softmax(i, 8, 1000));
  return ks;
}

void BM_JitCompileResNetSized(benchmark::State& state) {
  std::vector<Kernel> kernels = resnetSizedProgram();
  for (auto _ : state) benchmark::DoNotOptimize(cpu::jitCompile(kernels, {}));
  state.SetLabel(std::to_string(kernels.size()) + " kernels + GEMM micro-kernel");
}
BENCHMARK(BM_JitCompileResNetSized)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
