// The direct blocked convolution's micro-kernel (runtime::ConvMicroKernelFn,
// see runtime/conv_blocked.h): pixels x blocks accumulator vectors of B
// floats stay in registers across the loops over input blocks, kernel rows
// and kernel columns; per input channel the `blocks` weight vectors are
// loaded once and each pixel's input value is broadcast and multiplied into
// its row of accumulators with FMA. For a blocked input the B channels of a
// block are unrolled (the broadcasts are B consecutive floats of a pixel);
// a plain NCHW input loops over its channels, a plane apart. A 1x1 kernel
// with no padding has no loops over kernel rows and columns. Row tiles have
// their pixel strides compiled in (one base register for every pixel's
// loads) and loop over kConvRowTiles tiles side by side, each with fresh
// accumulators; column tiles read their strides from the arguments.
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <functional>

#include "codegen/llvm/kernel_emitter.h"
#include "runtime/conv_blocked.h"

namespace dlc::codegen::llvm_backend {

namespace {

// for (var = 0; var < count; ++var) body(var), a loop LLVM does not unroll
// (the bodies are written unrolled as far as pays; unrolling them further
// only multiplies compile time).
void emitLoop(llvm::IRBuilder<>& b, llvm::Function* fn, llvm::Value* count,
              const std::function<void(llvm::Value*)>& body) {
  llvm::LLVMContext& ctx = b.getContext();
  llvm::BasicBlock* pre = b.GetInsertBlock();
  auto* bodyBB = llvm::BasicBlock::Create(ctx, "loop", fn);
  auto* exit = llvm::BasicBlock::Create(ctx, "loop.exit", fn);
  b.CreateCondBr(b.CreateICmpSGT(count, b.getInt64(0)), bodyBB, exit);
  b.SetInsertPoint(bodyBB);
  llvm::PHINode* var = b.CreatePHI(b.getInt64Ty(), 2);
  var->addIncoming(b.getInt64(0), pre);
  body(var);
  llvm::Value* next = b.CreateAdd(var, b.getInt64(1), "", true, true);
  var->addIncoming(next, b.GetInsertBlock());
  llvm::BranchInst* back = b.CreateCondBr(b.CreateICmpSLT(next, count), bodyBB, exit);
  llvm::MDNode* id = llvm::MDNode::getDistinct(
      ctx, {nullptr, llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")})});
  id->replaceOperandWith(0, id);
  back->setMetadata(llvm::LLVMContext::MD_loop, id);
  b.SetInsertPoint(exit);
}

llvm::Function* declare(llvm::Module& m, const runtime::ConvMicroKernelShape& shape, const FunctionTarget& target) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Type* ptr = llvm::PointerType::get(ctx, 0);
  auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, ptr, ptr}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, shape.name(), m);
  setFunctionTarget(*fn, target);
  std::string bits = std::to_string(shape.lanes * 32);
  fn->addFnAttr("min-legal-vector-width", bits);
  fn->addFnAttr("prefer-vector-width", bits);
  for (unsigned i : {0u, 1u, 2u, 3u}) fn->addParamAttr(i, llvm::Attribute::NoAlias);
  return fn;
}

// The post-ops (runtime::ConvPostFlag) on the accumulators acc[p * blocks
// + j], whose outputs are at outAt(p, j): with kConvPostFinal, the bias,
// the residual (kConvPostResidual + residualOffset floats) and the clip each
// where its flag says, in that order. Leaves the builder in the block after
// them.
void emitPostOps(llvm::IRBuilder<>& b, llvm::Function* fn, llvm::Value* argv, int lanes, int pixels, int blocks,
                 const std::vector<llvm::AllocaInst*>& acc, llvm::Value* residualOffset,
                 const std::function<llvm::Value*(llvm::Value* base, int p, int j)>& outAt) {
  llvm::LLVMContext& ctx = b.getContext();
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* f32 = b.getFloatTy();
  auto* vec = llvm::FixedVectorType::get(f32, unsigned(lanes));
  auto arg = [&](runtime::ConvArg a) {
    return b.CreateAlignedLoad(i64, b.CreateConstInBoundsGEP1_64(i64, argv, uint64_t(a)), llvm::Align(8));
  };
  llvm::Value* flags = arg(runtime::kConvPostFlags);
  auto* done = llvm::BasicBlock::Create(ctx, "post.done", fn);
  // if (flags & flag) { body() }
  auto when = [&](int64_t flag, const std::function<void()>& body) {
    auto* then = llvm::BasicBlock::Create(ctx, "post", fn);
    auto* next = llvm::BasicBlock::Create(ctx, "post.next", fn);
    b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(flags, b.getInt64(flag)), b.getInt64(0)), then, next);
    b.SetInsertPoint(then);
    body();
    b.CreateBr(next);
    b.SetInsertPoint(next);
  };
  auto each = [&](const std::function<llvm::Value*(llvm::Value*, int, int)>& f) {
    for (int p = 0; p < pixels; ++p)
      for (int j = 0; j < blocks; ++j) {
        llvm::AllocaInst* slot = acc[size_t(p * blocks + j)];
        b.CreateStore(f(b.CreateLoad(vec, slot), p, j), slot);
      }
  };
  auto* post = llvm::BasicBlock::Create(ctx, "post.final", fn);
  b.CreateCondBr(b.CreateICmpNE(b.CreateAnd(flags, b.getInt64(runtime::kConvPostFinal)), b.getInt64(0)), post, done);
  b.SetInsertPoint(post);
  when(runtime::kConvPostAddBias, [&] {
    llvm::Value* bias = b.CreateIntToPtr(arg(runtime::kConvPostBias), b.getPtrTy());
    each([&](llvm::Value* v, int, int j) {
      return b.CreateFAdd(v, b.CreateAlignedLoad(vec, b.CreateConstInBoundsGEP1_64(f32, bias, uint64_t(j * lanes)),
                                                 llvm::Align(4)));
    });
  });
  when(runtime::kConvPostAddResidual, [&] {
    llvm::Value* residual =
        b.CreateInBoundsGEP(f32, b.CreateIntToPtr(arg(runtime::kConvPostResidual), b.getPtrTy()), residualOffset);
    each([&](llvm::Value* v, int p, int j) {
      return b.CreateFAdd(v, b.CreateAlignedLoad(vec, outAt(residual, p, j), llvm::Align(4)));
    });
  });
  when(runtime::kConvPostClip, [&] {
    auto bound = [&](runtime::ConvArg a) {
      return b.CreateVectorSplat(unsigned(lanes), b.CreateBitCast(b.CreateTrunc(arg(a), b.getInt32Ty()), f32));
    };
    llvm::Value* lo = bound(runtime::kConvPostClipLow);
    llvm::Value* hi = bound(runtime::kConvPostClipHigh);
    each([&](llvm::Value* v, int, int) {
      v = b.CreateSelect(b.CreateFCmpOLT(v, lo), lo, v);
      return b.CreateSelect(b.CreateFCmpOGT(v, hi), hi, v);
    });
  });
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

// A depthwise tile (see runtime/conv_blocked.h): a row of `pixels` outputs
// with the kernel's columns unrolled (loads of the same input vector by
// neighbouring pixels become one), or an edge pixel with its taps in loops.
llvm::Function* emitDepthwiseMicroKernel(llvm::Module& m, const runtime::ConvMicroKernelShape& shape,
                                         const FunctionTarget& target) {
  llvm::Function* fn = declare(m, shape, target);
  llvm::LLVMContext& ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* f32 = b.getFloatTy();
  const int lanes = shape.lanes;
  auto* vec = llvm::FixedVectorType::get(f32, unsigned(lanes));
  llvm::Value* w = fn->getArg(1);
  llvm::Value* argv = fn->getArg(3);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  auto arg = [&](runtime::ConvArg a) {
    return b.CreateAlignedLoad(i64, b.CreateConstInBoundsGEP1_64(i64, argv, uint64_t(a)), llvm::Align(8));
  };
  auto at = [&](llvm::Value* base, llvm::Value* index, llvm::Value* stride) {
    return b.CreateInBoundsGEP(f32, base, b.CreateMul(index, stride, "", true, true));
  };
  auto loadVec = [&](llvm::Value* p) { return b.CreateAlignedLoad(vec, p, llvm::Align(4)); };
  auto fma = [&](llvm::Value* x, llvm::Value* y, llvm::Value* acc) {
    return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec}, {x, y, acc});
  };
  llvm::Value* kernelRows = arg(runtime::kConvKernelRows);
  llvm::Value* inRowStride = arg(runtime::kConvInRowStride);
  llvm::Value* wRowStride = arg(runtime::kConvWeightRowStride);
  const bool edge = shape.kind == runtime::ConvMicroKernelShape::Kind::DepthwiseEdge;
  const int pixels = edge ? 1 : shape.pixels;
  std::vector<llvm::AllocaInst*> acc(static_cast<size_t>(pixels));
  for (auto& slot : acc) slot = b.CreateAlloca(vec);
  // One tile at in + tileIndex * (its input step), out + tileIndex * pixels * B.
  auto tile = [&](llvm::Value* tileIndex) {
    llvm::Value* outOffset = b.CreateMul(tileIndex, b.getInt64(int64_t(pixels) * lanes), "", true, true);
    llvm::Value* in = b.CreateInBoundsGEP(
        f32, fn->getArg(0), b.CreateMul(tileIndex, b.getInt64(int64_t(pixels) * shape.stride * lanes), "", true, true));
    llvm::Value* out = b.CreateInBoundsGEP(f32, fn->getArg(2), outOffset);
    for (auto& slot : acc) b.CreateStore(llvm::Constant::getNullValue(vec), slot);
    emitLoop(b, fn, kernelRows, [&](llvm::Value* r) {
      llvm::Value* inRow = at(in, r, inRowStride);
      llvm::Value* wRow = at(w, r, wRowStride);
      if (edge) {
        llvm::Value* inColStride = arg(runtime::kConvInColStride);
        emitLoop(b, fn, arg(runtime::kConvKernelCols), [&](llvm::Value* c) {
          llvm::Value* x = loadVec(at(inRow, c, inColStride));
          llvm::Value* wv = loadVec(at(wRow, c, b.getInt64(lanes)));
          b.CreateStore(fma(x, wv, b.CreateLoad(vec, acc[0])), acc[0]);
        });
        return;
      }
      std::vector<llvm::Value*> sums(acc.size());
      for (size_t p = 0; p < acc.size(); ++p) sums[p] = b.CreateLoad(vec, acc[p]);
      for (int c = 0; c < shape.kernelW; ++c) {
        llvm::Value* wv = loadVec(b.CreateConstInBoundsGEP1_64(f32, wRow, uint64_t(c * lanes)));
        for (int p = 0; p < pixels; ++p) {
          int64_t column = int64_t(p) * shape.stride + int64_t(c) * shape.dilation;
          llvm::Value* x = loadVec(b.CreateConstInBoundsGEP1_64(f32, inRow, uint64_t(column * lanes)));
          sums[size_t(p)] = fma(x, wv, sums[size_t(p)]);
        }
      }
      for (size_t p = 0; p < acc.size(); ++p) b.CreateStore(sums[p], acc[p]);
    });
    auto outAt = [&](llvm::Value* base, int p, int) {
      return b.CreateConstInBoundsGEP1_64(f32, base, uint64_t(p * lanes));
    };
    emitPostOps(b, fn, argv, lanes, pixels, 1, acc, outOffset, outAt);
    for (int p = 0; p < pixels; ++p)
      b.CreateAlignedStore(b.CreateLoad(vec, acc[size_t(p)]), outAt(out, p, 0), llvm::Align(4));
  };
  if (edge) tile(b.getInt64(0));
  else emitLoop(b, fn, arg(runtime::kConvRowTiles), tile);
  b.CreateRetVoid();
  return fn;
}

llvm::Function* emitDenseConvMicroKernel(llvm::Module& m, const runtime::ConvMicroKernelShape& shape,
                                         const FunctionTarget& target) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* f32 = b.getFloatTy();
  const int lanes = shape.lanes, pixels = shape.pixels, blocks = shape.blocks;
  auto* vec = llvm::FixedVectorType::get(f32, unsigned(lanes));

  llvm::Function* fn = declare(m, shape, target);
  llvm::Value* w = fn->getArg(1);
  llvm::Value* argv = fn->getArg(3);

  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  auto arg = [&](runtime::ConvArg a) {
    return b.CreateAlignedLoad(i64, b.CreateConstInBoundsGEP1_64(i64, argv, uint64_t(a)), llvm::Align(8));
  };
  llvm::Value* inBlocks = arg(runtime::kConvInBlocks);
  llvm::Value* kernelRows = arg(runtime::kConvKernelRows);
  llvm::Value* kernelCols = arg(runtime::kConvKernelCols);
  llvm::Value* inBlockStride = arg(runtime::kConvInBlockStride);
  llvm::Value* inRowStride = arg(runtime::kConvInRowStride);
  llvm::Value* inColStride = arg(runtime::kConvInColStride);
  llvm::Value* inPixelStride = arg(runtime::kConvInPixelStride);
  llvm::Value* inChannelStride = arg(runtime::kConvInChannelStride);
  llvm::Value* channelsPerBlock = arg(runtime::kConvChannelsPerBlock);
  llvm::Value* wBlockStride = arg(runtime::kConvWeightBlockStride);
  llvm::Value* wRowStride = arg(runtime::kConvWeightRowStride);
  llvm::Value* wColStride = arg(runtime::kConvWeightColStride);
  llvm::Value* wOutStride = arg(runtime::kConvWeightOutStride);
  llvm::Value* outBlockStride = arg(runtime::kConvOutBlockStride);
  llvm::Value* outPixelStride = arg(runtime::kConvOutPixelStride);
  const bool column = shape.stride == 0;
  const int64_t pixelStep = int64_t(shape.stride) * (shape.plainInput ? 1 : lanes);  // row tiles, in floats
  llvm::Value* accumulate = arg(runtime::kConvAccumulate);

  // Accumulators in allocas that SROA turns into registers.
  std::vector<llvm::AllocaInst*> acc(static_cast<size_t>(pixels * blocks));
  for (auto& slot : acc) slot = b.CreateAlloca(vec);
  auto accAt = [&](int p, int j) { return acc[size_t(p * blocks + j)]; };

  auto loop = [&](llvm::Value* count, const std::function<void(llvm::Value*)>& body) { emitLoop(b, fn, count, body); };
  auto offset = [&](llvm::Value* base, llvm::Value* index, llvm::Value* stride) {
    return b.CreateInBoundsGEP(f32, base, b.CreateMul(index, stride, "", true, true));
  };

  // One input channel: weights at wChannel (+ j * wOutStride), the pixels'
  // values at pixelBase[p] + channelOffset.
  auto channel = [&](const std::vector<llvm::Value*>& pixelBase, llvm::Value* channelOffset, llvm::Value* wChannel) {
    std::vector<llvm::Value*> wv(static_cast<size_t>(blocks));
    for (int j = 0; j < blocks; ++j)
      wv[size_t(j)] = b.CreateAlignedLoad(vec, offset(wChannel, b.getInt64(j), wOutStride), llvm::Align(4));
    for (int p = 0; p < pixels; ++p) {
      llvm::Value* x = b.CreateAlignedLoad(f32, b.CreateInBoundsGEP(f32, pixelBase[size_t(p)], channelOffset),
                                           llvm::Align(4));
      llvm::Value* splat = b.CreateVectorSplat(unsigned(lanes), x);
      for (int j = 0; j < blocks; ++j) {
        llvm::AllocaInst* slot = accAt(p, j);
        b.CreateStore(b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vec}, {splat, wv[size_t(j)], b.CreateLoad(vec, slot)}),
                      slot);
      }
    }
  };

  // One tile at in + tileIndex * pixels * pixelStep, out + tileIndex *
  // pixels * B (a column tile: 0).
  auto tile = [&](llvm::Value* tileIndex) {
    llvm::Value* outOffset = b.CreateMul(tileIndex, b.getInt64(int64_t(pixels) * lanes), "", true, true);
    llvm::Value* in =
        b.CreateInBoundsGEP(f32, fn->getArg(0), b.CreateMul(tileIndex, b.getInt64(pixels * pixelStep), "", true, true));
    llvm::Value* out = b.CreateInBoundsGEP(f32, fn->getArg(2), outOffset);
    for (auto& slot : acc) b.CreateStore(llvm::Constant::getNullValue(vec), slot);
    // One kernel tap of an input block: its input and weights at inTap, wTap.
    auto tap = [&](llvm::Value* inTap, llvm::Value* wTap) {
      std::vector<llvm::Value*> pixelBase(static_cast<size_t>(pixels));
      for (int p = 0; p < pixels; ++p)
        pixelBase[size_t(p)] = column ? offset(inTap, b.getInt64(p), inPixelStride)
                                      : b.CreateConstInBoundsGEP1_64(f32, inTap, uint64_t(p * pixelStep));
      if (shape.plainInput) {
        loop(channelsPerBlock, [&](llvm::Value* i) {
          channel(pixelBase, b.CreateMul(i, inChannelStride, "", true, true),
                  b.CreateInBoundsGEP(f32, wTap, b.CreateMul(i, b.getInt64(lanes), "", true, true)));
        });
        return;
      }
      // The block's channels in a loop of 2 at a time: a fraction of the code
      // of a full unroll (which compiles many times slower), the same loads
      // and FMAs. A 1x1 kernel's tap is the whole body of its loop over input
      // blocks, where the loops' overhead showed: 8 at a time (a 256 -> 64
      // 1x1 at 56x56 on AVX2 ran in 0.82x the time of 2 at a time inside
      // kernel row and column loops; a 3x3 kernel did not gain).
      const int unroll = shape.singleTap ? std::min(lanes, 8) : 2;
      loop(b.getInt64(lanes / unroll), [&](llvm::Value* step) {
        llvm::Value* first = b.CreateMul(step, b.getInt64(unroll), "", true, true);
        llvm::Value* wFirst = offset(wTap, first, b.getInt64(lanes));
        std::vector<llvm::Value*> bases(pixelBase.size());
        for (size_t p = 0; p < bases.size(); ++p) bases[p] = b.CreateInBoundsGEP(f32, pixelBase[p], first);
        for (int i = 0; i < unroll; ++i)
          channel(bases, b.getInt64(i), b.CreateConstInBoundsGEP1_64(f32, wFirst, uint64_t(i * lanes)));
      });
    };
    loop(inBlocks, [&](llvm::Value* cb) {
      llvm::Value* inBlock = offset(in, cb, inBlockStride);
      llvm::Value* wBlock = offset(w, cb, wBlockStride);
      if (shape.singleTap) return tap(inBlock, wBlock);
      loop(kernelRows, [&](llvm::Value* r) {
        llvm::Value* inRow = offset(inBlock, r, inRowStride);
        llvm::Value* wRow = offset(wBlock, r, wRowStride);
        loop(kernelCols, [&](llvm::Value* c) { tap(offset(inRow, c, inColStride), offset(wRow, c, wColStride)); });
      });
    });

    auto* addBB = llvm::BasicBlock::Create(ctx, "accumulate", fn);
    auto* postBB = llvm::BasicBlock::Create(ctx, "postops", fn);
    // Output (p, j) of a tile starting at `base` (the output or the residual).
    auto outAt = [&](llvm::Value* base, int p, int j) {
      llvm::Value* block = offset(base, b.getInt64(j), outBlockStride);
      return column ? offset(block, b.getInt64(p), outPixelStride)
                    : b.CreateConstInBoundsGEP1_64(f32, block, uint64_t(p * lanes));
    };
    b.CreateCondBr(b.CreateICmpNE(accumulate, b.getInt64(0)), addBB, postBB);
    b.SetInsertPoint(addBB);
    for (int p = 0; p < pixels; ++p)
      for (int j = 0; j < blocks; ++j) {
        llvm::AllocaInst* slot = accAt(p, j);
        b.CreateStore(b.CreateFAdd(b.CreateLoad(vec, slot), b.CreateAlignedLoad(vec, outAt(out, p, j), llvm::Align(4))),
                      slot);
      }
    b.CreateBr(postBB);
    b.SetInsertPoint(postBB);
    emitPostOps(b, fn, argv, lanes, pixels, blocks, acc, outOffset, outAt);
    for (int p = 0; p < pixels; ++p)
      for (int j = 0; j < blocks; ++j)
        b.CreateAlignedStore(b.CreateLoad(vec, accAt(p, j)), outAt(out, p, j), llvm::Align(4));
  };
  if (column) tile(b.getInt64(0));
  else emitLoop(b, fn, arg(runtime::kConvRowTiles), tile);
  b.CreateRetVoid();
  return fn;
}

}  // namespace

llvm::Function* emitConvMicroKernel(llvm::Module& m, const runtime::ConvMicroKernelShape& shape,
                                    const FunctionTarget& target) {
  switch (shape.kind) {
    case runtime::ConvMicroKernelShape::Kind::Dense: return emitDenseConvMicroKernel(m, shape, target);
    case runtime::ConvMicroKernelShape::Kind::Depthwise:
    case runtime::ConvMicroKernelShape::Kind::DepthwiseEdge: return emitDepthwiseMicroKernel(m, shape, target);
  }
  return nullptr;
}

}  // namespace dlc::codegen::llvm_backend
