#include "runtime/spec_format.h"

#include <cstring>
#include <string>

#include "support/error_types.h"

namespace dlc::runtime {

namespace {

constexpr char kSpecMagic[8] = {'D', 'L', 'C', 'S', 'P', 'E', 'C', '1'};
constexpr char kWeightsMagic[8] = {'D', 'L', 'C', 'W', 'G', 'H', 'T', '1'};

uint64_t fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = 14695981039346656037ull;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

class Writer {
 public:
  void u8(uint8_t v) { out.push_back(v); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void str(const std::string& s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void dims(const std::vector<int64_t>& d) {
    u64(d.size());
    for (int64_t v : d) i64(v);
  }
  void ref(SpecRef r) {
    u8(uint8_t(r.space));
    i64(r.index);
  }
  void refs(const std::vector<SpecRef>& rs) {
    u64(rs.size());
    for (SpecRef r : rs) ref(r);
  }
  void tensor(const TensorSpec& t) {
    str(t.name);
    u8(t.dtype);
    dims(t.shape);
  }
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }
  std::vector<uint8_t> out;
};

[[noreturn]] void corrupt(const std::string& what) { throw UserError("invalid AOT bundle: " + what); }

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  uint8_t u8() { return take(1)[0]; }
  uint32_t u32() { return load<uint32_t>(); }
  uint64_t u64() { return load<uint64_t>(); }
  int64_t i64() { return load<int64_t>(); }
  float f32() { return load<float>(); }
  // A count of items that each take at least `minBytes` (so a corrupt count
  // cannot make us allocate more than the blob's size).
  size_t count(size_t minBytes) {
    uint64_t n = u64();
    if (n > remaining() / std::max<size_t>(1, minBytes)) corrupt("a count exceeds the data left");
    return size_t(n);
  }
  std::string str() {
    size_t n = count(1);
    auto b = take(n);
    return std::string(reinterpret_cast<const char*>(b.data()), n);
  }
  std::vector<int64_t> dims() {
    std::vector<int64_t> d(count(8));
    for (int64_t& v : d) v = i64();
    return d;
  }
  SpecRef ref() {
    uint8_t space = u8();
    if (space > uint8_t(SpecRef::Space::Constant)) corrupt("unknown buffer space");
    return {SpecRef::Space(space), i64()};
  }
  std::vector<SpecRef> refs() {
    std::vector<SpecRef> r(count(9));
    for (SpecRef& x : r) x = ref();
    return r;
  }
  TensorSpec tensor() {
    TensorSpec t;
    t.name = str();
    t.dtype = u8();
    t.shape = dims();
    return t;
  }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  template <typename T>
  T load() {
    T v;
    std::memcpy(&v, take(sizeof(T)).data(), sizeof(T));
    return v;
  }
  std::span<const uint8_t> take(size_t n) {
    if (n > remaining()) corrupt("truncated data");
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

void writeGemm(Writer& w, const GemmArgs& a) {
  for (int64_t v : {a.batch, a.M, a.N, a.K, a.aBatchStride, a.aRowStride, a.aColStride, a.bBatchStride,
                    a.bRowStride, a.bColStride, a.cBatchStride, a.ldc})
    w.i64(v);
}

GemmArgs readGemm(Reader& r) {
  GemmArgs a;
  for (int64_t* v : {&a.batch, &a.M, &a.N, &a.K, &a.aBatchStride, &a.aRowStride, &a.aColStride, &a.bBatchStride,
                     &a.bRowStride, &a.bColStride, &a.cBatchStride, &a.ldc})
    *v = r.i64();
  return a;
}

void writeConv(Writer& w, const ConvShape& s) {
  for (int64_t v : {s.batch, s.inChannels, s.inH, s.inW, s.outChannels, s.kernelH, s.kernelW, s.group, s.strideH,
                    s.strideW, s.dilationH, s.dilationW, s.padTop, s.padLeft, s.padBottom, s.padRight})
    w.i64(v);
}

ConvShape readConv(Reader& r) {
  ConvShape s;
  for (int64_t* v : {&s.batch, &s.inChannels, &s.inH, &s.inW, &s.outChannels, &s.kernelH, &s.kernelW, &s.group,
                     &s.strideH, &s.strideW, &s.dilationH, &s.dilationW, &s.padTop, &s.padLeft, &s.padBottom,
                     &s.padRight})
    *v = r.i64();
  return s;
}

void writeBlockedConv(Writer& w, const BlockedConvShape& s) {
  w.u8(s.depthwise);
  w.u8(s.plainInput);
  for (int64_t v : {s.batch, s.inBlocks, s.channelsPerBlock, s.inH, s.inW, s.outBlocks, s.outH, s.outW, s.lanes,
                    s.kernelH, s.kernelW, s.strideH, s.strideW, s.dilationH, s.dilationW, s.padTop, s.padLeft})
    w.i64(v);
}

BlockedConvShape readBlockedConv(Reader& r) {
  BlockedConvShape s;
  s.depthwise = r.u8() != 0;
  s.plainInput = r.u8() != 0;
  for (int64_t* v : {&s.batch, &s.inBlocks, &s.channelsPerBlock, &s.inH, &s.inW, &s.outBlocks, &s.outH, &s.outW,
                     &s.lanes, &s.kernelH, &s.kernelW, &s.strideH, &s.strideW, &s.dilationH, &s.dilationW, &s.padTop,
                     &s.padLeft})
    *v = r.i64();
  return s;
}

enum class StepKind : uint8_t { Kernel, Gemm, Conv, Copy, ConvTranspose, BlockedConv };

std::vector<uint8_t> withHeader(const char (&magic)[8], const std::vector<uint8_t>& payload) {
  Writer h;
  h.raw(magic, 8);
  h.u32(kSpecFormatVersion);
  h.u32(0);
  h.u64(payload.size());
  h.u64(fnv1a(payload));
  h.out.resize(kBlobHeaderBytes, 0);
  h.out.insert(h.out.end(), payload.begin(), payload.end());
  return std::move(h.out);
}

// The payload of a blob after checking its header.
std::span<const uint8_t> payloadOf(std::span<const uint8_t> blob, const char (&magic)[8], const char* what) {
  if (blob.size() < kBlobHeaderBytes) corrupt(std::string(what) + " is truncated (no header)");
  if (std::memcmp(blob.data(), magic, 8) != 0) corrupt(std::string(what) + " has the wrong magic number");
  Reader r(blob.subspan(8, kBlobHeaderBytes - 8));
  uint32_t version = r.u32();
  if (version != kSpecFormatVersion)
    corrupt(std::string(what) + " has format version " + std::to_string(version) + ", this runtime reads " +
            std::to_string(kSpecFormatVersion));
  uint32_t reserved = r.u32();
  uint64_t size = r.u64(), checksum = r.u64();
  bool padded = reserved == 0;
  for (size_t i = 32; i < kBlobHeaderBytes; ++i) padded &= blob[i] == 0;
  if (!padded) corrupt(std::string(what) + " has a corrupt header (reserved bytes are not zero)");
  if (size != blob.size() - kBlobHeaderBytes)
    corrupt(std::string(what) + " is " + std::to_string(blob.size() - kBlobHeaderBytes) +
            " bytes, its header says " + std::to_string(size));
  auto payload = blob.subspan(kBlobHeaderBytes);
  if (fnv1a(payload) != checksum) corrupt(std::string(what) + " is corrupt (checksum mismatch)");
  return payload;
}

}  // namespace

SerializedSpec serializeSpec(const ProgramSpec& spec) {
  Writer weights;
  std::vector<uint64_t> offsets;
  for (const ConstantSpec& c : spec.constants) {
    weights.out.resize((weights.out.size() + 63) / 64 * 64, 0);
    offsets.push_back(weights.out.size());
    if (c.bytes > 0) {
      if (!c.data) throw InternalError("constant '" + c.type.name + "' has no data to serialise");
      weights.raw(c.data, size_t(c.bytes));
    }
  }
  Writer w;
  w.u64(weights.out.size());
  w.u64(fnv1a(weights.out));
  w.str(spec.target);
  w.i64(spec.arenaBytes);
  w.u64(spec.kernelNames.size());
  for (const std::string& k : spec.kernelNames) w.str(k);
  w.u64(spec.launches.size());
  for (const GpuLaunchSpec& l : spec.launches) {
    w.i64(l.blocks);
    w.u32(l.threads);
  }
  w.u64(spec.inputs.size());
  for (const TensorSpec& t : spec.inputs) w.tensor(t);
  w.u64(spec.outputs.size());
  for (const TensorSpec& t : spec.outputs) w.tensor(t);
  w.u64(spec.constants.size());
  for (size_t i = 0; i < spec.constants.size(); ++i) {
    w.tensor(spec.constants[i].type);
    w.i64(spec.constants[i].bytes);
    w.u64(offsets[i]);
  }
  w.u64(spec.describeLines.size());
  for (const std::string& l : spec.describeLines) w.str(l);
  w.u64(spec.steps.size());
  for (const StepSpec& step : spec.steps) {
    if (const auto* k = std::get_if<KernelStepSpec>(&step.op)) {
      w.u8(uint8_t(StepKind::Kernel));
      w.u32(k->kernel);
      w.refs(k->buffers);
      w.i64(k->extent0);
      w.i64(k->extent1);
      w.i64(k->minPointsPerTile);
      w.u8(k->hasStatus);
      w.ref(k->status);
      w.str(k->statusMessage);
    } else if (const auto* g = std::get_if<GemmStepSpec>(&step.op)) {
      w.u8(uint8_t(StepKind::Gemm));
      writeGemm(w, g->shape);
      w.u8(g->dtype);
      w.u8(g->cDtype);
      w.ref(g->a);
      w.ref(g->b);
      w.ref(g->c);
      w.i64(g->packA);
      w.i64(g->packB);
      w.i64(g->epilogue);
      w.refs(g->epilogueBuffers);
      w.u8(g->ltEpilogue);
      w.f32(g->ltAlpha);
      w.ref(g->ltBias);
      w.ref(g->ltResidual);
    } else if (const auto* c = std::get_if<ConvStepSpec>(&step.op)) {
      w.u8(uint8_t(StepKind::Conv));
      writeConv(w, c->shape);
      w.ref(c->x);
      w.ref(c->y);
      w.ref(c->weights);
      w.i64(c->epilogue);
      w.refs(c->epilogueBuffers);
      w.u8(c->dtype);
      w.u8(c->cDtype);
      w.i64(c->im2col);
    } else if (const auto* c = std::get_if<ConvTransposeStepSpec>(&step.op)) {
      w.u8(uint8_t(StepKind::ConvTranspose));
      writeConv(w, c->shape);
      w.ref(c->x);
      w.ref(c->y);
      w.ref(c->weights);
      w.u8(c->hasBias);
      w.ref(c->bias);
      w.ref(c->scratch);
      w.i64(c->col2im);
    } else if (const auto* c = std::get_if<BlockedConvStepSpec>(&step.op)) {
      w.u8(uint8_t(StepKind::BlockedConv));
      writeBlockedConv(w, c->shape);
      w.i64(c->main.pixels);
      w.i64(c->main.blocks);
      w.u64(c->tiles.size());
      for (const BlockedConvTileSpec& t : c->tiles) {
        w.i64(t.tile.pixels);
        w.i64(t.tile.blocks);
        w.u8(uint8_t(t.tile.column) | uint8_t(t.tile.edge) << 1);
        w.u32(t.kernel);
      }
      w.ref(c->x);
      w.ref(c->y);
      w.ref(c->weights);
      w.i64(c->post.flags);
      w.f32(c->post.clipLow);
      w.f32(c->post.clipHigh);
      w.ref(c->postBias);
      w.ref(c->postResidual);
      w.i64(c->epilogue);
      w.refs(c->epilogueBuffers);
    } else if (const auto* c = std::get_if<CopyStepSpec>(&step.op)) {
      w.u8(uint8_t(StepKind::Copy));
      w.ref(c->from);
      w.ref(c->to);
      w.i64(c->bytes);
    } else {
      throw UserError("node " + std::get<LibraryStepSpec>(step.op).node +
                      " has no compiled lowering (a reference-kernel library call): it cannot be compiled ahead of "
                      "time");
    }
    w.str(step.what);
  }
  return {withHeader(kSpecMagic, w.out), withHeader(kWeightsMagic, weights.out)};
}

ProgramSpec deserializeSpec(std::span<const uint8_t> specBlob, std::span<const uint8_t> weightsBlob,
                            std::shared_ptr<const void> weightsOwner) {
  Reader r(payloadOf(specBlob, kSpecMagic, "the program spec"));
  std::span<const uint8_t> weights = payloadOf(weightsBlob, kWeightsMagic, "the weights blob");
  if (reinterpret_cast<uintptr_t>(weights.data()) % 64 != 0) throw InternalError("weights are not 64-byte aligned");
  uint64_t weightsSize = r.u64(), weightsChecksum = r.u64();
  if (weightsSize != weights.size() || weightsChecksum != fnv1a(weights))
    corrupt("the weights do not belong to this program (size or checksum differs from the compiled one)");
  auto toInt32 = [](int64_t v) {
    if (v < kNone || v > INT32_MAX) corrupt("an index is out of range");
    return int32_t(v);
  };
  ProgramSpec s;
  s.target = r.str();
  s.arenaBytes = r.i64();
  s.kernelNames.resize(r.count(8));
  for (std::string& k : s.kernelNames) k = r.str();
  s.launches.resize(r.count(12));
  for (GpuLaunchSpec& l : s.launches) {
    l.blocks = r.i64();
    l.threads = r.u32();
  }
  s.inputs.resize(r.count(17));
  for (TensorSpec& t : s.inputs) t = r.tensor();
  s.outputs.resize(r.count(17));
  for (TensorSpec& t : s.outputs) t = r.tensor();
  s.constants.resize(r.count(33));
  for (ConstantSpec& c : s.constants) {
    c.type = r.tensor();
    c.bytes = r.i64();
    uint64_t offset = r.u64();
    if (c.bytes < 0 || offset % 64 != 0 || offset > weights.size() || uint64_t(c.bytes) > weights.size() - offset)
      corrupt("constant '" + c.type.name + "' lies outside the weights");
    c.data = weights.data() + offset;
  }
  s.describeLines.resize(r.count(8));
  for (std::string& l : s.describeLines) l = r.str();
  s.steps.resize(r.count(9));
  for (StepSpec& step : s.steps) {
    uint8_t kind = r.u8();
    switch (StepKind(kind)) {
      case StepKind::Kernel: {
        KernelStepSpec k;
        k.kernel = r.u32();
        k.buffers = r.refs();
        k.extent0 = r.i64();
        k.extent1 = r.i64();
        k.minPointsPerTile = r.i64();
        k.hasStatus = r.u8() != 0;
        k.status = r.ref();
        k.statusMessage = r.str();
        step.op = std::move(k);
        break;
      }
      case StepKind::Gemm: {
        GemmStepSpec g;
        g.shape = readGemm(r);
        g.dtype = r.u8();
        g.cDtype = r.u8();
        g.a = r.ref();
        g.b = r.ref();
        g.c = r.ref();
        g.packA = toInt32(r.i64());
        g.packB = toInt32(r.i64());
        g.epilogue = toInt32(r.i64());
        g.epilogueBuffers = r.refs();
        g.ltEpilogue = r.u8();
        g.ltAlpha = r.f32();
        g.ltBias = r.ref();
        g.ltResidual = r.ref();
        step.op = std::move(g);
        break;
      }
      case StepKind::Conv: {
        ConvStepSpec c;
        c.shape = readConv(r);
        c.x = r.ref();
        c.y = r.ref();
        c.weights = r.ref();
        c.epilogue = toInt32(r.i64());
        c.epilogueBuffers = r.refs();
        c.dtype = r.u8();
        c.cDtype = r.u8();
        c.im2col = toInt32(r.i64());
        step.op = std::move(c);
        break;
      }
      case StepKind::ConvTranspose: {
        ConvTransposeStepSpec c;
        c.shape = readConv(r);
        c.x = r.ref();
        c.y = r.ref();
        c.weights = r.ref();
        c.hasBias = r.u8() != 0;
        c.bias = r.ref();
        c.scratch = r.ref();
        c.col2im = toInt32(r.i64());
        step.op = c;
        break;
      }
      case StepKind::BlockedConv: {
        BlockedConvStepSpec c;
        c.shape = readBlockedConv(r);
        auto tileExtent = [&](int64_t v) {
          if (v < 1 || v > 64) corrupt("a blocked convolution tile is out of range");
          return int(v);
        };
        c.main.pixels = tileExtent(r.i64());
        c.main.blocks = tileExtent(r.i64());
        c.tiles.resize(r.count(21));
        for (BlockedConvTileSpec& t : c.tiles) {
          t.tile.pixels = tileExtent(r.i64());
          t.tile.blocks = tileExtent(r.i64());
          uint8_t kind = r.u8();
          if (kind > 3) corrupt("a blocked convolution tile of unknown kind");
          t.tile.column = kind & 1;
          t.tile.edge = (kind & 2) != 0;
          t.kernel = r.u32();
        }
        c.x = r.ref();
        c.y = r.ref();
        c.weights = r.ref();
        c.post.flags = r.i64();
        c.post.clipLow = r.f32();
        c.post.clipHigh = r.f32();
        c.postBias = r.ref();
        c.postResidual = r.ref();
        c.epilogue = toInt32(r.i64());
        c.epilogueBuffers = r.refs();
        step.op = std::move(c);
        break;
      }
      case StepKind::Copy: {
        CopyStepSpec c;
        c.from = r.ref();
        c.to = r.ref();
        c.bytes = r.i64();
        step.op = c;
        break;
      }
      default: corrupt("unknown step kind " + std::to_string(kind));
    }
    step.what = r.str();
  }
  if (r.remaining() != 0) corrupt("trailing bytes after the last step");
  s.storage = std::move(weightsOwner);
  return s;
}

}  // namespace dlc::runtime
