#include "runtime/program_spec.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/steps.h"
#include "support/error_types.h"

namespace dlc::runtime {

namespace {

std::string str(int64_t v) { return std::to_string(v); }

// Bytes a strided operand of `elementBytes` elements reaches:
// elementBytes * (1 + sum (extent-1)*stride), or 0 when an extent is 0.
int64_t reachBytes(std::initializer_list<std::pair<int64_t, int64_t>> extentStride, int64_t elementBytes = 4) {
  int64_t last = 0;
  for (auto [extent, stride] : extentStride) {
    if (extent == 0) return 0;
    last += (extent - 1) * stride;
  }
  return elementBytes * (last + 1);
}

constexpr uint8_t kF32 = 1, kF16 = 3, kBF16 = 4;  // ir::DType codes

class Validator {
 public:
  Validator(const ProgramSpec& spec, size_t numKernels) : s_(spec), numKernels_(numKernels) {}

  void run() {
    if (s_.arenaBytes < 0) fail("negative arena size");
    if (s_.kernelNames.size() != numKernels_)
      fail("the spec names " + str(int64_t(s_.kernelNames.size())) + " kernels, the kernel table has " +
           str(int64_t(numKernels_)));
    if (!s_.launches.empty() && s_.launches.size() != s_.kernelNames.size())
      fail("the spec has " + str(int64_t(s_.launches.size())) + " GPU launch shapes for " +
           str(int64_t(s_.kernelNames.size())) + " kernels");
    for (const GpuLaunchSpec& l : s_.launches)
      if (l.blocks < 0 || l.threads < 1 || l.threads > 1024) fail("invalid GPU launch shape");
    for (const TensorSpec& t : s_.inputs) checkTensor(t, "input");
    for (const TensorSpec& t : s_.outputs) checkTensor(t, "output");
    for (const ConstantSpec& c : s_.constants) {
      checkTensor(c.type, "constant");
      if (c.bytes != tensorBytes(c.type)) fail("constant '" + c.type.name + "' has the wrong byte size");
      if (c.bytes > 0 && !c.data) fail("constant '" + c.type.name + "' has no data");
    }
    for (size_t i = 0; i < s_.steps.size(); ++i) {
      step_ = i;
      std::visit([&](const auto& op) { check(op); }, s_.steps[i].op);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw UserError("invalid program" + (step_ == SIZE_MAX ? std::string() : " (step " + str(int64_t(step_)) + ")") +
                    ": " + what);
  }

  void checkTensor(const TensorSpec& t, const char* kind) {
    if (dtypeBytes(t.dtype) == 0) fail(std::string(kind) + " '" + t.name + "' has an unknown dtype");
    if (tensorBytes(t) < 0) fail(std::string(kind) + " '" + t.name + "' has an invalid shape");
  }

  void checkKernel(int64_t k, bool optional) {
    if (optional && k == kNone) return;
    if (k < 0 || size_t(k) >= numKernels_) fail("kernel index " + str(k) + " out of range");
  }

  // The buffer exists and has at least `bytes` bytes.
  void checkRef(SpecRef r, int64_t bytes = 0) {
    if (bytes < 0) fail("negative size");
    int64_t have = 0;
    switch (r.space) {
      case SpecRef::Space::Arena:
        if (r.index < 0 || r.index > s_.arenaBytes) fail("arena offset " + str(r.index) + " out of range");
        have = s_.arenaBytes - r.index;
        break;
      case SpecRef::Space::Input:
        if (r.index < 0 || size_t(r.index) >= s_.inputs.size()) fail("input index " + str(r.index) + " out of range");
        have = tensorBytes(s_.inputs[size_t(r.index)]);
        break;
      case SpecRef::Space::Output:
        if (r.index < 0 || size_t(r.index) >= s_.outputs.size())
          fail("output index " + str(r.index) + " out of range");
        have = tensorBytes(s_.outputs[size_t(r.index)]);
        break;
      case SpecRef::Space::Constant:
        if (r.index < 0 || size_t(r.index) >= s_.constants.size())
          fail("constant index " + str(r.index) + " out of range");
        have = s_.constants[size_t(r.index)].bytes;
        break;
      default: fail("unknown buffer space");
    }
    if (bytes > have) fail("a buffer of " + str(have) + " bytes is used as " + str(bytes) + " bytes");
  }

  const ConstantSpec& constant(int64_t index) {
    checkRef({SpecRef::Space::Constant, index});
    return s_.constants[size_t(index)];
  }

  void check(const KernelStepSpec& k) {
    checkKernel(k.kernel, false);
    for (SpecRef r : k.buffers) checkRef(r);
    if (k.extent0 < 0 || k.extent1 < 0) fail("negative kernel extents");
    if (k.hasStatus) checkRef(k.status, 8);
  }

  void check(const GemmStepSpec& g) {
    const GemmArgs& a = g.shape;
    for (int64_t v : {a.batch, a.M, a.N, a.K, a.aBatchStride, a.aRowStride, a.aColStride, a.bBatchStride,
                      a.bRowStride, a.bColStride, a.cBatchStride, a.ldc})
      if (v < 0 || v > (int64_t(1) << 40)) fail("GEMM dimension or stride out of range");
    if (g.dtype != kF32 && g.dtype != kF16 && g.dtype != kBF16) fail("GEMM element type must be f32, f16 or bf16");
    if (g.cDtype != g.dtype && g.cDtype != kF32) fail("GEMM result type must be the operands' or f32");
    int64_t e = dtypeBytes(g.dtype);
    int64_t aBytes = reachBytes({{a.batch, a.aBatchStride}, {a.M, a.aRowStride}, {a.K, a.aColStride}}, e);
    int64_t bBytes = reachBytes({{a.batch, a.bBatchStride}, {a.K, a.bRowStride}, {a.N, a.bColStride}}, e);
    if (g.packA != kNone) {
      if (a.aBatchStride != 0 && a.batch > 1) fail("a packed A operand must be shared by every batch");
      if (constant(g.packA).bytes < aBytes) fail("packed A constant too small");
    } else {
      checkRef(g.a, aBytes);
    }
    if (g.packB != kNone) {
      if (a.bBatchStride != 0 && a.batch > 1) fail("a packed B operand must be shared by every batch");
      if (constant(g.packB).bytes < bBytes) fail("packed B constant too small");
    } else {
      checkRef(g.b, bBytes);
    }
    if (a.N > a.ldc && a.M > 1) fail("GEMM ldc smaller than N");
    checkRef(g.c, reachBytes({{a.batch, a.cBatchStride}, {a.M, a.ldc}, {a.N, 1}}, dtypeBytes(g.cDtype)));
    checkKernel(g.epilogue, true);
    for (SpecRef r : g.epilogueBuffers) checkRef(r);
    if (g.ltEpilogue & ~(kLtRelu | kLtBias | kLtResidual)) fail("unknown cuBLASLt epilogue flags");
    if (g.ltEpilogue != kLtNone) {
      if (g.epilogue == kNone) fail("a cuBLASLt epilogue without the kernel that computes it otherwise");
      if (g.dtype != kF32 || g.cDtype != kF32 || a.batch != 1) fail("a cuBLASLt epilogue on a batched or half GEMM");
      if (!std::isfinite(g.ltAlpha)) fail("cuBLASLt alpha is not finite");
    }
    if (g.ltEpilogue & kLtBias) checkRef(g.ltBias, a.N * 4);
    if (g.ltEpilogue & kLtResidual) checkRef(g.ltResidual, reachBytes({{a.M, a.ldc}, {a.N, 1}}, 4));
  }

  void checkConvShape(const ConvShape& s) {
    for (int64_t v : {s.batch, s.inChannels, s.inH, s.inW, s.outChannels, s.kernelH, s.kernelW, s.group, s.strideH,
                      s.strideW, s.dilationH, s.dilationW, s.padTop, s.padLeft, s.padBottom, s.padRight})
      if (v < 0 || v > (int64_t(1) << 30)) fail("convolution dimension out of range");
    if (s.group < 1 || s.strideH < 1 || s.strideW < 1 || s.dilationH < 1 || s.dilationW < 1 || s.kernelH < 1 ||
        s.kernelW < 1 || s.inChannels < 1 || s.outChannels < 1 || s.inChannels % s.group != 0 ||
        s.outChannels % s.group != 0 || s.outH() < 1 || s.outW() < 1)
      fail("invalid convolution shape");
  }

  void checkConvWeights(SpecRef w, const ConvShape& s, int64_t elementBytes = 4) {
    int64_t bytes = elementBytes * s.outChannels * s.depth();
    if (w.space == SpecRef::Space::Constant) {
      if (constant(w.index).bytes < bytes) fail("convolution weights too small");
    } else {
      checkRef(w, bytes);
    }
  }

  void check(const ConvStepSpec& c) {
    const ConvShape& s = c.shape;
    checkConvShape(s);
    if (c.dtype != kF32 && c.dtype != kF16 && c.dtype != kBF16) fail("convolution type must be f32, f16 or bf16");
    if (c.cDtype != c.dtype && c.cDtype != kF32) fail("convolution result type must be its input's or f32");
    int64_t e = dtypeBytes(c.dtype);
    checkRef(c.x, e * s.batch * s.inChannels * s.inH * s.inW);
    checkRef(c.y, dtypeBytes(c.cDtype) * s.batch * s.outChannels * s.outH() * s.outW());
    checkConvWeights(c.weights, s, e);
    checkKernel(c.epilogue, true);
    for (SpecRef r : c.epilogueBuffers) checkRef(r);
    checkKernel(c.im2col, true);
  }

  void check(const ConvTransposeStepSpec& c) {
    const ConvShape& s = c.shape;
    checkConvShape(s);
    checkRef(c.x, 4 * s.batch * s.outChannels * s.outH() * s.outW());
    checkRef(c.y, 4 * s.batch * s.inChannels * s.inH * s.inW);
    checkConvWeights(c.weights, s);
    if (c.hasBias) checkRef(c.bias, 4 * s.inChannels);
    checkRef(c.scratch, convTransposeColumnBytes(s));
    checkKernel(c.col2im, true);
  }

  void check(const BlockedConvStepSpec& c) {
    const BlockedConvShape& s = c.shape;
    for (int64_t v : {s.batch, s.inBlocks, s.channelsPerBlock, s.inH, s.inW, s.outBlocks, s.outH, s.outW, s.lanes,
                      s.kernelH, s.kernelW, s.strideH, s.strideW, s.dilationH, s.dilationW, s.padTop, s.padLeft})
      if (v < 0 || v > (int64_t(1) << 30)) fail("blocked convolution dimension out of range");
    try {
      s.check();
    } catch (const InternalError&) {
      fail("invalid blocked convolution shape");
    }
    const int64_t B = s.lanes;
    const int64_t inBytes = 4 * s.batch * (s.plainInput ? s.channelsPerBlock : s.inBlocks * B) * s.inH * s.inW;
    checkRef(c.x, inBytes);
    checkRef(c.y, 4 * s.batch * s.outBlocks * s.outH * s.outW * B);
    int64_t wBytes = 4 * s.outBlocks * (s.depthwise ? 1 : s.inBlocks) * s.kernelH * s.kernelW * s.channelsPerBlock * B;
    if (c.weights.space == SpecRef::Space::Constant) {
      if (constant(c.weights.index).bytes < wBytes) fail("blocked convolution weights too small");
    } else {
      checkRef(c.weights, wBytes);
    }
    if (c.main.pixels < 1 || c.main.blocks < 1 || c.main.blocks > s.outBlocks) fail("invalid blocked convolution tile");
    for (ConvTile t : convTilesUsed(s, c.main)) {
      auto it = std::find_if(c.tiles.begin(), c.tiles.end(), [&](const BlockedConvTileSpec& k) { return k.tile == t; });
      if (it == c.tiles.end()) fail("a blocked convolution without the micro-kernel of one of its tiles");
      checkKernel(it->kernel, false);
      ConvMicroKernelShape want = microKernelFor(s, t);
      if (s_.kernelNames[it->kernel] != want.name())
        fail("kernel " + s_.kernelNames[it->kernel] + " is no " + want.name() + " micro-kernel");
    }
    if (c.post.flags & ~int64_t(kConvPostAddBias | kConvPostAddResidual | kConvPostClip))
      fail("unknown blocked convolution post-op flags");
    if (c.post.flags & kConvPostAddBias) checkRef(c.postBias, 4 * s.outBlocks * B);
    if (c.post.flags & kConvPostAddResidual) checkRef(c.postResidual, 4 * s.batch * s.outBlocks * s.outH * s.outW * B);
    checkKernel(c.epilogue, true);
    for (SpecRef r : c.epilogueBuffers) checkRef(r);
  }

  void check(const CopyStepSpec& c) {
    checkRef(c.from, c.bytes);
    checkRef(c.to, c.bytes);
  }

  void check(const LibraryStepSpec&) {}

  const ProgramSpec& s_;
  size_t numKernels_;
  size_t step_ = SIZE_MAX;
};

}  // namespace

int64_t dtypeBytes(uint8_t dtype) {
  // ir::DType: Undefined, F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, Bool.
  static constexpr int64_t sizes[] = {0, 4, 8, 2, 2, 1, 2, 4, 8, 1, 2, 4, 8, 1};
  return dtype < std::size(sizes) ? sizes[dtype] : 0;
}

int64_t elementCount(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > (int64_t(1) << 40)) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 16 / d) return -1;
    n *= d;
  }
  return n;
}

int64_t tensorBytes(const TensorSpec& t) {
  int64_t n = elementCount(t.shape);
  return n < 0 ? -1 : n * dtypeBytes(t.dtype);
}

void validate(const ProgramSpec& spec, size_t numKernels) { Validator(spec, numKernels).run(); }

BufferRef bind(const ProgramSpec& spec, SpecRef ref) {
  switch (ref.space) {
    case SpecRef::Space::Arena: return {BufferRef::Space::Arena, ref.index, nullptr};
    case SpecRef::Space::Input: return {BufferRef::Space::Input, ref.index, nullptr};
    case SpecRef::Space::Output: return {BufferRef::Space::Output, ref.index, nullptr};
    case SpecRef::Space::Constant: return {BufferRef::Space::Fixed, 0, spec.constants.at(size_t(ref.index)).data};
  }
  throw InternalError("unknown buffer space");
}

namespace {

class Instantiator {
 public:
  Instantiator(const ProgramSpec& spec, const CompiledKernels& code, const LibraryStepFactory& library)
      : s_(spec), code_(code), library_(library) {}

  std::unique_ptr<Step> make(const StepSpec& step) {
    return std::visit([&](const auto& op) { return make(op, step.what); }, step.op);
  }

 private:
  BufferRef ref(SpecRef r) const { return bind(s_, r); }
  std::vector<BufferRef> refs(const std::vector<SpecRef>& rs) const {
    std::vector<BufferRef> out;
    out.reserve(rs.size());
    for (SpecRef r : rs) out.push_back(ref(r));
    return out;
  }
  KernelFn kernel(int32_t index) const { return index == kNone ? nullptr : code_.kernels.at(size_t(index)); }
  const float* floats(int32_t constant) const {
    return static_cast<const float*>(s_.constants.at(size_t(constant)).data);
  }

  std::unique_ptr<Step> make(const KernelStepSpec& k, const std::string& what) {
    auto step = std::make_unique<KernelStep>(kernel(int32_t(k.kernel)), refs(k.buffers), k.extent0, k.extent1,
                                             k.minPointsPerTile, what);
    if (k.hasStatus) step->setStatus(ref(k.status), k.statusMessage);
    return step;
  }

  std::unique_ptr<Step> make(const GemmStepSpec& g, const std::string& what) {
    if (g.dtype != kF32 || g.cDtype != kF32) throw UserError("a GEMM in half precision: the CPU runtime runs f32 GEMMs only (" + what + ")");
    const GemmMicroKernel& uk = code_.microKernel;
    const GemmArgs& a = g.shape;
    GemmOperands op;
    op.shape = a;
    if (g.packA != kNone)
      op.packedA = std::make_shared<PackedMatrix>(packA(uk, floats(g.packA), a.M, a.K, a.aRowStride, a.aColStride));
    else
      op.a = ref(g.a);
    if (g.packB != kNone)
      op.packedB = std::make_shared<PackedMatrix>(packB(uk, floats(g.packB), a.K, a.N, a.bRowStride, a.bColStride));
    else
      op.b = ref(g.b);
    op.c = ref(g.c);
    op.epilogue = kernel(g.epilogue);
    op.epilogueBuffers = refs(g.epilogueBuffers);
    return std::make_unique<GemmStep>(uk, std::move(op), what);
  }

  ConvOperands convOperands(const ConvShape& shape, SpecRef weights, SpecRef x, SpecRef y, bool transpose) {
    ConvOperands op;
    op.shape = shape;
    if (weights.space == SpecRef::Space::Constant) {
      const float* w = floats(int32_t(weights.index));
      op.packed = std::make_shared<PackedConvWeights>(transpose ? prepareConvTransposeWeights(code_.microKernel, shape, w)
                                                                : prepareConvWeights(code_.microKernel, shape, w));
    } else {
      op.weights = ref(weights);
    }
    op.x = ref(x);
    op.y = ref(y);
    return op;
  }

  std::unique_ptr<Step> make(const ConvStepSpec& c, const std::string& what) {
    if (c.dtype != kF32 || c.cDtype != kF32)
      throw UserError("a convolution in half precision: the CPU runtime runs f32 convolutions only (" + what + ")");
    return std::make_unique<ConvStep>(code_.microKernel, convOperands(c.shape, c.weights, c.x, c.y, false),
                                      kernel(c.epilogue), refs(c.epilogueBuffers), what);
  }

  std::unique_ptr<Step> make(const ConvTransposeStepSpec& c, const std::string& what) {
    return std::make_unique<ConvTransposeStep>(code_.microKernel, convOperands(c.shape, c.weights, c.x, c.y, true),
                                               c.hasBias ? std::optional(ref(c.bias)) : std::nullopt, ref(c.scratch),
                                               what);
  }

  std::unique_ptr<Step> make(const BlockedConvStepSpec& c, const std::string& what) {
    BlockedConvKernels kernels;
    kernels.main = c.main;
    for (const BlockedConvTileSpec& t : c.tiles)
      kernels.tiles.emplace_back(t.tile, asConvMicroKernel(kernel(int32_t(t.kernel))));
    BlockedConvStep::Post post{c.post, c.post.flags & kConvPostAddBias ? std::optional(ref(c.postBias)) : std::nullopt,
                               c.post.flags & kConvPostAddResidual ? std::optional(ref(c.postResidual)) : std::nullopt};
    return std::make_unique<BlockedConvStep>(c.shape, std::move(kernels), ref(c.x), ref(c.weights), ref(c.y), post,
                                             kernel(c.epilogue), refs(c.epilogueBuffers), what);
  }

  std::unique_ptr<Step> make(const CopyStepSpec& c, const std::string& what) {
    return std::make_unique<CopyStep>(ref(c.from), ref(c.to), c.bytes, what);
  }

  std::unique_ptr<Step> make(const LibraryStepSpec& l, const std::string&) {
    if (!library_)
      throw UserError("node " + l.node + " has no compiled lowering (it runs as a reference-kernel library call, " +
                      "which needs the IR): this program cannot run without the JIT");
    return library_(l);
  }

  const ProgramSpec& s_;
  const CompiledKernels& code_;
  const LibraryStepFactory& library_;
};

}  // namespace

Program instantiate(const ProgramSpec& spec, const CompiledKernels& code, const LibraryStepFactory& library) {
  validate(spec, code.kernels.size());
  for (size_t i = 0; i < code.kernels.size(); ++i)
    if (!code.kernels[i]) throw UserError("kernel " + spec.kernelNames[i] + " has no code");
  bool needsUk = false;
  for (const StepSpec& s : spec.steps)
    needsUk |= std::holds_alternative<GemmStepSpec>(s.op) || std::holds_alternative<ConvStepSpec>(s.op) ||
               std::holds_alternative<ConvTransposeStepSpec>(s.op);
  if (needsUk && !code.microKernel.fn) throw UserError("the program has GEMMs but no GEMM micro-kernel");
  Program program;
  program.setArenaBytes(spec.arenaBytes);
  Instantiator make(spec, code, library);
  for (const StepSpec& s : spec.steps) program.addStep(make.make(s));
  if (code.owner) program.keepAlive(code.owner);
  if (spec.storage) program.keepAlive(spec.storage);
  return program;
}

}  // namespace dlc::runtime
