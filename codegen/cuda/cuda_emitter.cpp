// kir::Kernel -> CUDA C++. Expressions print as nested C++ expressions whose
// C++ type is exactly the kernel-IR dtype (integer arithmetic goes through
// the prelude's dlc_add/dlc_mul/... so that narrow types do not promote and
// signed overflow wraps instead of being undefined); statements print as
// C++ statements. Every switch over the op enums is exhaustive
// (-Werror=switch), as in the LLVM emitter.
#include "codegen/cuda/cuda_emitter.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "support/error.h"

namespace dlc::codegen::cuda {

using kir::BinaryOp;
using kir::DType;
using kir::UnaryOp;

namespace {

bool isF(DType t) { return t == DType::F32 || t == DType::F64; }

// The C++ type a value of dtype `t` has in a register.
std::string regType(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::F16:
    case DType::BF16: return "u16";
    case DType::I8: return "i8";
    case DType::I16: return "i16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
    case DType::U16: return "u16";
    case DType::U32: return "u32";
    case DType::U64: return "u64";
    case DType::Bool: return "bool";
    case DType::Undefined: break;
  }
  throw InternalError("CUDA emitter: undefined dtype");
}
std::string memType(DType t) { return t == DType::Bool ? "u8" : regType(t); }

// A float literal that reads back as exactly `v` (shortest round trip);
// negative ones in parentheses (so that -x never prints as --1.0f).
std::string floatLiteral(double v, DType t) {
  if (t == DType::F32) {
    float f = float(v);
    if (!std::isfinite(f)) return fmt::format("__uint_as_float(0x{:08x}u)", std::bit_cast<uint32_t>(f));
    std::string s = fmt::format("{}", f);
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return f < 0 ? "(" + s + "f)" : s + "f";
  }
  if (!std::isfinite(v)) return fmt::format("__longlong_as_double(0x{:016x}ll)", std::bit_cast<uint64_t>(v));
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return v < 0 ? "(" + s + ")" : s;
}

// Round-to-nearest-even f32 -> bf16 bits, NaN quiet (as the prelude does).
uint16_t bf16Bits(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if (std::isnan(f)) return uint16_t((x >> 16) | 0x40u);
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

std::string constant(const kir::ConstExpr& c, DType t) {
  if (isF(t)) return floatLiteral(c.floatValue, t);
  if (t == DType::F16) return fmt::format("(u16)0x{:04x}", std::bit_cast<uint16_t>(_Float16(c.floatValue)));
  if (t == DType::BF16) return fmt::format("(u16)0x{:04x}", bf16Bits(float(c.floatValue)));
  if (t == DType::Bool) return c.intValue ? "true" : "false";
  if (c.intValue >= -2147483647 && c.intValue <= 2147483647) return fmt::format("({}){}", regType(t), c.intValue);
  return fmt::format("({})0x{:x}ull", regType(t), uint64_t(c.intValue));
}

// C math function for f32 (suffix f) or f64.
std::string math(const char* base, DType t) { return t == DType::F32 ? std::string(base) + "f" : base; }

std::string sanitizeComment(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '*' || c == '\\') c = ' ';
  return s;
}

// Whether a statement (at any depth) stores.
bool stores(const kir::Stmt& s) {
  return std::visit(
      [](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, kir::StoreStmt>) return true;
        else if constexpr (std::is_same_v<T, kir::ForStmt>) {
          for (const kir::Stmt& b : x.body)
            if (stores(b)) return true;
          return false;
        } else if constexpr (std::is_same_v<T, kir::IfStmt>) {
          for (const kir::Stmt& b : x.thenBody)
            if (stores(b)) return true;
          for (const kir::Stmt& b : x.elseBody)
            if (stores(b)) return true;
          return false;
        } else {
          return false;
        }
      },
      s->kind);
}

const char* combineFunctor(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "dlc_op_add";
    case BinaryOp::Mul: return "dlc_op_mul";
    case BinaryOp::Max: return "dlc_op_max";
    case BinaryOp::Min: return "dlc_op_min";
    default: break;
  }
  throw InternalError("CUDA emitter: a row-loop reduction combines with an op other than Add, Mul, Max, Min");
}

class Emitter {
 public:
  Emitter(const kir::Kernel& k, unsigned rowThreads) : k_(k), shape_(launchShape(k, 65535, rowThreads)) {}

  std::string run() {
    kir::verify(k_);
    std::string out;
    int64_t points = k_.extent0 * k_.extent1;
    out += fmt::format("// {}: {} x {} points; launch {}\n", k_.name, k_.extent0, k_.extent1, describeLaunch(shape_));
    std::vector<std::string> params;
    for (size_t i = 0; i < k_.buffers.size(); ++i) {
      const kir::BufferParam& b = k_.buffers[i];
      out += fmt::format("//   b{}: {} {}[{}]{}\n", i, sanitizeComment(b.name), ir::dtypeName(b.dtype), b.numElements,
                         b.written ? " (written)" : "");
      params.push_back(fmt::format("{} b{}", bufferParamType(b), i));
    }
    params_ = params;
    if (shape_.rowThreads > 1) return cooperative(out);
    if (planVectors()) return vectorised(out);
    out += fmt::format("extern \"C\" __global__ void __launch_bounds__({}) {}({}) {{\n", shape_.block, k_.name,
                       fmt::join(params, ", "));
    out += fmt::format(
        "  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < {}ll; i += (i64)gridDim.x * blockDim.x) {{\n",
        points);
    pointVars(out);
    block(k_.body, 2, out);
    out += "  }\n}\n";
    return out;
  }

 private:
  void pointVars(std::string& out, int depth = 2) {
    std::string v0 = name(k_.iter0), v1 = name(k_.iter1), in = indent(depth);
    if (k_.extent1 == 1) {
      out += fmt::format("{0}const i64 {1} = i;\n{0}const i64 {2} = 0;\n", in, v0, v1);
    } else if (k_.extent0 == 1) {
      out += fmt::format("{0}const i64 {1} = 0;\n{0}const i64 {2} = i;\n", in, v0, v1);
    } else {
      out += fmt::format("{0}const i64 {1} = i / {3}ll;\n{0}const i64 {2} = i % {3}ll;\n", in, v0, v1, k_.extent1);
    }
  }

  // ------------------------------------------------------------ vectors
  // An elementwise kernel (straight-line body, every store at the point's
  // linear index v0 * extent1 + v1) moves its 4-byte buffers accessed at
  // the linear index as 16-byte vectors: each thread takes 4 consecutive
  // points, loads one dlc_vec4 per such buffer, runs the body for the 4
  // points on registers and stores the vectors. A written vectorised buffer
  // must be read at the linear index only (its register copy is then exact).
  // The kernel checks the buffers' 16-byte alignment at run time and runs
  // the scalar loop for whatever the vectors did not cover.
  bool isLinear(const kir::Expr& e) const {
    if (const auto* v = std::get_if<kir::VarExpr>(&e->kind)) return k_.extent1 == 1 && v->var.id == k_.iter0.id;
    const auto* add = std::get_if<kir::BinaryExpr>(&e->kind);
    if (!add || add->op != BinaryOp::Add) return false;
    const auto* mul = std::get_if<kir::BinaryExpr>(&add->lhs->kind);
    const auto* v1 = std::get_if<kir::VarExpr>(&add->rhs->kind);
    if (!mul || mul->op != BinaryOp::Mul || !v1 || v1->var.id != k_.iter1.id) return false;
    const auto* v0 = std::get_if<kir::VarExpr>(&mul->lhs->kind);
    const auto* c = std::get_if<kir::ConstExpr>(&mul->rhs->kind);
    return v0 && v0->var.id == k_.iter0.id && c && c->intValue == k_.extent1;
  }
  static bool fourBytes(DType t) { return t == DType::F32 || t == DType::I32 || t == DType::U32; }

  // Visits every load in an expression.
  template <class F>
  static void loads(const kir::Expr& e, const F& f) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, kir::LoadExpr>) {
            f(x);
            loads(x.index, f);
          } else if constexpr (std::is_same_v<T, kir::UnaryExpr>) {
            loads(x.operand, f);
          } else if constexpr (std::is_same_v<T, kir::BinaryExpr>) {
            loads(x.lhs, f);
            loads(x.rhs, f);
          } else if constexpr (std::is_same_v<T, kir::SelectExpr>) {
            loads(x.condition, f);
            loads(x.ifTrue, f);
            loads(x.ifFalse, f);
          } else if constexpr (std::is_same_v<T, kir::CastExpr>) {
            loads(x.operand, f);
          }
        },
        e->kind);
  }

  bool planVectors() {
    // Small kernels are bound by launch latency, not bandwidth: scalar only
    // (the vector copy of the body doubles NVRTC's time for them).
    if (k_.extent0 * k_.extent1 < kMinVectorPoints) return false;
    vector_.assign(k_.buffers.size(), false);
    std::vector<bool> written(k_.buffers.size(), false), otherLoad(k_.buffers.size(), false);
    bool anyStore = false;
    auto onLoad = [&](const kir::LoadExpr& l) {
      if (isLinear(l.index) && fourBytes(k_.buffers[size_t(l.buffer)].dtype)) vector_[size_t(l.buffer)] = true;
      else otherLoad[size_t(l.buffer)] = true;
    };
    for (const kir::Stmt& st : k_.body) {
      if (const auto* d = std::get_if<kir::DeclareStmt>(&st->kind)) {
        loads(d->init, onLoad);
      } else if (const auto* a = std::get_if<kir::AssignStmt>(&st->kind)) {
        loads(a->value, onLoad);
      } else if (const auto* w = std::get_if<kir::StoreStmt>(&st->kind)) {
        if (!isLinear(w->index) || !fourBytes(k_.buffers[size_t(w->buffer)].dtype)) return false;
        loads(w->value, onLoad);
        vector_[size_t(w->buffer)] = written[size_t(w->buffer)] = anyStore = true;
      } else {
        return false;  // loops and branches: scalar
      }
    }
    for (size_t b = 0; b < k_.buffers.size(); ++b)
      if (written[b] && otherLoad[b]) return false;
    loaded_ = std::vector<bool>(k_.buffers.size(), false);
    for (const kir::Stmt& st : k_.body) {
      auto mark = [&](const kir::LoadExpr& l) {
        if (vector_[size_t(l.buffer)] && isLinear(l.index)) loaded_[size_t(l.buffer)] = true;
      };
      if (const auto* d = std::get_if<kir::DeclareStmt>(&st->kind)) loads(d->init, mark);
      if (const auto* a = std::get_if<kir::AssignStmt>(&st->kind)) loads(a->value, mark);
      if (const auto* w = std::get_if<kir::StoreStmt>(&st->kind)) loads(w->value, mark);
    }
    return anyStore;
  }

  std::string vectorised(std::string& out) {
    int64_t points = k_.extent0 * k_.extent1, quads = points / 4;
    out += fmt::format("extern \"C\" __global__ void __launch_bounds__({}) {}({}) {{\n", shape_.block, k_.name,
                       fmt::join(params_, ", "));
    out += "  const i64 dlc_first = (i64)blockIdx.x * blockDim.x + threadIdx.x;\n";
    out += "  const i64 dlc_stride = (i64)gridDim.x * blockDim.x;\n";
    out += "  i64 dlc_scalar_from = 0;  // points below are done with vectors\n";
    std::vector<std::string> ptrs;
    for (size_t b = 0; b < k_.buffers.size(); ++b)
      if (vector_[b]) ptrs.push_back(fmt::format("(u64)b{}", b));
    out += fmt::format("  if ((({}) & 15ull) == 0) {{\n", fmt::join(ptrs, " | "));
    out += fmt::format("    for (i64 q = dlc_first; q < {}ll; q += dlc_stride) {{\n", quads);
    for (size_t b = 0; b < k_.buffers.size(); ++b) {
      if (!vector_[b]) continue;
      std::string t = regType(k_.buffers[b].dtype);
      if (loaded_[b])
        out += fmt::format("      dlc_vec4<{0}> b{1}_v = ((const dlc_vec4<{0}>*)b{1})[q];\n", t, b);
      else
        out += fmt::format("      dlc_vec4<{}> b{}_v;\n", t, b);
    }
    out += "#pragma unroll\n      for (int c = 0; c < 4; ++c) {\n        const i64 i = q * 4 + c;\n";
    pointVars(out, 4);
    inVector_ = true;
    block(k_.body, 4, out);
    inVector_ = false;
    out += "      }\n";
    for (size_t b = 0; b < k_.buffers.size(); ++b)
      if (vector_[b] && k_.buffers[b].written) out += fmt::format("      ((dlc_vec4<{0}>*)b{1})[q] = b{1}_v;\n", regType(k_.buffers[b].dtype), b);
    out += fmt::format("    }}\n    dlc_scalar_from = {}ll;\n  }}\n", quads * 4);
    out += fmt::format("  for (i64 i = dlc_scalar_from + dlc_first; i < {}ll; i += dlc_stride) {{\n", points);
    pointVars(out);
    block(k_.body, 2, out);
    out += "  }\n}\n";
    return out;
  }

  // A group of rowThreads threads per point: lane = the thread's place in
  // its group; groups of a block take consecutive points, the grid strides.
  // Every thread of a group runs the same top-level statements, so that all
  // reach the shuffles and barriers of the row loops together.
  std::string cooperative(std::string& out) {
    int64_t points = k_.extent0 * k_.extent1;
    unsigned rt = shape_.rowThreads, rows = shape_.block / rt;
    out += fmt::format("extern \"C\" __global__ void __launch_bounds__({}) {}({}) {{\n", shape_.block, k_.name,
                       fmt::join(params_, ", "));
    out += fmt::format("  const i64 dlc_lane = threadIdx.x % {}u;\n", rt);
    out += fmt::format("  for (i64 i = (i64)blockIdx.x * {} + threadIdx.x / {}u; i < {}ll; i += (i64)gridDim.x * {}) {{\n",
                       rows, rt, points, rows);
    pointVars(out);
    for (size_t i = 0; i < k_.body.size(); ++i) {
      const kir::Stmt& s = k_.body[i];
      const auto* f = std::get_if<kir::ForStmt>(&s->kind);
      if (f && f->rowShared) rowLoop(*f, 2, out);
      else std::visit([&](const auto& x) { stmt(x, 2, out); }, s->kind);
      // Stores become visible to the whole group before the next statement.
      if (i + 1 < k_.body.size() && stores(s)) out += fmt::format("    dlc_group_sync<{}>();\n", rt);
    }
    out += "  }\n}\n";
    return out;
  }

  // A row loop shared by the group: lane l runs iterations begin + l,
  // begin + l + rowThreads, ...; each reduction starts from its identity in
  // every lane and is combined over the group, then with its value before
  // the loop (so every lane ends with the same result).
  void rowLoop(const kir::ForStmt& f, int depth, std::string& out) {
    unsigned rt = shape_.rowThreads;
    std::string in = indent(depth), v = name(f.var);
    out += in + "{\n";
    for (const kir::LoopReduction& r : f.reductions) {
      std::string acc = name(r.acc), t = regType(r.acc.dtype);
      double inf = std::numeric_limits<double>::infinity();
      double identity = r.combine == BinaryOp::Add ? 0.0 : r.combine == BinaryOp::Mul ? 1.0 : r.combine == BinaryOp::Max ? -inf : inf;
      out += fmt::format("{}  const {} {}_before = {};\n{}  {} = {};\n", in, t, acc, acc, in, acc,
                         floatLiteral(identity, r.acc.dtype));
    }
    out += fmt::format("{}  for (i64 {} = {} + dlc_lane; {} < {}; {} += {}) {{\n", in, v, emit(f.begin), v, emit(f.end), v, rt);
    inRowLoop_ = true;
    block(f.body, depth + 2, out);
    inRowLoop_ = false;
    out += in + "  }\n";
    for (const kir::LoopReduction& r : f.reductions) {
      std::string acc = name(r.acc);
      std::string total = fmt::format("dlc_group_reduce<{}, {}>({})", combineFunctor(r.combine), rt, acc);
      out += fmt::format("{}  {} = {}::f({}_before, {});\n", in, acc, combineFunctor(r.combine), acc, total);
    }
    out += in + "}\n";
  }
  static std::string name(const kir::Var& v) { return fmt::format("v{}", v.id); }

  // ------------------------------------------------------------ casts
  // `s` (of dtype from) as dtype `to`.
  std::string castValue(const std::string& s, DType from, DType to) {
    if (from == to) return s;
    if (from == DType::F16) return castValue(fmt::format("dlc_f16_to_f32({})", s), DType::F32, to);
    if (from == DType::BF16) return castValue(fmt::format("dlc_bf16_to_f32({})", s), DType::F32, to);
    if (to == DType::Bool) return fmt::format("({} != {})", s, isF(from) ? floatLiteral(0, from) : "0");
    if (to == DType::F16) return fmt::format("dlc_f32_to_f16({})", castValue(s, from, DType::F32));
    if (to == DType::BF16) return fmt::format("dlc_f32_to_bf16({})", castValue(s, from, DType::F32));
    if (isF(from) && !isF(to)) return fmt::format("dlc_sat_{}((f64)({}))", regType(to), s);
    return fmt::format("(({})({}))", regType(to), s);
  }

  // ------------------------------------------------------------ expressions
  std::string emit(const kir::Expr& e) {
    return std::visit([&](const auto& x) { return node(x, e->dtype); }, e->kind);
  }

  std::string node(const kir::ConstExpr& c, DType t) { return constant(c, t); }
  std::string node(const kir::VarExpr& v, DType) { return name(v.var); }
  std::string node(const kir::LoadExpr& l, DType t) {
    if (inVector_ && vector_[size_t(l.buffer)] && isLinear(l.index)) return fmt::format("b{}_v.v[c]", l.buffer);
    std::string s = fmt::format("b{}[{}]", l.buffer, emit(l.index));
    return t == DType::Bool ? fmt::format("({} != 0)", s) : s;
  }
  std::string node(const kir::SelectExpr& s, DType) {
    return fmt::format("({} ? {} : {})", emit(s.condition), emit(s.ifTrue), emit(s.ifFalse));
  }
  std::string node(const kir::CastExpr& c, DType) { return castValue(emit(c.operand), c.operand->dtype, c.to); }

  std::string node(const kir::UnaryExpr& u, DType) {
    DType t = u.operand->dtype;
    std::string x = emit(u.operand);
    auto call = [&](const char* base) { return fmt::format("{}({})", math(base, t), x); };
    switch (u.op) {
      case UnaryOp::Neg: return isF(t) ? fmt::format("(-{})", x) : fmt::format("dlc_neg({})", x);
      case UnaryOp::Abs: return isF(t) ? call("fabs") : fmt::format("dlc_abs({})", x);
      case UnaryOp::Not: return fmt::format("(!{})", x);
      case UnaryOp::BitNot: return fmt::format("(({})~{})", regType(t), x);
      case UnaryOp::Sign: return fmt::format("dlc_sign({})", x);
      case UnaryOp::Reciprocal: return fmt::format("({} / {})", floatLiteral(1, t), x);
      case UnaryOp::Exp: return call("exp");
      case UnaryOp::Log: return call("log");
      case UnaryOp::Sqrt: return call("sqrt");
      case UnaryOp::Rsqrt: return fmt::format("({} / {}({}))", floatLiteral(1, t), math("sqrt", t), x);
      case UnaryOp::Tanh: return call("tanh");
      case UnaryOp::Sigmoid: return fmt::format("dlc_sigmoid({})", x);
      case UnaryOp::Erf: return call("erf");
      case UnaryOp::Floor: return call("floor");
      case UnaryOp::Ceil: return call("ceil");
      case UnaryOp::Round: return call("rint");
      case UnaryOp::Sin: return call("sin");
      case UnaryOp::Cos: return call("cos");
      case UnaryOp::Tan: return call("tan");
      case UnaryOp::Asin: return call("asin");
      case UnaryOp::Acos: return call("acos");
      case UnaryOp::Atan: return call("atan");
      case UnaryOp::Sinh: return call("sinh");
      case UnaryOp::Cosh: return call("cosh");
      case UnaryOp::Asinh: return call("asinh");
      case UnaryOp::Acosh: return call("acosh");
      case UnaryOp::Atanh: return call("atanh");
      case UnaryOp::IsNaN: return fmt::format("({0} != {0})", x);
      case UnaryOp::IsInf: return fmt::format("dlc_isinf({})", x);
    }
    throw InternalError("CUDA emitter: unknown unary op");
  }

  std::string node(const kir::BinaryExpr& e, DType) {
    DType t = e.lhs->dtype;
    std::string x = emit(e.lhs), y = emit(e.rhs);
    bool fl = isF(t);
    auto infix = [&](const char* op) { return fmt::format("({} {} {})", x, op, y); };
    auto fn = [&](const char* f) { return fmt::format("{}({}, {})", f, x, y); };
    switch (e.op) {
      case BinaryOp::Add: return fl ? infix("+") : fn("dlc_add");
      case BinaryOp::Sub: return fl ? infix("-") : fn("dlc_sub");
      case BinaryOp::Mul: return fl ? infix("*") : fn("dlc_mul");
      case BinaryOp::Div: return fl ? infix("/") : fn("dlc_div");
      case BinaryOp::Rem: return fl ? fmt::format("{}({}, {})", math("fmod", t), x, y) : fn("dlc_rem");
      case BinaryOp::Min: return fn("dlc_min");
      case BinaryOp::Max: return fn("dlc_max");
      case BinaryOp::Pow:
        if (fl) return fmt::format("{}({}, {})", math("pow", t), x, y);
        // Integer pow through f64, saturated back (as the LLVM emitter does).
        return fmt::format("dlc_sat_{}(pow((f64)({}), (f64)({})))", regType(t), x, y);
      case BinaryOp::And:
        return t == DType::Bool ? infix("&&") : fmt::format("(({})({} & {}))", regType(t), x, y);
      case BinaryOp::Or:
        return t == DType::Bool ? infix("||") : fmt::format("(({})({} | {}))", regType(t), x, y);
      case BinaryOp::Xor:
        return t == DType::Bool ? infix("!=") : fmt::format("(({})({} ^ {}))", regType(t), x, y);
      case BinaryOp::Shl: return fn("dlc_shl");
      case BinaryOp::Shr: return fn("dlc_shr");
      case BinaryOp::Eq: return infix("==");
      case BinaryOp::Ne: return infix("!=");
      case BinaryOp::Lt: return infix("<");
      case BinaryOp::Le: return infix("<=");
      case BinaryOp::Gt: return infix(">");
      case BinaryOp::Ge: return infix(">=");
    }
    throw InternalError("CUDA emitter: unknown binary op");
  }

  // ------------------------------------------------------------ statements
  void block(const kir::Block& blk, int depth, std::string& out) {
    for (const kir::Stmt& s : blk) std::visit([&](const auto& x) { stmt(x, depth, out); }, s->kind);
  }
  static std::string indent(int depth) { return std::string(size_t(depth) * 2, ' '); }

  void stmt(const kir::ForStmt& f, int depth, std::string& out) {
    std::string v = name(f.var);
    out += fmt::format("{}for (i64 {} = {}; {} < {}; ++{}) {{\n", indent(depth), v, emit(f.begin), v, emit(f.end), v);
    block(f.body, depth + 1, out);
    out += indent(depth) + "}\n";
  }
  void stmt(const kir::StoreStmt& s, int depth, std::string& out) {
    std::string v = emit(s.value);
    if (k_.buffers[size_t(s.buffer)].dtype == DType::Bool) v = fmt::format("(u8)({})", v);
    if (inVector_ && vector_[size_t(s.buffer)]) {
      out += fmt::format("{}b{}_v.v[c] = {};\n", indent(depth), s.buffer, v);
      return;
    }
    // Outside row loops a cooperative kernel's lanes compute the same value:
    // lane 0 stores it.
    std::string guard = shape_.rowThreads > 1 && !inRowLoop_ ? "if (dlc_lane == 0) " : "";
    out += fmt::format("{}{}b{}[{}] = {};\n", indent(depth), guard, s.buffer, emit(s.index), v);
  }
  void stmt(const kir::DeclareStmt& d, int depth, std::string& out) {
    out += fmt::format("{}{} {} = {};\n", indent(depth), regType(d.var.dtype), name(d.var), emit(d.init));
  }
  void stmt(const kir::AssignStmt& a, int depth, std::string& out) {
    out += fmt::format("{}{} = {};\n", indent(depth), name(a.var), emit(a.value));
  }
  void stmt(const kir::IfStmt& s, int depth, std::string& out) {
    out += fmt::format("{}if ({}) {{\n", indent(depth), emit(s.condition));
    block(s.thenBody, depth + 1, out);
    if (!s.elseBody.empty()) {
      out += indent(depth) + "} else {\n";
      block(s.elseBody, depth + 1, out);
    }
    out += indent(depth) + "}\n";
  }

  const kir::Kernel& k_;
  LaunchShape shape_;
  std::vector<std::string> params_;
  bool inRowLoop_ = false;
  std::vector<bool> vector_, loaded_;  // per buffer: moved as vectors; loaded as vectors
  bool inVector_ = false;
};

}  // namespace

std::string bufferParamType(const kir::BufferParam& buffer) {
  return fmt::format("{}{}*", buffer.written ? "" : "const ", memType(buffer.dtype));
}

std::string emitKernel(const kir::Kernel& kernel, unsigned rowThreads) { return Emitter(kernel, rowThreads).run(); }

unsigned rowThreadsFor(const kir::Kernel& kernel) {
  // Rows strided by extent1 (softmax or a reduction over a middle axis):
  // neighbouring points read neighbouring elements at every step, so one
  // thread per point is coalesced while a row group would not be.
  if (kernel.extent1 >= 32) return 1;
  int64_t longest = 0;
  for (const kir::Stmt& s : kernel.body) {
    const auto* f = std::get_if<kir::ForStmt>(&s->kind);
    if (!f || !f->rowShared) continue;
    const auto* b = std::get_if<kir::ConstExpr>(&f->begin->kind);
    const auto* e = std::get_if<kir::ConstExpr>(&f->end->kind);
    longest = std::max<int64_t>(longest, b && e ? e->intValue - b->intValue : 1024);
  }
  if (longest <= 4) return 1;
  if (longest <= 2048) return 32;
  unsigned threads = 64;
  while (threads < 1024 && int64_t(threads) * 16 < longest) threads *= 2;
  return threads;
}

LaunchShape launchShape(const kir::Kernel& kernel, unsigned maxBlocks, unsigned rowThreads) {
  LaunchShape shape;
  if (!kir::hasRowLoops(kernel)) rowThreads = 1;
  else if (rowThreads == 0) rowThreads = rowThreadsFor(kernel);
  if (rowThreads != 1 && (rowThreads < 32 || rowThreads > 1024 || (rowThreads & (rowThreads - 1)) != 0))
    throw InternalError(fmt::format("CUDA emitter: {} threads per row (1 or a power of two in [32, 1024])", rowThreads));
  shape.rowThreads = rowThreads;
  // A warp per row: 8 rows per block; a block per row beyond (the block's
  // barriers and shared partials belong to its one row).
  shape.block = rowThreads <= 32 ? kBlockSize : rowThreads;
  if (rowThreads > 32) {
    // One block-wide partial per warp in shared memory, per reduction dtype.
    bool f32 = false, f64 = false;
    for (const kir::Stmt& s : kernel.body)
      if (const auto* f = std::get_if<kir::ForStmt>(&s->kind))
        for (const kir::LoopReduction& r : f->reductions) (r.acc.dtype == DType::F64 ? f64 : f32) = true;
    shape.sharedBytes = (rowThreads / 32) * ((f32 ? 4 : 0) + (f64 ? 8 : 0));
  }
  int64_t points = kernel.extent0 * kernel.extent1;
  int64_t perBlock = shape.block / rowThreads;
  int64_t blocks = points <= 0 ? 0 : (points + perBlock - 1) / perBlock;
  shape.grid = unsigned(std::min<int64_t>(blocks, maxBlocks));
  return shape;
}

std::string describeLaunch(const LaunchShape& shape) {
  std::string how = shape.rowThreads == 1    ? "a thread per point"
                    : shape.rowThreads == 32 ? fmt::format("a warp per row, {} rows per block", shape.block / 32)
                                             : fmt::format("a block per row, {} B shared", shape.sharedBytes);
  return fmt::format("{} blocks x {} threads, {}", shape.grid, shape.block, how);
}

std::string emitProgram(std::span<const kir::Kernel> kernels) {
  std::string out(prelude());
  for (const kir::Kernel& k : kernels) {
    out += "\n";
    out += emitKernel(k);
  }
  return out;
}

unsigned gridSize(const kir::Kernel& kernel, unsigned maxBlocks) { return launchShape(kernel, maxBlocks).grid; }

}  // namespace dlc::codegen::cuda
