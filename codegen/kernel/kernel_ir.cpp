// Kernel IR constructors (with their dtype rules), the text printer and the
// verifier. The dtype rules live in one place (checkUnary/checkBinary/...)
// and are used both by the constructors and by verify(), so that a kernel
// built by hand (struct literals) is held to the same rules.
#include "codegen/kernel/kernel_ir.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <unordered_map>

#include "support/error.h"

namespace dlc::codegen::kir {
namespace {

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw InternalError("kernel IR: " + fmt::format(f, std::forward<Args>(args)...));
}

std::string_view name(DType t) { return ir::dtypeName(t); }

// Dtypes arithmetic happens in: F16/BF16 are storage types only (the
// lowering casts them to F32 first).
bool isComputeFloat(DType t) { return t == DType::F32 || t == DType::F64; }
bool isNumeric(DType t) { return isComputeFloat(t) || ir::isInteger(t); }
bool isUnsigned(DType t) { return ir::isInteger(t) && !ir::isSigned(t); }

const char* unaryName(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return "neg";
    case UnaryOp::Abs: return "abs";
    case UnaryOp::Not: return "not";
    case UnaryOp::BitNot: return "bitnot";
    case UnaryOp::Sign: return "sign";
    case UnaryOp::Reciprocal: return "reciprocal";
    case UnaryOp::Exp: return "exp";
    case UnaryOp::Log: return "log";
    case UnaryOp::Sqrt: return "sqrt";
    case UnaryOp::Rsqrt: return "rsqrt";
    case UnaryOp::Tanh: return "tanh";
    case UnaryOp::Sigmoid: return "sigmoid";
    case UnaryOp::Erf: return "erf";
    case UnaryOp::Floor: return "floor";
    case UnaryOp::Ceil: return "ceil";
    case UnaryOp::Round: return "round";
    case UnaryOp::Sin: return "sin";
    case UnaryOp::Cos: return "cos";
    case UnaryOp::Tan: return "tan";
    case UnaryOp::Asin: return "asin";
    case UnaryOp::Acos: return "acos";
    case UnaryOp::Atan: return "atan";
    case UnaryOp::Sinh: return "sinh";
    case UnaryOp::Cosh: return "cosh";
    case UnaryOp::Asinh: return "asinh";
    case UnaryOp::Acosh: return "acosh";
    case UnaryOp::Atanh: return "atanh";
    case UnaryOp::IsNaN: return "isnan";
    case UnaryOp::IsInf: return "isinf";
  }
  return "?";
}

// Infix spelling, or nullptr for ops printed as calls.
const char* binaryInfix(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Rem: return "%";
    case BinaryOp::And: return "&";
    case BinaryOp::Or: return "|";
    case BinaryOp::Xor: return "^";
    case BinaryOp::Shl: return "<<";
    case BinaryOp::Shr: return ">>";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::Min:
    case BinaryOp::Max:
    case BinaryOp::Pow: return nullptr;
  }
  return nullptr;
}

const char* binaryName(BinaryOp op) {
  switch (op) {
    case BinaryOp::Min: return "min";
    case BinaryOp::Max: return "max";
    case BinaryOp::Pow: return "pow";
    default: return binaryInfix(op);
  }
}

// The result dtype of a unary op on `t`, or a failure naming the op.
DType checkUnary(UnaryOp op, DType t) {
  auto bad = [&](const char* want) -> DType {
    fail("{} wants {}, found {}", unaryName(op), want, name(t));
  };
  switch (op) {
    case UnaryOp::Not:
      if (t != DType::Bool) bad("bool");
      return t;
    case UnaryOp::BitNot:
      if (!ir::isInteger(t)) bad("an integer");
      return t;
    case UnaryOp::Neg:
    case UnaryOp::Abs:
    case UnaryOp::Sign:
      if (!isNumeric(t)) bad("f32, f64 or an integer");
      return t;
    case UnaryOp::IsNaN:
    case UnaryOp::IsInf:
      if (!isComputeFloat(t)) bad("f32 or f64");
      return DType::Bool;
    case UnaryOp::Reciprocal:
    case UnaryOp::Exp:
    case UnaryOp::Log:
    case UnaryOp::Sqrt:
    case UnaryOp::Rsqrt:
    case UnaryOp::Tanh:
    case UnaryOp::Sigmoid:
    case UnaryOp::Erf:
    case UnaryOp::Floor:
    case UnaryOp::Ceil:
    case UnaryOp::Round:
    case UnaryOp::Sin:
    case UnaryOp::Cos:
    case UnaryOp::Tan:
    case UnaryOp::Asin:
    case UnaryOp::Acos:
    case UnaryOp::Atan:
    case UnaryOp::Sinh:
    case UnaryOp::Cosh:
    case UnaryOp::Asinh:
    case UnaryOp::Acosh:
    case UnaryOp::Atanh:
      if (!isComputeFloat(t)) bad("f32 or f64");
      return t;
  }
  fail("unknown unary op");
}

DType checkBinary(BinaryOp op, DType l, DType r) {
  if (l != r) fail("{} operands differ in dtype: {} and {}", binaryName(op), name(l), name(r));
  auto bad = [&](const char* want) -> DType {
    fail("{} wants {}, found {}", binaryName(op), want, name(l));
  };
  switch (op) {
    case BinaryOp::Add:
    case BinaryOp::Sub:
    case BinaryOp::Mul:
    case BinaryOp::Div:
    case BinaryOp::Rem:
    case BinaryOp::Min:
    case BinaryOp::Max:
    case BinaryOp::Pow:
      if (!isNumeric(l)) bad("f32, f64 or an integer");
      return l;
    case BinaryOp::And:
    case BinaryOp::Or:
    case BinaryOp::Xor:
      if (l != DType::Bool && !ir::isInteger(l)) bad("bool or an integer");
      return l;
    case BinaryOp::Shl:
    case BinaryOp::Shr:
      if (!isUnsigned(l)) bad("an unsigned integer");
      return l;
    case BinaryOp::Eq:
    case BinaryOp::Ne:
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::Gt:
    case BinaryOp::Ge:
      if (!isNumeric(l) && l != DType::Bool) bad("f32, f64, an integer or bool");
      return DType::Bool;
  }
  fail("unknown binary op");
}

void checkDefined(DType t, const char* what) {
  if (t == DType::Undefined) fail("{} has an undefined dtype", what);
}

void checkBuffer(const Kernel& k, int buffer, const char* what) {
  if (buffer < 0 || buffer >= int(k.buffers.size()))
    fail("{} of buffer {} in kernel {}, which has {} buffers", what, buffer, k.name, k.buffers.size());
}

void checkI64(const Expr& e, const char* what) {
  if (!e) fail("{} is null", what);
  if (e->dtype != DType::I64) fail("{} must be i64, found {}", what, name(e->dtype));
}

Expr make(DType t, decltype(ExprNode::kind) kind) {
  return std::make_shared<const ExprNode>(ExprNode{t, std::move(kind)});
}
Stmt makeStmt(decltype(StmtNode::kind) kind) {
  return std::make_shared<const StmtNode>(StmtNode{std::move(kind)});
}

void notNull(const Expr& e, const char* what) {
  if (!e) fail("{} is null", what);
}

}  // namespace

// ---------------------------------------------------------------- builders

Expr constant(DType dtype, double value) {
  checkDefined(dtype, "a constant");
  ConstExpr c{dtype};
  if (ir::isFloat(dtype)) {
    c.floatValue = value;
  } else {
    if (std::isnan(value)) fail("NaN constant of integer dtype {}", name(dtype));
    c.intValue = dtype == DType::Bool ? (value != 0) : int64_t(value);
  }
  return make(dtype, c);
}

Expr intConstant(int64_t value) {
  ConstExpr c{DType::I64};
  c.intValue = value;
  return make(DType::I64, c);
}

Expr var(Var v) {
  checkDefined(v.dtype, "a variable");
  if (v.id < 0) fail("variable with negative id {}", v.id);
  return make(v.dtype, VarExpr{v});
}

Expr load(const Kernel& k, int buffer, Expr index) {
  checkBuffer(k, buffer, "load");
  checkI64(index, "a load index");
  return make(k.buffers[buffer].dtype, LoadExpr{buffer, std::move(index)});
}

Expr unary(UnaryOp op, Expr operand) {
  notNull(operand, "a unary operand");
  DType t = checkUnary(op, operand->dtype);
  return make(t, UnaryExpr{op, std::move(operand)});
}

Expr binary(BinaryOp op, Expr lhs, Expr rhs) {
  notNull(lhs, "a binary operand");
  notNull(rhs, "a binary operand");
  DType t = checkBinary(op, lhs->dtype, rhs->dtype);
  return make(t, BinaryExpr{op, std::move(lhs), std::move(rhs)});
}

Expr select(Expr condition, Expr ifTrue, Expr ifFalse) {
  notNull(condition, "a select condition");
  notNull(ifTrue, "a select operand");
  notNull(ifFalse, "a select operand");
  if (condition->dtype != DType::Bool) fail("select condition must be bool, found {}", name(condition->dtype));
  if (ifTrue->dtype != ifFalse->dtype)
    fail("select operands differ in dtype: {} and {}", name(ifTrue->dtype), name(ifFalse->dtype));
  DType t = ifTrue->dtype;
  return make(t, SelectExpr{std::move(condition), std::move(ifTrue), std::move(ifFalse)});
}

Expr cast(DType to, Expr operand) {
  notNull(operand, "a cast operand");
  checkDefined(to, "a cast target");
  return make(to, CastExpr{to, std::move(operand)});
}

Stmt forLoop(Var v, Expr begin, Expr end, Block body) {
  if (v.dtype != DType::I64) fail("loop variable v{} must be i64, found {}", v.id, name(v.dtype));
  checkI64(begin, "a loop bound");
  checkI64(end, "a loop bound");
  return makeStmt(ForStmt{v, std::move(begin), std::move(end), std::move(body)});
}

Stmt rowLoop(Var v, Expr begin, Expr end, Block body, std::vector<LoopReduction> reductions) {
  Stmt loop = forLoop(v, std::move(begin), std::move(end), std::move(body));
  ForStmt f = std::get<ForStmt>(loop->kind);
  f.rowShared = true;
  for (const LoopReduction& r : reductions) {
    if (r.acc.dtype != DType::F32 && r.acc.dtype != DType::F64)
      fail("row-loop reduction v{} must be f32 or f64, found {}", r.acc.id, name(r.acc.dtype));
    if (r.combine != BinaryOp::Add && r.combine != BinaryOp::Mul && r.combine != BinaryOp::Max &&
        r.combine != BinaryOp::Min)
      fail("row-loop reduction v{} combines with {} (Add, Mul, Max or Min only)", r.acc.id, binaryName(r.combine));
  }
  f.reductions = std::move(reductions);
  return makeStmt(std::move(f));
}

bool hasRowLoops(const Kernel& k) {
  for (const Stmt& s : k.body)
    if (const auto* f = std::get_if<ForStmt>(&s->kind); f && f->rowShared) return true;
  return false;
}

namespace {

// Marks in `loaded` / `stored` the buffers the expression or block reads and writes.
void markAccesses(const Expr& e, std::vector<bool>& loaded) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, LoadExpr>) {
          loaded[size_t(x.buffer)] = true;
          markAccesses(x.index, loaded);
        } else if constexpr (std::is_same_v<T, UnaryExpr> || std::is_same_v<T, CastExpr>) {
          markAccesses(x.operand, loaded);
        } else if constexpr (std::is_same_v<T, BinaryExpr>) {
          markAccesses(x.lhs, loaded);
          markAccesses(x.rhs, loaded);
        } else if constexpr (std::is_same_v<T, SelectExpr>) {
          markAccesses(x.condition, loaded);
          markAccesses(x.ifTrue, loaded);
          markAccesses(x.ifFalse, loaded);
        }
      },
      e->kind);
}

void markAccesses(const Block& block, std::vector<bool>& loaded, std::vector<bool>& stored) {
  for (const Stmt& s : block)
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, ForStmt>) {
            markAccesses(x.begin, loaded);
            markAccesses(x.end, loaded);
            markAccesses(x.body, loaded, stored);
          } else if constexpr (std::is_same_v<T, StoreStmt>) {
            stored[size_t(x.buffer)] = true;
            markAccesses(x.index, loaded);
            markAccesses(x.value, loaded);
          } else if constexpr (std::is_same_v<T, DeclareStmt>) {
            markAccesses(x.init, loaded);
          } else if constexpr (std::is_same_v<T, AssignStmt>) {
            markAccesses(x.value, loaded);
          } else {
            markAccesses(x.condition, loaded);
            markAccesses(x.thenBody, loaded, stored);
            markAccesses(x.elseBody, loaded, stored);
          }
        },
        s->kind);
}

}  // namespace

std::vector<bool> loadedAndStoredBuffers(const Kernel& k) {
  std::vector<bool> loaded(k.buffers.size()), stored(k.buffers.size());
  markAccesses(k.body, loaded, stored);
  for (size_t i = 0; i < loaded.size(); ++i) loaded[i] = loaded[i] && stored[i];
  return loaded;
}

Stmt store(const Kernel& k, int buffer, Expr index, Expr value) {
  checkBuffer(k, buffer, "store");
  if (!k.buffers[buffer].written) fail("store to read-only buffer {} ({})", buffer, k.buffers[buffer].name);
  checkI64(index, "a store index");
  notNull(value, "a stored value");
  if (value->dtype != k.buffers[buffer].dtype)
    fail("store of {} into buffer {} of {}", name(value->dtype), k.buffers[buffer].name,
         name(k.buffers[buffer].dtype));
  return makeStmt(StoreStmt{buffer, std::move(index), std::move(value)});
}

Stmt declare(Var v, Expr init) {
  notNull(init, "an initial value");
  if (init->dtype != v.dtype)
    fail("v{} of {} initialised with {}", v.id, name(v.dtype), name(init->dtype));
  return makeStmt(DeclareStmt{v, std::move(init)});
}

Stmt assign(Var v, Expr value) {
  notNull(value, "an assigned value");
  if (value->dtype != v.dtype) fail("v{} of {} assigned {}", v.id, name(v.dtype), name(value->dtype));
  return makeStmt(AssignStmt{v, std::move(value)});
}

Stmt ifThen(Expr condition, Block thenBody, Block elseBody) {
  notNull(condition, "an if condition");
  if (condition->dtype != DType::Bool) fail("if condition must be bool, found {}", name(condition->dtype));
  return makeStmt(IfStmt{std::move(condition), std::move(thenBody), std::move(elseBody)});
}

Var newVar(Kernel& k, DType dtype) {
  checkDefined(dtype, "a variable");
  return Var{k.numVars++, dtype};
}

int addBuffer(Kernel& k, std::string bufferName, DType dtype, int64_t numElements, bool written) {
  checkDefined(dtype, "a buffer");
  if (numElements < 0) fail("buffer {} with {} elements", bufferName, numElements);
  k.buffers.push_back(BufferParam{std::move(bufferName), dtype, numElements, written});
  return int(k.buffers.size()) - 1;
}

// ---------------------------------------------------------------- printer

namespace {

std::string printConst(const ConstExpr& c) {
  if (c.dtype == DType::Bool) return c.intValue ? "true" : "false";
  if (ir::isFloat(c.dtype)) {
    double v = c.floatValue;
    std::string s = std::isnan(v) ? "nan" : std::isinf(v) ? (v < 0 ? "-inf" : "inf") : fmt::format("{}", v);
    return fmt::format("{}:{}", s, name(c.dtype));
  }
  if (c.dtype == DType::I64) return fmt::format("{}", c.intValue);
  return fmt::format("{}:{}", c.intValue, name(c.dtype));
}

struct Printer {
  const Kernel& k;
  std::string out;

  std::string bufferName(int b) const {
    if (b >= 0 && b < int(k.buffers.size())) return k.buffers[b].name;
    return fmt::format("<buffer {}>", b);
  }

  std::string expr(const Expr& e) const {
    if (!e) return "<null>";
    return std::visit(
        [&](const auto& x) -> std::string {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, ConstExpr>) {
            return printConst(x);
          } else if constexpr (std::is_same_v<T, VarExpr>) {
            return fmt::format("v{}", x.var.id);
          } else if constexpr (std::is_same_v<T, LoadExpr>) {
            return fmt::format("{}[{}]", bufferName(x.buffer), expr(x.index));
          } else if constexpr (std::is_same_v<T, UnaryExpr>) {
            return fmt::format("{}({})", unaryName(x.op), expr(x.operand));
          } else if constexpr (std::is_same_v<T, BinaryExpr>) {
            if (const char* infix = binaryInfix(x.op))
              return fmt::format("({} {} {})", expr(x.lhs), infix, expr(x.rhs));
            return fmt::format("{}({}, {})", binaryName(x.op), expr(x.lhs), expr(x.rhs));
          } else if constexpr (std::is_same_v<T, SelectExpr>) {
            return fmt::format("select({}, {}, {})", expr(x.condition), expr(x.ifTrue), expr(x.ifFalse));
          } else {
            static_assert(std::is_same_v<T, CastExpr>);
            return fmt::format("cast<{}>({})", name(x.to), expr(x.operand));
          }
        },
        e->kind);
  }

  void line(int depth, const std::string& s) {
    out.append(size_t(depth) * 2, ' ');
    out += s;
    out += '\n';
  }

  void block(const Block& b, int depth) {
    for (const Stmt& s : b) stmt(s, depth);
  }

  void stmt(const Stmt& s, int depth) {
    if (!s) return line(depth, "<null>");
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, ForStmt>) {
            std::string head = fmt::format("for v{} in [{}, {})", x.var.id, expr(x.begin), expr(x.end));
            if (x.rowShared) {
              head = "row " + head;
              for (const LoopReduction& r : x.reductions)
                head += fmt::format(" reduce v{} {}", r.acc.id, binaryName(r.combine));
            }
            line(depth, head + " {");
            block(x.body, depth + 1);
            line(depth, "}");
          } else if constexpr (std::is_same_v<T, StoreStmt>) {
            line(depth, fmt::format("{}[{}] = {}", bufferName(x.buffer), expr(x.index), expr(x.value)));
          } else if constexpr (std::is_same_v<T, DeclareStmt>) {
            line(depth, fmt::format("var v{}: {} = {}", x.var.id, name(x.var.dtype), expr(x.init)));
          } else if constexpr (std::is_same_v<T, AssignStmt>) {
            line(depth, fmt::format("v{} = {}", x.var.id, expr(x.value)));
          } else {
            static_assert(std::is_same_v<T, IfStmt>);
            line(depth, fmt::format("if {} {{", expr(x.condition)));
            block(x.thenBody, depth + 1);
            if (!x.elseBody.empty()) {
              line(depth, "} else {");
              block(x.elseBody, depth + 1);
            }
            line(depth, "}");
          }
        },
        s->kind);
  }
};

}  // namespace

std::string print(const Kernel& k) {
  Printer p{k, {}};
  std::vector<std::string> params;
  for (const BufferParam& b : k.buffers)
    params.push_back(fmt::format("{}: {}[{}]{}", b.name, name(b.dtype), b.numElements, b.written ? " out" : ""));
  p.out = fmt::format("kernel {}({}) over v{} < {}, v{} < {}{} {{\n", k.name, fmt::join(params, ", "), k.iter0.id,
                      k.extent0, k.iter1.id, k.extent1, k.allowReassociation ? " reassoc" : "");
  p.block(k.body, 1);
  p.out += "}\n";
  return p.out;
}

// ---------------------------------------------------------------- verifier

namespace {

struct Verifier {
  const Kernel& k;
  // Variables in scope: id -> (dtype, mutable).
  struct Binding {
    DType dtype;
    bool isMutable;
  };
  std::unordered_map<int, Binding> scope;
  int depth = 0;  // of the statement being checked: 0 at the kernel body's top level
  // Inside a row loop: its reductions (acc id -> combine).
  std::unordered_map<int, BinaryOp> reducing;

  void bind(Var v, bool isMutable, const char* what) {
    if (v.id < 0 || v.id >= k.numVars)
      fail("{} v{} in kernel {} is outside [0, numVars = {})", what, v.id, k.name, k.numVars);
    checkDefined(v.dtype, what);
    if (scope.count(v.id)) fail("{} v{} in kernel {} is already in scope", what, v.id, k.name);
    scope[v.id] = Binding{v.dtype, isMutable};
  }

  DType expr(const Expr& e) {
    if (!e) fail("null expression in kernel {}", k.name);
    DType result = std::visit(
        [&](const auto& x) -> DType {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, ConstExpr>) {
            checkDefined(x.dtype, "a constant");
            return x.dtype;
          } else if constexpr (std::is_same_v<T, VarExpr>) {
            auto it = scope.find(x.var.id);
            if (it == scope.end()) fail("v{} used out of scope in kernel {}", x.var.id, k.name);
            if (reducing.count(x.var.id))
              fail("v{} is reduced by a row loop of kernel {} and read other than as v = combine(v, e)", x.var.id,
                   k.name);
            if (it->second.dtype != x.var.dtype)
              fail("v{} used as {} but declared {}", x.var.id, name(x.var.dtype), name(it->second.dtype));
            return x.var.dtype;
          } else if constexpr (std::is_same_v<T, LoadExpr>) {
            checkBuffer(k, x.buffer, "load");
            if (expr(x.index) != DType::I64) fail("load index must be i64 in kernel {}", k.name);
            return k.buffers[x.buffer].dtype;
          } else if constexpr (std::is_same_v<T, UnaryExpr>) {
            return checkUnary(x.op, expr(x.operand));
          } else if constexpr (std::is_same_v<T, BinaryExpr>) {
            DType l = expr(x.lhs);
            DType r = expr(x.rhs);
            return checkBinary(x.op, l, r);
          } else if constexpr (std::is_same_v<T, SelectExpr>) {
            if (expr(x.condition) != DType::Bool) fail("select condition must be bool in kernel {}", k.name);
            DType a = expr(x.ifTrue), b = expr(x.ifFalse);
            if (a != b) fail("select operands differ in dtype: {} and {}", name(a), name(b));
            return a;
          } else {
            static_assert(std::is_same_v<T, CastExpr>);
            expr(x.operand);
            checkDefined(x.to, "a cast target");
            return x.to;
          }
        },
        e->kind);
    if (result != e->dtype)
      fail("expression's dtype is {} but its operands give {} in kernel {}", name(e->dtype), name(result), k.name);
    return result;
  }

  void block(const Block& b) {
    std::vector<int> declared;
    for (const Stmt& s : b) {
      if (!s) fail("null statement in kernel {}", k.name);
      if (auto* d = std::get_if<DeclareStmt>(&s->kind)) {
        DType t = expr(d->init);
        if (t != d->var.dtype) fail("v{} of {} initialised with {}", d->var.id, name(d->var.dtype), name(t));
        bind(d->var, true, "declared variable");
        declared.push_back(d->var.id);
      } else {
        stmt(*s);
      }
    }
    for (int id : declared) scope.erase(id);
  }

  void stmt(const StmtNode& s) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, ForStmt>) {
            if (expr(x.begin) != DType::I64 || expr(x.end) != DType::I64)
              fail("loop bounds of v{} must be i64 in kernel {}", x.var.id, k.name);
            if (x.var.dtype != DType::I64) fail("loop variable v{} must be i64", x.var.id);
            if (x.rowShared && depth != 0) fail("row loop v{} is not at the top level of kernel {}", x.var.id, k.name);
            if (!x.rowShared && !x.reductions.empty()) fail("loop v{} has reductions but is not a row loop", x.var.id);
            for (const LoopReduction& r : x.reductions) {
              auto it = scope.find(r.acc.id);
              if (it == scope.end() || !it->second.isMutable || it->second.dtype != r.acc.dtype)
                fail("row-loop reduction v{} of kernel {} is not a declared {} variable", r.acc.id, k.name,
                     name(r.acc.dtype));
              if (!reducing.emplace(r.acc.id, r.combine).second)
                fail("row loop v{} reduces v{} twice", x.var.id, r.acc.id);
            }
            bind(x.var, false, "loop variable");
            ++depth;
            block(x.body);
            --depth;
            scope.erase(x.var.id);
            reducing.clear();
          } else if constexpr (std::is_same_v<T, StoreStmt>) {
            checkBuffer(k, x.buffer, "store");
            const BufferParam& b = k.buffers[x.buffer];
            if (!b.written) fail("store to read-only buffer {} in kernel {}", b.name, k.name);
            if (expr(x.index) != DType::I64) fail("store index must be i64 in kernel {}", k.name);
            DType t = expr(x.value);
            if (t != b.dtype) fail("store of {} into buffer {} of {}", name(t), b.name, name(b.dtype));
          } else if constexpr (std::is_same_v<T, DeclareStmt>) {
            fail("internal: declare handled by block");  // unreachable: block() handles it
          } else if constexpr (std::is_same_v<T, AssignStmt>) {
            auto it = scope.find(x.var.id);
            if (it == scope.end()) fail("assignment to v{}, which is not in scope, in kernel {}", x.var.id, k.name);
            if (!it->second.isMutable) fail("assignment to v{}, which is a loop or iteration variable", x.var.id);
            if (auto r = reducing.find(x.var.id); r != reducing.end()) {
              const auto* bin = std::get_if<BinaryExpr>(&x.value->kind);
              const auto* lhs = bin ? std::get_if<VarExpr>(&bin->lhs->kind) : nullptr;
              if (!bin || bin->op != r->second || !lhs || lhs->var.id != x.var.id)
                fail("row-loop reduction v{} of kernel {} must be updated as v = {}(v, e)", x.var.id, k.name,
                     binaryName(r->second));
              if (expr(bin->rhs) != it->second.dtype) fail("row-loop reduction v{} combined with another dtype", x.var.id);
              return;
            }
            DType t = expr(x.value);
            if (t != it->second.dtype) fail("v{} of {} assigned {}", x.var.id, name(it->second.dtype), name(t));
          } else {
            static_assert(std::is_same_v<T, IfStmt>);
            if (expr(x.condition) != DType::Bool) fail("if condition must be bool in kernel {}", k.name);
            ++depth;
            block(x.thenBody);
            block(x.elseBody);
            --depth;
          }
        },
        s.kind);
  }
};

bool isCIdentifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

void verify(const Kernel& k) {
  if (!isCIdentifier(k.name)) fail("kernel name '{}' is not a C identifier", k.name);
  if (k.extent0 < 0 || k.extent1 < 0) fail("kernel {} has negative extents {} x {}", k.name, k.extent0, k.extent1);
  for (const BufferParam& b : k.buffers) {
    checkDefined(b.dtype, "a buffer");
    if (b.numElements < 0) fail("buffer {} of kernel {} has {} elements", b.name, k.name, b.numElements);
  }
  if (k.iter0.id == k.iter1.id) fail("kernel {}: iteration variables share id v{}", k.name, k.iter0.id);
  Verifier v{k, {}};
  v.bind(k.iter0, false, "iteration variable");
  v.bind(k.iter1, false, "iteration variable");
  if (k.iter0.dtype != DType::I64 || k.iter1.dtype != DType::I64)
    fail("kernel {}: iteration variables must be i64", k.name);
  v.block(k.body);
}

}  // namespace dlc::codegen::kir
