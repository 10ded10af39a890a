// Vectorisable f32 approximations of exp, log, tanh, sigmoid and erf emitted
// inline as LLVM IR (plain arithmetic, bit casts and selects, so that the
// loop vectoriser widens them like any other expression). Internal to
// codegen/llvm. Accuracy against the correctly rounded result, measured by
// tests/unit/jit_test.cpp (MathAccuracyF32) over [-104, 104] in steps of
// 5.2e-4 plus +-1e-45 ... 1e38, subnormals, +-inf and NaN:
//   exp     1 ulp; overflow to +inf above 88.72, 0 below -103.97,
//           subnormal results within one subnormal step
//   log     1 ulp; log(0) = -inf, log(x < 0) = NaN, log(+inf) = +inf,
//           subnormal inputs handled
//   tanh    1 ulp; exactly +-1 for large |x|, tanh(-0) = -0
//   sigmoid 2 ulp (relative, also for the tiny results at x << 0)
//   erf     5 ulp, the worst near |x| = 3.9 where erf is within 1e-7 of 1
//           (an absolute error below 3e-7); +-1 for |x| >= 4
// NaN in gives NaN out for all of them.
#pragma once

namespace llvm {
class IRBuilderBase;
class Value;
}  // namespace llvm

namespace dlc::codegen::llvm_backend {

llvm::Value* emitExpF32(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emitLogF32(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emitTanhF32(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emitSigmoidF32(llvm::IRBuilderBase& b, llvm::Value* x);
llvm::Value* emitErfF32(llvm::IRBuilderBase& b, llvm::Value* x);

}  // namespace dlc::codegen::llvm_backend
