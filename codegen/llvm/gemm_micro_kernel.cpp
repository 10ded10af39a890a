// The GEMM micro-kernels. The register-blocked one: mr x (nr / W) accumulator vectors
// of W floats stay in registers across the k loop; per k, nr/W vectors of
// the packed B row are loaded once and each of the mr A values is broadcast
// and multiplied into its row of accumulators with FMA.
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <functional>

#include "codegen/llvm/kernel_emitter.h"
#include "runtime/gemm.h"

namespace dlc::codegen::llvm_backend {

llvm::Function* emitGemmMicroKernel(llvm::Module& m, const std::string& name, int mr, int nr, int vectorWidth,
                                    const FunctionTarget& target) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* ptr = b.getPtrTy();
  llvm::Type* f32 = b.getFloatTy();
  auto* vec = llvm::FixedVectorType::get(f32, unsigned(vectorWidth));
  const int nv = nr / vectorWidth;

  auto* type = llvm::FunctionType::get(b.getVoidTy(), {i64, ptr, ptr, ptr, i64, i64}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, m);
  setFunctionTarget(*fn, target);
  // Keep full-width vectors even where the CPU's tuning prefers 256 bits for
  // auto-vectorised loops.
  std::string bits = std::to_string(vectorWidth * 32);
  fn->addFnAttr("min-legal-vector-width", bits);
  fn->addFnAttr("prefer-vector-width", bits);
  for (unsigned i : {1u, 2u, 3u}) fn->addParamAttr(i, llvm::Attribute::NoAlias);
  llvm::Value* kc = fn->getArg(0);
  llvm::Value* a = fn->getArg(1);
  llvm::Value* bp = fn->getArg(2);
  llvm::Value* c = fn->getArg(3);
  llvm::Value* ldc = fn->getArg(4);
  llvm::Value* accumulate = fn->getArg(5);

  auto* entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  auto* body = llvm::BasicBlock::Create(ctx, "k.loop", fn);
  auto* done = llvm::BasicBlock::Create(ctx, "k.done", fn);
  b.SetInsertPoint(entry);
  llvm::Value* zero = llvm::Constant::getNullValue(vec);
  b.CreateCondBr(b.CreateICmpSGT(kc, b.getInt64(0)), body, done);

  b.SetInsertPoint(body);
  llvm::PHINode* k = b.CreatePHI(i64, 2, "k");
  k->addIncoming(b.getInt64(0), entry);
  std::vector<llvm::PHINode*> acc(static_cast<size_t>(mr * nv));
  for (auto& p : acc) {
    p = b.CreatePHI(vec, 2);
    p->addIncoming(zero, entry);
  }
  llvm::Value* bRow = b.CreateInBoundsGEP(f32, bp, b.CreateMul(k, b.getInt64(nr)));
  llvm::Value* aCol = b.CreateInBoundsGEP(f32, a, b.CreateMul(k, b.getInt64(mr)));
  std::vector<llvm::Value*> bv(static_cast<size_t>(nv));
  for (int j = 0; j < nv; ++j)
    bv[size_t(j)] = b.CreateAlignedLoad(vec, b.CreateConstInBoundsGEP1_64(f32, bRow, uint64_t(j * vectorWidth)),
                                        llvm::Align(4));
  std::vector<llvm::Value*> next(acc.size());
  for (int i = 0; i < mr; ++i) {
    llvm::Value* ai = b.CreateAlignedLoad(f32, b.CreateConstInBoundsGEP1_64(f32, aCol, uint64_t(i)), llvm::Align(4));
    llvm::Value* splat = b.CreateVectorSplat(unsigned(vectorWidth), ai);
    for (int j = 0; j < nv; ++j) {
      size_t idx = size_t(i * nv + j);
      next[idx] = b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec}, {splat, bv[size_t(j)], acc[idx]});
    }
  }
  llvm::Value* kNext = b.CreateAdd(k, b.getInt64(1), "", false, true);
  k->addIncoming(kNext, body);
  for (size_t i = 0; i < acc.size(); ++i) acc[i]->addIncoming(next[i], body);
  llvm::BranchInst* backEdge = b.CreateCondBr(b.CreateICmpSLT(kNext, kc), body, done);
  // Unrolled by 4: fewer loop-control uops between the FMAs.
  llvm::MDNode* loopID = llvm::MDNode::getDistinct(
      ctx, {nullptr, llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.count"),
                                             llvm::ConstantAsMetadata::get(b.getInt32(4))})});
  loopID->replaceOperandWith(0, loopID);
  backEdge->setMetadata(llvm::LLVMContext::MD_loop, loopID);

  b.SetInsertPoint(done);
  std::vector<llvm::PHINode*> result(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    result[i] = b.CreatePHI(vec, 2);
    result[i]->addIncoming(zero, entry);
    result[i]->addIncoming(next[i], body);
  }
  auto* addBB = llvm::BasicBlock::Create(ctx, "accumulate", fn);
  auto* storeBB = llvm::BasicBlock::Create(ctx, "store", fn);
  auto* streamBB = llvm::BasicBlock::Create(ctx, "stream", fn);
  llvm::SwitchInst* mode = b.CreateSwitch(accumulate, addBB, 2);
  mode->addCase(b.getInt64(runtime::kGemmOverwrite), storeBB);
  mode->addCase(b.getInt64(runtime::kGemmStream), streamBB);
  auto rowPtr = [&](int i, int j) {
    llvm::Value* row = b.CreateInBoundsGEP(f32, c, b.CreateMul(ldc, b.getInt64(i)));
    return b.CreateConstInBoundsGEP1_64(f32, row, uint64_t(j * vectorWidth));
  };
  // Streaming stores: the tile goes to memory without first reading its
  // lines into the cache (the caller checked the 64-byte alignment).
  b.SetInsertPoint(streamBB);
  llvm::MDNode* nontemporal =
      llvm::MDNode::get(ctx, {llvm::ConstantAsMetadata::get(b.getInt32(1))});
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nv; ++j) {
      llvm::StoreInst* st = b.CreateAlignedStore(result[size_t(i * nv + j)], rowPtr(i, j), llvm::Align(vectorWidth * 4));
      st->setMetadata(llvm::LLVMContext::MD_nontemporal, nontemporal);
    }
  b.CreateRetVoid();
  b.SetInsertPoint(addBB);
  std::vector<llvm::Value*> summed(acc.size());
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nv; ++j) {
      size_t idx = size_t(i * nv + j);
      summed[idx] = b.CreateFAdd(result[idx], b.CreateAlignedLoad(vec, rowPtr(i, j), llvm::Align(4)));
    }
  b.CreateBr(storeBB);
  b.SetInsertPoint(storeBB);
  std::vector<llvm::PHINode*> final(acc.size());
  for (size_t idx = 0; idx < acc.size(); ++idx) {
    final[idx] = b.CreatePHI(vec, 2);
    final[idx]->addIncoming(result[idx], done);
    final[idx]->addIncoming(summed[idx], addBB);
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nv; ++j) b.CreateAlignedStore(final[size_t(i * nv + j)], rowPtr(i, j), llvm::Align(4));
  b.CreateRetVoid();
  return fn;
}

// One row: c[0:nr] (+)= sum_k a[k*aStride] * b[k*nr + 0:nr]. The sum runs
// over k in the same order, with the same FMAs, as the micro-kernel's: an
// element of C must not depend on which kernel computed its tile (rows that
// are equal in exact arithmetic, e.g. channels with equal weights, stay
// bit-equal; with split accumulators the edge panel's rows differed in the
// last bit, which a later Softmax over logits of 1e10 turned into 0 vs 1).
// Accumulators live in allocas that SROA turns into registers; the k loop is
// unrolled by 4 for fewer loop-control uops.
llvm::Function* emitGemmRowKernel(llvm::Module& m, const std::string& name, int nr, int vectorWidth,
                                  const FunctionTarget& target) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* ptr = b.getPtrTy();
  llvm::Type* f32 = b.getFloatTy();
  auto* vec = llvm::FixedVectorType::get(f32, unsigned(vectorWidth));
  const int nv = nr / vectorWidth, unroll = 4;

  auto* type = llvm::FunctionType::get(b.getVoidTy(), {i64, ptr, i64, ptr, ptr, i64}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, m);
  setFunctionTarget(*fn, target);
  std::string bits = std::to_string(vectorWidth * 32);
  fn->addFnAttr("min-legal-vector-width", bits);
  fn->addFnAttr("prefer-vector-width", bits);
  llvm::Value* kc = fn->getArg(0);
  llvm::Value* a = fn->getArg(1);
  llvm::Value* aStride = fn->getArg(2);
  llvm::Value* bp = fn->getArg(3);
  llvm::Value* c = fn->getArg(4);
  llvm::Value* accumulate = fn->getArg(5);

  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  std::vector<llvm::AllocaInst*> acc(static_cast<size_t>(nv));
  for (auto& slot : acc) {
    slot = b.CreateAlloca(vec);
    b.CreateStore(llvm::Constant::getNullValue(vec), slot);
  }
  // acc += a[k] * b[k, :]
  auto step = [&](llvm::Value* k) {
    llvm::Value* av = b.CreateLoad(f32, b.CreateInBoundsGEP(f32, a, b.CreateMul(k, aStride)));
    llvm::Value* splat = b.CreateVectorSplat(unsigned(vectorWidth), av);
    llvm::Value* row = b.CreateInBoundsGEP(f32, bp, b.CreateMul(k, b.getInt64(nr)));
    for (int j = 0; j < nv; ++j) {
      llvm::AllocaInst* slot = acc[size_t(j)];
      llvm::Value* bv = b.CreateAlignedLoad(vec, b.CreateConstInBoundsGEP1_64(f32, row, uint64_t(j * vectorWidth)),
                                            llvm::Align(4));
      llvm::Value* sum = b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec}, {splat, bv, b.CreateLoad(vec, slot)});
      b.CreateStore(sum, slot);
    }
  };
  // for (k = begin; k + stride <= end; k += stride) body(k)
  auto loop = [&](llvm::Value* begin, llvm::Value* end, int stride, const std::function<void(llvm::Value*)>& body) {
    llvm::BasicBlock* pre = b.GetInsertBlock();
    auto* bodyBB = llvm::BasicBlock::Create(ctx, "loop", fn);
    auto* exit = llvm::BasicBlock::Create(ctx, "loop.exit", fn);
    b.CreateCondBr(b.CreateICmpSLE(b.CreateAdd(begin, b.getInt64(stride)), end), bodyBB, exit);
    b.SetInsertPoint(bodyBB);
    llvm::PHINode* k = b.CreatePHI(i64, 2);
    k->addIncoming(begin, pre);
    body(k);
    llvm::Value* next = b.CreateAdd(k, b.getInt64(stride));
    k->addIncoming(next, b.GetInsertBlock());
    b.CreateCondBr(b.CreateICmpSLE(b.CreateAdd(next, b.getInt64(stride)), end), bodyBB, exit);
    b.SetInsertPoint(exit);
    llvm::PHINode* last = b.CreatePHI(i64, 2);
    last->addIncoming(begin, pre);
    last->addIncoming(next, bodyBB);
    return last;
  };
  llvm::Value* kMain = loop(b.getInt64(0), kc, unroll, [&](llvm::Value* k) {
    for (int u = 0; u < unroll; ++u) step(b.CreateAdd(k, b.getInt64(u)));
  });
  loop(kMain, kc, 1, [&](llvm::Value* k) { step(k); });
  auto* addBB = llvm::BasicBlock::Create(ctx, "accumulate", fn);
  auto* storeBB = llvm::BasicBlock::Create(ctx, "store", fn);
  b.CreateCondBr(b.CreateICmpNE(accumulate, b.getInt64(0)), addBB, storeBB);
  b.SetInsertPoint(addBB);
  for (int j = 0; j < nv; ++j) {
    llvm::Value* cp = b.CreateConstInBoundsGEP1_64(f32, c, uint64_t(j * vectorWidth));
    b.CreateStore(b.CreateFAdd(b.CreateLoad(vec, acc[size_t(j)]), b.CreateAlignedLoad(vec, cp, llvm::Align(4))),
                  acc[size_t(j)]);
  }
  b.CreateBr(storeBB);
  b.SetInsertPoint(storeBB);
  for (int j = 0; j < nv; ++j)
    b.CreateAlignedStore(b.CreateLoad(vec, acc[size_t(j)]),
                         b.CreateConstInBoundsGEP1_64(f32, c, uint64_t(j * vectorWidth)), llvm::Align(4));
  b.CreateRetVoid();
  return fn;
}

}  // namespace dlc::codegen::llvm_backend
