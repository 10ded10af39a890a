// The loop-level kernel IR: what a fused kernel is lowered to before a
// target emitter (LLVM IR for CPUs, CUDA C++ for NVRTC) prints it. One
// lowering, two printers: a kernel that is right on one target is right on
// the other.
//
// A kernel runs over a 2-D iteration space [0, extent0) x [0, extent1). Its
// body is executed once per point (v0, v1); the runtime splits the space into
// tiles (threads on CPU, blocks on GPU) and calls the compiled function once
// per tile. Inside the body, serial `For` loops (reductions, row passes) and
// mutable scalar variables are allowed. Buffers are flat arrays of one dtype
// indexed by an i64 element offset.
//
// Compiled calling convention (C ABI, every target):
//   void <name>(void* const* buffers, const int64_t* range)
// where range = {begin0, end0, begin1, end1} is the tile to execute and
// buffers[i] points to kernel.buffers[i]'s first element.
//
// Semantics the emitters must honour (the reference interpreter's):
//  - float Min/Max propagate NaN; comparisons with NaN are false (Ne true);
//  - integer Div/Rem truncate toward zero; division or remainder by zero and
//    INT_MIN / -1 give 0 (never a trap or undefined behaviour);
//  - Rem on floats is C fmod; Pow is C pow;
//  - Cast float -> integer truncates toward zero and saturates (NaN -> 0);
//    Cast to Bool is (x != 0); Bool is stored as one byte holding 0 or 1;
//  - Round is round-half-to-even;
//  - F16/BF16 buffers are loaded and stored as their storage type; arithmetic
//    on them happens after a Cast to F32 (the lowering inserts the casts);
//  - Shl/Shr on unsigned integers; a shift by >= the bit width gives 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "ir/dtype.h"

namespace dlc::codegen::kir {

using ir::DType;

enum class UnaryOp {
  Neg, Abs, Not /* bool */, BitNot /* integers */, Sign, Reciprocal,
  Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Erf,
  Floor, Ceil, Round, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh,
  IsNaN /* -> Bool */, IsInf /* -> Bool, either sign */,
};
enum class BinaryOp {
  Add, Sub, Mul, Div, Rem, Min, Max, Pow,
  And, Or, Xor,  // logical on Bool, bitwise on integers
  Shl, Shr,
  Eq, Ne, Lt, Le, Gt, Ge,  // -> Bool
};

struct ExprNode;
using Expr = std::shared_ptr<const ExprNode>;

// Variables are numbered per kernel; the iteration variables v0, v1 and
// serial loop indices have dtype I64.
struct Var {
  int id = -1;
  DType dtype = DType::I64;
};

struct ConstExpr {
  DType dtype;
  double floatValue = 0;  // for float dtypes
  int64_t intValue = 0;   // for integer dtypes and Bool
};
struct VarExpr {
  Var var;
};
struct LoadExpr {
  int buffer;  // index into Kernel::buffers
  Expr index;  // I64 element offset
};
struct UnaryExpr {
  UnaryOp op;
  Expr operand;
};
struct BinaryExpr {
  BinaryOp op;
  Expr lhs, rhs;  // same dtype
};
struct SelectExpr {
  Expr condition;  // Bool
  Expr ifTrue, ifFalse;
};
struct CastExpr {
  DType to;
  Expr operand;
};

struct ExprNode {
  DType dtype;  // the result type
  std::variant<ConstExpr, VarExpr, LoadExpr, UnaryExpr, BinaryExpr, SelectExpr, CastExpr> kind;
};

struct StmtNode;
using Stmt = std::shared_ptr<const StmtNode>;
using Block = std::vector<Stmt>;

// A reduction carried by a row loop (below): `acc` is a variable declared
// before the loop that the body updates only as acc = combine(acc, e), with e
// not reading acc; combine is Add, Mul, Max or Min; acc is F32 or F64.
struct LoopReduction {
  Var acc;
  BinaryOp combine;
};

// for (var = begin; var < end; ++var) body
//
// A row loop (rowShared) is one pass over a row of the point's work whose
// iterations are independent except through `reductions`: a target may share
// its iterations among cooperating threads (CUDA: the threads of a warp or
// block each take a strided share, partial results combined as a tree), so
// reductions are reassociated and an iteration's stores are visible to the
// statements after the loop but not to other iterations. Row loops sit only
// at the top level of a kernel's body. Serial targets (LLVM) print a row loop
// exactly as a plain loop.
struct ForStmt {
  Var var;
  Expr begin, end;  // I64
  Block body;
  bool rowShared = false;
  std::vector<LoopReduction> reductions;  // only on row loops
};
struct StoreStmt {
  int buffer;
  Expr index;
  Expr value;  // the buffer's dtype
};
// Declares a mutable scalar variable with an initial value (scoped to the
// enclosing block).
struct DeclareStmt {
  Var var;
  Expr init;
};
struct AssignStmt {
  Var var;
  Expr value;
};
struct IfStmt {
  Expr condition;
  Block thenBody, elseBody;
};

struct StmtNode {
  std::variant<ForStmt, StoreStmt, DeclareStmt, AssignStmt, IfStmt> kind;
};

struct BufferParam {
  std::string name;  // for printing and debugging
  DType dtype;
  int64_t numElements;  // accessed range is [0, numElements)
  bool written;         // false: read-only
};

struct Kernel {
  std::string name;  // a C identifier, unique within a program
  std::vector<BufferParam> buffers;
  Var iter0{0}, iter1{1};
  int64_t extent0 = 1, extent1 = 1;
  Block body;
  // Float additions and multiplications may be reassociated (reductions
  // vectorise); set for kernels whose tolerance allows it.
  bool allowReassociation = false;
  int numVars = 2;  // variables are numbered [0, numVars)
};

// Expression and statement constructors (kernel_ir.cpp). Binary operands must
// have equal dtypes; the constructors check and throw InternalError.
Expr constant(DType dtype, double value);
Expr intConstant(int64_t value);  // I64
Expr var(Var v);
Expr load(const Kernel& k, int buffer, Expr index);
Expr unary(UnaryOp op, Expr operand);
Expr binary(BinaryOp op, Expr lhs, Expr rhs);
Expr select(Expr condition, Expr ifTrue, Expr ifFalse);
Expr cast(DType to, Expr operand);
Stmt forLoop(Var v, Expr begin, Expr end, Block body);
// A row loop (see ForStmt) carrying `reductions`.
Stmt rowLoop(Var v, Expr begin, Expr end, Block body, std::vector<LoopReduction> reductions = {});
Stmt store(const Kernel& k, int buffer, Expr index, Expr value);
Stmt declare(Var v, Expr init);
Stmt assign(Var v, Expr value);
Stmt ifThen(Expr condition, Block thenBody, Block elseBody = {});

// A fresh variable of the given dtype.
Var newVar(Kernel& k, DType dtype = DType::I64);
// Adds a buffer parameter; returns its index.
int addBuffer(Kernel& k, std::string name, DType dtype, int64_t numElements, bool written);

// Text form for debugging, `dlc inspect --kernels` and golden tests.
std::string print(const Kernel& k);
// Whether the kernel's body has a row loop (CUDA runs it cooperatively).
bool hasRowLoops(const Kernel& k);
// Per buffer: whether the kernel both loads from it and stores to it (a
// point reading back what it wrote: softmax's output, a workspace).
std::vector<bool> loadedAndStoredBuffers(const Kernel& k);
// Checks dtypes, variable scoping, buffer indices and the row-loop rules;
// throws InternalError.
void verify(const Kernel& k);

}  // namespace dlc::codegen::kir
