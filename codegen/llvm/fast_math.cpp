// Polynomial approximations after Cephes (expf, logf, tanhf) and a rational
// erf on [-4, 4]; see fast_math.h for the measured accuracy. Every function
// is branch-free: special inputs are fixed up with selects at the end.
#include "codegen/llvm/fast_math.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include <initializer_list>

namespace dlc::codegen::llvm_backend {
namespace {

using llvm::Value;

struct F {
  llvm::IRBuilderBase& b;
  llvm::Type* ty;  // float or <N x float>
  llvm::Type* ity;

  explicit F(llvm::IRBuilderBase& builder, Value* x)
      : b(builder), ty(x->getType()), ity(llvm::Type::getInt32Ty(builder.getContext())) {
    if (auto* v = llvm::dyn_cast<llvm::VectorType>(ty)) ity = llvm::VectorType::get(ity, v->getElementCount());
  }
  Value* c(double v) { return llvm::ConstantFP::get(ty, v); }
  Value* ci(int64_t v) { return llvm::ConstantInt::get(ity, uint64_t(v), true); }
  Value* fma(Value* x, Value* y, Value* z) {
    return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {ty}, {x, y, z});
  }
  // c0 * x^(n-1) + ... + c(n-1), Horner.
  Value* poly(Value* x, std::initializer_list<double> coeffs) {
    auto it = coeffs.begin();
    Value* p = c(*it++);
    for (; it != coeffs.end(); ++it) p = fma(p, x, c(*it));
    return p;
  }
  Value* fabs(Value* x) { return b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x); }
  Value* minnum(Value* x, double v) { return b.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, x, c(v)); }
  Value* maxnum(Value* x, double v) { return b.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, x, c(v)); }
  Value* isNaN(Value* x) { return b.CreateFCmpUNO(x, x); }
  // 2^n for an i32 n in [-126, 127].
  Value* pow2(Value* n) { return b.CreateBitCast(b.CreateShl(b.CreateAdd(n, ci(127)), ci(23)), ty); }
};

}  // namespace

Value* emitExpF32(llvm::IRBuilderBase& b, Value* x) {
  F f(b, x);
  Value* xc = f.minnum(f.maxnum(x, -104.0), 89.0);  // NaN becomes a number here; fixed below
  // n = round-to-nearest(x / ln2) by the 1.5 * 2^23 trick (exact for |n| < 2^22).
  Value* magic = f.c(12582912.0);
  Value* n = b.CreateFSub(f.fma(xc, f.c(1.44269504088896341), magic), magic);
  Value* r = f.fma(n, f.c(-0.693359375), xc);
  r = f.fma(n, f.c(2.12194440e-4), r);
  Value* p = f.poly(r, {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2, 1.6666665459E-1,
                        5.0000001201E-1});
  Value* y = b.CreateFAdd(f.fma(p, b.CreateFMul(r, r), r), f.c(1.0));
  // y * 2^n. No floating-point operation may produce a subnormal: on x86
  // each one takes a microcode assist of ~100 cycles (a causal mask's
  // exp(-inf) made Softmax 4x slower). Normal results (n >= -125, y > 0.7)
  // scale in two steps (2^128 works); subnormal ones (n in [-150, -126])
  // are y * 2^(n + 149) in [0, 2^24) rounded to an integer, whose bits are
  // the subnormal (or FLT_MIN itself at 2^23).
  Value* ni = b.CreateFPToSI(n, f.ity);
  Value* tiny = b.CreateICmpSLT(ni, f.ci(-125));
  Value* nNormal = b.CreateSelect(tiny, f.ci(0), ni);
  Value* n1 = b.CreateAShr(nNormal, f.ci(1));
  Value* n2 = b.CreateSub(nNormal, n1);
  Value* normal = b.CreateFMul(b.CreateFMul(y, f.pow2(n1)), f.pow2(n2));
  Value* scaled = b.CreateFMul(y, f.pow2(b.CreateSelect(tiny, b.CreateAdd(ni, f.ci(149)), f.ci(0))));
  Value* subnormal =
      b.CreateBitCast(b.CreateFPToSI(b.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, scaled), f.ity), f.ty);
  Value* result = b.CreateSelect(tiny, subnormal, normal);
  return b.CreateSelect(f.isNaN(x), x, result);
}

Value* emitLogF32(llvm::IRBuilderBase& b, Value* x) {
  F f(b, x);
  // Subnormal inputs are scaled by 2^23 first.
  Value* tiny = b.CreateFCmpOLT(x, f.c(1.17549435e-38));
  Value* xs = b.CreateSelect(tiny, b.CreateFMul(x, f.c(8388608.0)), x);
  Value* bits = b.CreateBitCast(xs, f.ity);
  Value* e = b.CreateSub(b.CreateLShr(bits, f.ci(23)), f.ci(126));
  e = b.CreateSub(e, b.CreateSelect(tiny, f.ci(23), f.ci(0)));
  Value* m = b.CreateBitCast(b.CreateOr(b.CreateAnd(bits, f.ci(0x007fffff)), f.ci(0x3f000000)), f.ty);  // [0.5, 1)
  Value* below = b.CreateFCmpOLT(m, f.c(0.707106781186547524));
  Value* ef = b.CreateFSub(b.CreateSIToFP(e, f.ty), b.CreateSelect(below, f.c(1.0), f.c(0.0)));
  m = b.CreateFSub(b.CreateSelect(below, b.CreateFAdd(m, m), m), f.c(1.0));
  Value* z = b.CreateFMul(m, m);
  Value* p = f.poly(m, {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
                        -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1});
  Value* y = b.CreateFMul(b.CreateFMul(p, m), z);
  y = f.fma(ef, f.c(-2.12194440e-4), y);
  y = f.fma(z, f.c(-0.5), y);
  Value* r = f.fma(ef, f.c(0.693359375), b.CreateFAdd(m, y));
  double inf = std::numeric_limits<double>::infinity();
  r = b.CreateSelect(b.CreateFCmpOEQ(x, f.c(inf)), f.c(inf), r);
  r = b.CreateSelect(b.CreateFCmpOEQ(x, f.c(0.0)), f.c(-inf), r);
  Value* invalid = b.CreateOr(b.CreateFCmpOLT(x, f.c(0.0)), f.isNaN(x));
  return b.CreateSelect(invalid, f.c(std::numeric_limits<double>::quiet_NaN()), r);
}

Value* emitTanhF32(llvm::IRBuilderBase& b, Value* x) {
  F f(b, x);
  Value* ax = f.fabs(x);
  Value* z = b.CreateFMul(x, x);
  Value* p = f.poly(z, {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2, 1.33314422036E-1,
                        -3.33332819422E-1});
  Value* small = f.fma(b.CreateFMul(p, z), x, x);
  Value* e = emitExpF32(b, b.CreateFAdd(ax, ax));
  Value* large = b.CreateFSub(f.c(1.0), b.CreateFDiv(f.c(2.0), b.CreateFAdd(e, f.c(1.0))));
  large = b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, large, x);
  return b.CreateSelect(b.CreateFCmpOLT(ax, f.c(0.625)), small, large);
}

Value* emitSigmoidF32(llvm::IRBuilderBase& b, Value* x) {
  F f(b, x);
  Value* e = emitExpF32(b, b.CreateFNeg(f.fabs(x)));  // in (0, 1]: no overflow
  Value* s = b.CreateFDiv(f.c(1.0), b.CreateFAdd(f.c(1.0), e));
  return b.CreateSelect(b.CreateFCmpOGE(x, f.c(0.0)), s, b.CreateFMul(e, s));
}

Value* emitErfF32(llvm::IRBuilderBase& b, Value* x) {
  F f(b, x);
  Value* xc = f.minnum(f.maxnum(x, -4.0), 4.0);
  Value* z = b.CreateFMul(xc, xc);
  Value* num = f.poly(z, {-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                          -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                          -1.60960333262415e-02});
  Value* den = f.poly(z, {-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                          -7.37332916720468e-03, -1.42647390514189e-02});
  Value* r = b.CreateFMul(xc, b.CreateFDiv(num, den));  // x * (P/Q): no underflow for tiny x
  r = f.minnum(f.maxnum(r, -1.0), 1.0);
  return b.CreateSelect(f.isNaN(x), x, r);
}

}  // namespace dlc::codegen::llvm_backend
