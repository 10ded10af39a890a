// Kernel IR: constructors' dtype rules, the printer (golden text) and the
// verifier (scoping, buffer indices, read-only buffers).
#include <gtest/gtest.h>

#include "codegen/kernel/kernel_ir.h"
#include "support/error.h"

using namespace dlc;
using namespace dlc::codegen::kir;

namespace {

// out[v0, v1] = sum_k relu(x[v0, k]) * 0.5 + bias[v1] : a small kernel with a
// loop, a mutable accumulator and a select.
Kernel rowSumKernel() {
  Kernel k;
  k.name = "row_sum";
  k.extent0 = 4;
  k.extent1 = 3;
  int x = addBuffer(k, "x", DType::F32, 4 * 8, false);
  int bias = addBuffer(k, "bias", DType::F32, 3, false);
  int out = addBuffer(k, "out", DType::F32, 12, true);
  Var acc = newVar(k, DType::F32);
  Var j = newVar(k);
  Expr xv = load(k, x, binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(8)), var(j)));
  Expr zero = constant(DType::F32, 0);
  Expr relu = select(binary(BinaryOp::Gt, xv, zero), xv, zero);
  k.body = {
      declare(acc, constant(DType::F32, 0)),
      forLoop(j, intConstant(0), intConstant(8), {assign(acc, binary(BinaryOp::Add, var(acc), relu))}),
      store(k, out, binary(BinaryOp::Add, binary(BinaryOp::Mul, var(k.iter0), intConstant(3)), var(k.iter1)),
            binary(BinaryOp::Add, binary(BinaryOp::Mul, var(acc), constant(DType::F32, 0.5)),
                   load(k, bias, var(k.iter1)))),
  };
  k.allowReassociation = true;
  return k;
}

template <typename Fn>
std::string internalErrorOf(Fn&& fn) {
  try {
    fn();
  } catch (const InternalError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(KernelIR, PrintGolden) {
  Kernel k = rowSumKernel();
  verify(k);
  EXPECT_EQ(print(k),
            "kernel row_sum(x: f32[32], bias: f32[3], out: f32[12] out) over v0 < 4, v1 < 3 reassoc {\n"
            "  var v2: f32 = 0:f32\n"
            "  for v3 in [0, 8) {\n"
            "    v2 = (v2 + select((x[((v0 * 8) + v3)] > 0:f32), x[((v0 * 8) + v3)], 0:f32))\n"
            "  }\n"
            "  out[((v0 * 3) + v1)] = ((v2 * 0.5:f32) + bias[v1])\n"
            "}\n");
}

TEST(KernelIR, PrintsConstantsCastsIfAndCalls) {
  Kernel k;
  k.name = "misc";
  int in = addBuffer(k, "in", DType::F64, 2, false);
  int out = addBuffer(k, "out", DType::I32, 2, true);
  Expr v = load(k, in, var(k.iter0));
  Expr isBig = binary(BinaryOp::Ge, unary(UnaryOp::Abs, v), constant(DType::F64, INFINITY));
  k.body = {ifThen(isBig, {store(k, out, var(k.iter0), constant(DType::I32, -7))},
                   {store(k, out, var(k.iter0), cast(DType::I32, binary(BinaryOp::Max, v, constant(DType::F64, 1.25))))})};
  verify(k);
  EXPECT_EQ(print(k),
            "kernel misc(in: f64[2], out: i32[2] out) over v0 < 1, v1 < 1 {\n"
            "  if (abs(in[v0]) >= inf:f64) {\n"
            "    out[v0] = -7:i32\n"
            "  } else {\n"
            "    out[v0] = cast<i32>(max(in[v0], 1.25:f64))\n"
            "  }\n"
            "}\n");
}

TEST(KernelIR, ConstructorsCheckDtypes) {
  Kernel k;
  k.name = "k";
  int f = addBuffer(k, "f", DType::F32, 4, false);
  int h = addBuffer(k, "h", DType::F16, 4, true);
  Expr fl = load(k, f, intConstant(0));
  EXPECT_NE(internalErrorOf([&] { binary(BinaryOp::Add, fl, intConstant(1)); }).find("differ in dtype: f32 and i64"),
            std::string::npos);
  EXPECT_NE(internalErrorOf([&] { unary(UnaryOp::Exp, intConstant(1)); }).find("exp wants f32 or f64, found i64"),
            std::string::npos);
  EXPECT_NE(internalErrorOf([&] { unary(UnaryOp::Not, fl); }).find("not wants bool"), std::string::npos);
  EXPECT_NE(internalErrorOf([&] { binary(BinaryOp::Shl, intConstant(1), intConstant(2)); }).find("unsigned"),
            std::string::npos);
  // F16 is a storage type: arithmetic needs a cast to F32 first.
  Expr hl = load(k, h, intConstant(0));
  EXPECT_NE(internalErrorOf([&] { binary(BinaryOp::Add, hl, hl); }).find("found f16"), std::string::npos);
  EXPECT_EQ(cast(DType::F32, hl)->dtype, DType::F32);
  EXPECT_NE(internalErrorOf([&] { store(k, f, intConstant(0), fl); }).find("read-only"), std::string::npos);
  EXPECT_NE(internalErrorOf([&] { store(k, h, intConstant(0), fl); }).find("store of f32 into buffer h of f16"),
            std::string::npos);
  EXPECT_NE(internalErrorOf([&] { load(k, 5, intConstant(0)); }).find("buffer 5"), std::string::npos);
  EXPECT_NE(internalErrorOf([&] { load(k, f, fl); }).find("index must be i64"), std::string::npos);
  EXPECT_NE(internalErrorOf([&] { select(fl, fl, fl); }).find("condition must be bool"), std::string::npos);
  EXPECT_EQ(binary(BinaryOp::Lt, fl, fl)->dtype, DType::Bool);
  EXPECT_EQ(unary(UnaryOp::IsNaN, fl)->dtype, DType::Bool);
  EXPECT_EQ(constant(DType::Bool, 3)->dtype, DType::Bool);
  EXPECT_EQ(std::get<ConstExpr>(constant(DType::Bool, 3)->kind).intValue, 1);
}

TEST(KernelIR, VerifierRejectsOutOfScopeVariables) {
  Kernel k = rowSumKernel();
  // Read the loop variable after its loop.
  Var j{3, DType::I64};
  k.body.push_back(store(k, 2, var(j), constant(DType::F32, 1)));
  EXPECT_NE(internalErrorOf([&] { verify(k); }).find("v3 used out of scope"), std::string::npos);
}

TEST(KernelIR, VerifierRejectsAssignmentToLoopVariable) {
  Kernel k = rowSumKernel();
  k.body.push_back(assign(k.iter0, intConstant(1)));
  EXPECT_NE(internalErrorOf([&] { verify(k); }).find("loop or iteration variable"), std::string::npos);
}

TEST(KernelIR, VerifierRejectsUnnumberedVariablesAndBadNames) {
  Kernel k = rowSumKernel();
  Var stray{17, DType::F32};
  k.body.push_back(declare(stray, constant(DType::F32, 0)));
  EXPECT_NE(internalErrorOf([&] { verify(k); }).find("outside [0, numVars = 4)"), std::string::npos);
  Kernel bad = rowSumKernel();
  bad.name = "1abc";
  EXPECT_NE(internalErrorOf([&] { verify(bad); }).find("not a C identifier"), std::string::npos);
}

TEST(KernelIR, VerifierRechecksHandBuiltNodes) {
  Kernel k = rowSumKernel();
  // A node whose recorded dtype disagrees with its operands.
  auto wrong = std::make_shared<const ExprNode>(
      ExprNode{DType::I32, BinaryExpr{BinaryOp::Add, constant(DType::F32, 1), constant(DType::F32, 2)}});
  k.body.push_back(declare(Var{3, DType::I32}, wrong));
  EXPECT_NE(internalErrorOf([&] { verify(k); }).find("dtype is i32 but its operands give f32"), std::string::npos);
  // A redeclaration in an inner scope of a variable already in scope.
  Kernel r = rowSumKernel();
  r.body.push_back(forLoop(Var{2, DType::I64}, intConstant(0), intConstant(1), {}));
  EXPECT_NE(internalErrorOf([&] { verify(r); }).find("already in scope"), std::string::npos);
}
