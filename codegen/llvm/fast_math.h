// Vectorisable f32 approximations of exp, log, tanh, sigmoid and erf emitted
// inline as LLVM IR (plain arithmetic, bit casts and selects, so that the
// loop vectoriser widens them like any other expression). Internal to
// codegen/llvm. Accuracy against the correctly rounded result (measured in
// tests/unit/jit_test.cpp over wide ranges):
//   exp     <= 2 ulp (subnormal results: 2^-149 absolute), overflow to +inf,
//           exp(-inf) = 0, NaN in NaN out
//   log     <= 2 ulp; log(0) = -inf, log(x<0) = NaN, log(+inf) = +inf,
//           subnormal inputs handled
//   tanh    <= 3 ulp, exactly +-1 for |x| >= 9.1, tanh(-0) = -0
//   sigmoid <= 3 ulp (relative, also for the tiny results at x << 0)
//   erf     <= 3 ulp for |x| >= 1e-3 ... and 1 ulp below; +-1 for |x| >= 4
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
