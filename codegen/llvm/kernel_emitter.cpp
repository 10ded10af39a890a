// kir::Kernel -> LLVM IR. One Emitter per kernel; expressions are emitted
// bottom-up into SSA values (Bool as i1, BF16 as its i16 bits, F16 as half),
// mutable variables live in allocas that SROA promotes. Every switch over
// the op enums is exhaustive (-Werror=switch): a new op must be decided here.
#include "codegen/llvm/kernel_emitter.h"

#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <limits>
#include <unordered_map>

#include "codegen/llvm/fast_math.h"
#include "support/error.h"

namespace dlc::codegen::llvm_backend {

using kir::BinaryOp;
using kir::DType;
using kir::UnaryOp;
using llvm::Value;

void setFunctionTarget(llvm::Function& f, const FunctionTarget& target) {
  f.addFnAttr("target-cpu", target.cpu);
  if (!target.features.empty()) f.addFnAttr("target-features", target.features);
  f.addFnAttr(llvm::Attribute::NoUnwind);
}

namespace {

bool isF(DType t) { return t == DType::F32 || t == DType::F64; }

struct Emitter {
  llvm::Module& m;
  llvm::LLVMContext& ctx;
  const kir::Kernel& k;
  llvm::IRBuilder<> b;
  llvm::Function* fn = nullptr;
  std::vector<Value*> buffers;
  std::unordered_map<int, Value*> loopVars;             // iteration and For variables (SSA)
  std::unordered_map<int, llvm::AllocaInst*> mutableVars;  // DeclareStmt variables
  llvm::MDNode* accessGroup = nullptr;
  // Accesses to these buffers stay out of the access group: LLVM takes a
  // loop whose accesses are all in the group as free of any dependence, even
  // within an iteration; the attention kernel, which reads back the
  // workspace row it wrote, then computed wrong results at O3.
  std::vector<bool> untagged = kir::loadedAndStoredBuffers(k);

  Emitter(llvm::Module& module, const kir::Kernel& kernel)
      : m(module), ctx(module.getContext()), k(kernel), b(module.getContext()) {}

  // ------------------------------------------------------------ types
  llvm::Type* regType(DType t) {
    switch (t) {
      case DType::F32: return b.getFloatTy();
      case DType::F64: return b.getDoubleTy();
      case DType::F16: return b.getHalfTy();
      case DType::BF16: return b.getInt16Ty();
      case DType::I8:
      case DType::U8: return b.getInt8Ty();
      case DType::I16:
      case DType::U16: return b.getInt16Ty();
      case DType::I32:
      case DType::U32: return b.getInt32Ty();
      case DType::I64:
      case DType::U64: return b.getInt64Ty();
      case DType::Bool: return b.getInt1Ty();
      case DType::Undefined: break;
    }
    throw InternalError("kernel emitter: undefined dtype");
  }
  llvm::Type* memType(DType t) { return t == DType::Bool ? b.getInt8Ty() : regType(t); }

  // ------------------------------------------------------------ helpers
  Value* fconst(DType t, double v) { return llvm::ConstantFP::get(regType(t), v); }
  Value* iconst(DType t, int64_t v) { return llvm::ConstantInt::get(regType(t), uint64_t(v), true); }

  Value* intrinsic(llvm::Intrinsic::ID id, Value* x) { return b.CreateUnaryIntrinsic(id, x); }
  Value* intrinsic(llvm::Intrinsic::ID id, Value* x, Value* y) { return b.CreateBinaryIntrinsic(id, x, y); }

  // A scalar libm call (functions without a vector form).
  Value* libm(const std::string& base, DType t, std::vector<Value*> args) {
    std::string name = t == DType::F32 ? base + "f" : base;
    llvm::Type* ty = regType(t);
    std::vector<llvm::Type*> params(args.size(), ty);
    llvm::FunctionCallee callee = m.getOrInsertFunction(name, llvm::FunctionType::get(ty, params, false));
    if (auto* f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) f->addFnAttr(llvm::Attribute::NoUnwind);
    return b.CreateCall(callee, args);
  }

  Value* withFlags(Value* v) {
    if (k.allowReassociation)
      if (auto* inst = llvm::dyn_cast<llvm::Instruction>(v); inst && llvm::isa<llvm::FPMathOperator>(inst)) {
        llvm::FastMathFlags f;
        f.setAllowReassoc();
        f.setAllowContract();
        inst->setFastMathFlags(f);
      }
    return v;
  }

  // ------------------------------------------------------------ casts
  Value* bf16ToF32(Value* bits) {
    return b.CreateBitCast(b.CreateShl(b.CreateZExt(bits, b.getInt32Ty()), 16), b.getFloatTy());
  }
  Value* f32ToBf16(Value* f) {  // round to nearest even, NaN stays a quiet NaN
    Value* bits = b.CreateBitCast(f, b.getInt32Ty());
    Value* lsb = b.CreateAnd(b.CreateLShr(bits, 16), 1);
    Value* rounded = b.CreateLShr(b.CreateAdd(bits, b.CreateAdd(lsb, b.getInt32(0x7fff))), 16);
    Value* quiet = b.CreateOr(b.CreateLShr(bits, 16), b.getInt32(0x40));
    Value* r = b.CreateSelect(b.CreateFCmpUNO(f, f), quiet, rounded);
    return b.CreateTrunc(r, b.getInt16Ty());
  }

  Value* castValue(Value* v, DType from, DType to) {
    if (from == to) return v;
    if (from == DType::F16) return castValue(b.CreateFPExt(v, b.getFloatTy()), DType::F32, to);
    if (from == DType::BF16) return castValue(bf16ToF32(v), DType::F32, to);
    if (to == DType::Bool) {
      if (isF(from)) return b.CreateFCmpUNE(v, fconst(from, 0));
      return b.CreateICmpNE(v, llvm::Constant::getNullValue(v->getType()));
    }
    if (to == DType::F16) return b.CreateFPTrunc(castValue(v, from, DType::F32), b.getHalfTy());
    if (to == DType::BF16) return f32ToBf16(castValue(v, from, DType::F32));
    llvm::Type* ty = regType(to);
    if (from == DType::Bool) return isF(to) ? b.CreateUIToFP(v, ty) : b.CreateZExt(v, ty);
    if (isF(from) && isF(to)) return b.CreateFPCast(v, ty);
    if (isF(from)) {
      auto id = ir::isSigned(to) ? llvm::Intrinsic::fptosi_sat : llvm::Intrinsic::fptoui_sat;
      return b.CreateIntrinsic(id, {ty, v->getType()}, {v});
    }
    if (isF(to)) return ir::isSigned(from) ? b.CreateSIToFP(v, ty) : b.CreateUIToFP(v, ty);
    return b.CreateIntCast(v, ty, ir::isSigned(from));
  }

  // ------------------------------------------------------------ expressions
  Value* emit(const kir::Expr& e) {
    return std::visit([&](const auto& x) -> Value* { return emitNode(x, e->dtype); }, e->kind);
  }

  Value* emitNode(const kir::ConstExpr& c, DType t) {
    if (t == DType::BF16) return b.CreateTrunc(f32ToBf16(fconst(DType::F32, c.floatValue)), b.getInt16Ty());
    if (ir::isFloat(t)) return fconst(t, c.floatValue);
    if (t == DType::Bool) return b.getInt1(c.intValue != 0);
    return iconst(t, c.intValue);
  }
  Value* emitNode(const kir::VarExpr& v, DType) {
    if (auto it = loopVars.find(v.var.id); it != loopVars.end()) return it->second;
    auto it = mutableVars.find(v.var.id);
    if (it == mutableVars.end()) throw InternalError(fmt::format("kernel emitter: v{} is not in scope", v.var.id));
    return b.CreateLoad(regType(v.var.dtype), it->second);
  }
  llvm::Value* address(int buffer, const kir::Expr& index) {
    return b.CreateInBoundsGEP(memType(k.buffers[size_t(buffer)].dtype), buffers[size_t(buffer)], emit(index));
  }
  void tag(llvm::Instruction* inst, int buffer) {
    if (accessGroup && !untagged[size_t(buffer)]) inst->setMetadata(llvm::LLVMContext::MD_access_group, accessGroup);
  }
  Value* emitNode(const kir::LoadExpr& l, DType t) {
    Value* ptr = address(l.buffer, l.index);
    llvm::LoadInst* v = b.CreateAlignedLoad(memType(t), ptr, llvm::Align(ir::dtypeSize(t)));
    tag(v, l.buffer);
    if (t == DType::Bool) return b.CreateICmpNE(v, b.getInt8(0));
    return v;
  }
  Value* emitNode(const kir::SelectExpr& s, DType) {
    Value* c = emit(s.condition);
    Value* x = emit(s.ifTrue);
    Value* y = emit(s.ifFalse);
    return b.CreateSelect(c, x, y);
  }
  Value* emitNode(const kir::CastExpr& c, DType) { return castValue(emit(c.operand), c.operand->dtype, c.to); }

  Value* emitNode(const kir::UnaryExpr& u, DType) {
    DType t = u.operand->dtype;
    Value* x = emit(u.operand);
    bool f32 = t == DType::F32;
    switch (u.op) {
      case UnaryOp::Neg: return isF(t) ? b.CreateFNeg(x) : b.CreateNeg(x);
      case UnaryOp::Abs:
        if (isF(t)) return intrinsic(llvm::Intrinsic::fabs, x);
        if (!ir::isSigned(t)) return x;
        return b.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b.getFalse());
      case UnaryOp::Not: return b.CreateNot(x);
      case UnaryOp::BitNot: return b.CreateNot(x);
      case UnaryOp::Sign: {
        if (isF(t))
          return b.CreateSelect(b.CreateFCmpOGT(x, fconst(t, 0)), fconst(t, 1),
                                b.CreateSelect(b.CreateFCmpOLT(x, fconst(t, 0)), fconst(t, -1), x));
        Value* zero = iconst(t, 0);
        if (!ir::isSigned(t)) return b.CreateZExt(b.CreateICmpNE(x, zero), x->getType());
        return b.CreateSub(b.CreateZExt(b.CreateICmpSGT(x, zero), x->getType()),
                           b.CreateZExt(b.CreateICmpSLT(x, zero), x->getType()));
      }
      case UnaryOp::Reciprocal: return b.CreateFDiv(fconst(t, 1), x);
      case UnaryOp::Sqrt: return intrinsic(llvm::Intrinsic::sqrt, x);
      case UnaryOp::Rsqrt: return b.CreateFDiv(fconst(t, 1), intrinsic(llvm::Intrinsic::sqrt, x));
      case UnaryOp::Exp: return f32 ? emitExpF32(b, x) : libm("exp", t, {x});
      case UnaryOp::Log: return f32 ? emitLogF32(b, x) : libm("log", t, {x});
      case UnaryOp::Tanh: return f32 ? emitTanhF32(b, x) : libm("tanh", t, {x});
      case UnaryOp::Erf: return f32 ? emitErfF32(b, x) : libm("erf", t, {x});
      case UnaryOp::Sigmoid:
        if (f32) return emitSigmoidF32(b, x);
        return b.CreateFDiv(fconst(t, 1), b.CreateFAdd(fconst(t, 1), libm("exp", t, {b.CreateFNeg(x)})));
      case UnaryOp::Floor: return intrinsic(llvm::Intrinsic::floor, x);
      case UnaryOp::Ceil: return intrinsic(llvm::Intrinsic::ceil, x);
      case UnaryOp::Round: return intrinsic(llvm::Intrinsic::roundeven, x);
      case UnaryOp::Sin: return libm("sin", t, {x});
      case UnaryOp::Cos: return libm("cos", t, {x});
      case UnaryOp::Tan: return libm("tan", t, {x});
      case UnaryOp::Asin: return libm("asin", t, {x});
      case UnaryOp::Acos: return libm("acos", t, {x});
      case UnaryOp::Atan: return libm("atan", t, {x});
      case UnaryOp::Sinh: return libm("sinh", t, {x});
      case UnaryOp::Cosh: return libm("cosh", t, {x});
      case UnaryOp::Asinh: return libm("asinh", t, {x});
      case UnaryOp::Acosh: return libm("acosh", t, {x});
      case UnaryOp::Atanh: return libm("atanh", t, {x});
      case UnaryOp::IsNaN: return b.CreateFCmpUNO(x, x);
      case UnaryOp::IsInf:
        return b.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, x),
                               fconst(t, std::numeric_limits<double>::infinity()));
    }
    throw InternalError("kernel emitter: unknown unary op");
  }

  // Integer division and remainder that never trap: x / 0 and INT_MIN / -1
  // give 0 (the kernel IR's semantics).
  Value* safeDivRem(BinaryOp op, DType t, Value* x, Value* y) {
    Value* zero = iconst(t, 0);
    Value* bad = b.CreateICmpEQ(y, zero);
    if (ir::isSigned(t)) {
      unsigned bits = x->getType()->getIntegerBitWidth();
      Value* intMin = llvm::ConstantInt::get(x->getType(), llvm::APInt::getSignedMinValue(bits));
      bad = b.CreateOr(bad, b.CreateAnd(b.CreateICmpEQ(x, intMin), b.CreateICmpEQ(y, iconst(t, -1))));
    }
    Value* safeY = b.CreateSelect(bad, iconst(t, 1), y);
    Value* r;
    if (op == BinaryOp::Div)
      r = ir::isSigned(t) ? b.CreateSDiv(x, safeY) : b.CreateUDiv(x, safeY);
    else
      r = ir::isSigned(t) ? b.CreateSRem(x, safeY) : b.CreateURem(x, safeY);
    return b.CreateSelect(bad, zero, r);
  }

  Value* emitNode(const kir::BinaryExpr& e, DType) {
    DType t = e.lhs->dtype;
    Value* x = emit(e.lhs);
    Value* y = emit(e.rhs);
    bool fl = isF(t);
    bool sgn = ir::isSigned(t);
    switch (e.op) {
      case BinaryOp::Add: return fl ? withFlags(b.CreateFAdd(x, y)) : b.CreateAdd(x, y);
      case BinaryOp::Sub: return fl ? withFlags(b.CreateFSub(x, y)) : b.CreateSub(x, y);
      case BinaryOp::Mul: return fl ? withFlags(b.CreateFMul(x, y)) : b.CreateMul(x, y);
      case BinaryOp::Div: return fl ? b.CreateFDiv(x, y) : safeDivRem(e.op, t, x, y);
      case BinaryOp::Rem: return fl ? b.CreateFRem(x, y) : safeDivRem(e.op, t, x, y);
      case BinaryOp::Min:
        return intrinsic(fl ? llvm::Intrinsic::minimum : sgn ? llvm::Intrinsic::smin : llvm::Intrinsic::umin, x, y);
      case BinaryOp::Max:
        return intrinsic(fl ? llvm::Intrinsic::maximum : sgn ? llvm::Intrinsic::smax : llvm::Intrinsic::umax, x, y);
      case BinaryOp::Pow: {
        if (fl) return intrinsic(llvm::Intrinsic::pow, x, y);
        // Integer pow through double (exact while the result fits 2^53),
        // saturated back to the integer type.
        Value* dx = castValue(x, t, DType::F64);
        Value* dy = castValue(y, t, DType::F64);
        return castValue(intrinsic(llvm::Intrinsic::pow, dx, dy), DType::F64, t);
      }
      case BinaryOp::And: return b.CreateAnd(x, y);
      case BinaryOp::Or: return b.CreateOr(x, y);
      case BinaryOp::Xor: return b.CreateXor(x, y);
      case BinaryOp::Shl:
      case BinaryOp::Shr: {
        unsigned bits = x->getType()->getIntegerBitWidth();
        Value* tooFar = b.CreateICmpUGE(y, iconst(t, bits));
        Value* amount = b.CreateSelect(tooFar, iconst(t, 0), y);
        Value* r = e.op == BinaryOp::Shl ? b.CreateShl(x, amount) : b.CreateLShr(x, amount);
        return b.CreateSelect(tooFar, iconst(t, 0), r);
      }
      case BinaryOp::Eq: return fl ? b.CreateFCmpOEQ(x, y) : b.CreateICmpEQ(x, y);
      case BinaryOp::Ne: return fl ? b.CreateFCmpUNE(x, y) : b.CreateICmpNE(x, y);
      case BinaryOp::Lt: return fl ? b.CreateFCmpOLT(x, y) : sgn ? b.CreateICmpSLT(x, y) : b.CreateICmpULT(x, y);
      case BinaryOp::Le: return fl ? b.CreateFCmpOLE(x, y) : sgn ? b.CreateICmpSLE(x, y) : b.CreateICmpULE(x, y);
      case BinaryOp::Gt: return fl ? b.CreateFCmpOGT(x, y) : sgn ? b.CreateICmpSGT(x, y) : b.CreateICmpUGT(x, y);
      case BinaryOp::Ge: return fl ? b.CreateFCmpOGE(x, y) : sgn ? b.CreateICmpSGE(x, y) : b.CreateICmpUGE(x, y);
    }
    throw InternalError("kernel emitter: unknown binary op");
  }

  // ------------------------------------------------------------ statements
  // for (iv = begin; iv < end; ++iv) body, in rotated form; loopMD (if any)
  // goes on the back edge.
  void loop(Value* begin, Value* end, const std::function<void(Value*)>& body, bool parallel) {
    llvm::BasicBlock* pre = b.GetInsertBlock();
    llvm::BasicBlock* bodyBB = llvm::BasicBlock::Create(ctx, "loop", fn);
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx, "loop.exit", fn);
    b.CreateCondBr(b.CreateICmpSLT(begin, end), bodyBB, exit);
    b.SetInsertPoint(bodyBB);
    llvm::PHINode* iv = b.CreatePHI(b.getInt64Ty(), 2, "iv");
    iv->addIncoming(begin, pre);
    body(iv);
    Value* next = b.CreateAdd(iv, b.getInt64(1), "iv.next", false, true);
    llvm::BranchInst* br = b.CreateCondBr(b.CreateICmpSLT(next, end), bodyBB, exit);
    iv->addIncoming(next, b.GetInsertBlock());
    std::vector<llvm::Metadata*> md = {nullptr, llvm::MDNode::get(ctx, llvm::MDString::get(ctx, "llvm.loop.mustprogress"))};
    if (parallel)
      md.push_back(llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.parallel_accesses"), accessGroup}));
    llvm::MDNode* loopID = llvm::MDNode::getDistinct(ctx, md);
    loopID->replaceOperandWith(0, loopID);
    br->setMetadata(llvm::LLVMContext::MD_loop, loopID);
    b.SetInsertPoint(exit);
  }

  void block(const kir::Block& blk) {
    for (const kir::Stmt& s : blk) std::visit([&](const auto& x) { stmt(x); }, s->kind);
  }

  void stmt(const kir::ForStmt& f) {
    Value* begin = emit(f.begin);
    Value* end = emit(f.end);
    loop(begin, end, [&](Value* iv) {
      loopVars[f.var.id] = iv;
      block(f.body);
      loopVars.erase(f.var.id);
    }, false);
  }
  void stmt(const kir::StoreStmt& s) {
    DType t = k.buffers[size_t(s.buffer)].dtype;
    Value* v = emit(s.value);
    if (t == DType::Bool) v = b.CreateZExt(v, b.getInt8Ty());
    Value* ptr = address(s.buffer, s.index);
    tag(b.CreateAlignedStore(v, ptr, llvm::Align(ir::dtypeSize(t))), s.buffer);
  }
  llvm::AllocaInst* slot(const kir::Var& v) {
    auto& a = mutableVars[v.id];
    if (!a) {
      llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
      a = entry.CreateAlloca(regType(v.dtype), nullptr, fmt::format("v{}", v.id));
    }
    return a;
  }
  void stmt(const kir::DeclareStmt& d) { b.CreateStore(emit(d.init), slot(d.var)); }
  void stmt(const kir::AssignStmt& a) { b.CreateStore(emit(a.value), slot(a.var)); }
  void stmt(const kir::IfStmt& s) {
    Value* c = emit(s.condition);
    llvm::BasicBlock* thenBB = llvm::BasicBlock::Create(ctx, "then", fn);
    llvm::BasicBlock* elseBB = llvm::BasicBlock::Create(ctx, "else", fn);
    llvm::BasicBlock* join = llvm::BasicBlock::Create(ctx, "endif", fn);
    b.CreateCondBr(c, thenBB, elseBB);
    b.SetInsertPoint(thenBB);
    block(s.thenBody);
    b.CreateBr(join);
    b.SetInsertPoint(elseBB);
    block(s.elseBody);
    b.CreateBr(join);
    b.SetInsertPoint(join);
  }

  // ------------------------------------------------------------ kernel
  llvm::Function* run(const FunctionTarget& target) {
    llvm::Type* ptr = b.getPtrTy();
    auto* type = llvm::FunctionType::get(b.getVoidTy(), {ptr, ptr}, false);
    if (m.getFunction(k.name)) throw InternalError(fmt::format("kernel emitter: two kernels named {}", k.name));
    fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, k.name, m);
    setFunctionTarget(*fn, target);
    for (unsigned i = 0; i < 2; ++i) {
      fn->addParamAttr(i, llvm::Attribute::NoAlias);
      fn->addParamAttr(i, llvm::Attribute::ReadOnly);
      fn->addParamAttr(i, llvm::Attribute::NoCapture);
    }
    llvm::Value* bufferArray = fn->getArg(0);
    llvm::Value* range = fn->getArg(1);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
    for (size_t i = 0; i < k.buffers.size(); ++i) {
      llvm::LoadInst* p = b.CreateAlignedLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, bufferArray, i), llvm::Align(8));
      p->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(ctx, {}));
      buffers.push_back(p);
    }
    Value* r[4];
    for (int i = 0; i < 4; ++i)
      r[i] = b.CreateAlignedLoad(b.getInt64Ty(), b.CreateConstInBoundsGEP1_64(b.getInt64Ty(), range, unsigned(i)),
                                 llvm::Align(8));
    accessGroup = llvm::MDNode::getDistinct(ctx, {});
    // The innermost tile loop is the parallel one; a dimension of extent 1
    // gets no loop.
    bool loop0 = k.extent0 != 1, loop1 = k.extent1 != 1;
    auto inner = [&](Value* v0) {
      loopVars[k.iter0.id] = v0;
      if (loop1) {
        loop(r[2], r[3], [&](Value* v1) {
          loopVars[k.iter1.id] = v1;
          block(k.body);
        }, true);
      } else {
        loopVars[k.iter1.id] = r[2];
        block(k.body);
      }
    };
    if (loop0)
      loop(r[0], r[1], inner, !loop1);
    else
      inner(r[0]);
    b.CreateRetVoid();
    return fn;
  }
};

}  // namespace

llvm::Function* emitKernel(llvm::Module& module, const kir::Kernel& kernel, const FunctionTarget& target) {
  Emitter e(module, kernel);
  return e.run(target);
}

}  // namespace dlc::codegen::llvm_backend
