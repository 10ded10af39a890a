#include "codegen/cpu/program_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "codegen/cpu/anchor_kernels.h"
#include "codegen/cpu/library_step.h"
#include "codegen/cpu/elementwise_lowering.h"
#include "codegen/cpu/in_place_update.h"
#include "codegen/cpu/lowering_util.h"
#include "codegen/cpu/pointwise_kernel.h"
#include "codegen/llvm/cpu_jit.h"
#include "ir/op_def.h"
#include "ir/ops/nn_util.h"

namespace dlc::codegen::cpu {

namespace {

using ir::OpKind;

int64_t bytesOf(const ir::Value* v) {
  return v->type().shape->numElements().value_or(0) * int64_t(ir::dtypeSize(v->dtype()));
}

std::string originsOf(const ir::Node& n) {
  if (n.origins().empty()) return n.name();
  return fmt::format("{}", fmt::join(n.origins(), ", "));
}

// Loop iterations per point of a kernel: the product of the trip counts of
// nested constant-bound loops, summed over sequential loops (an estimate for
// sizing tiles).
int64_t workOf(const kir::Block& block) {
  int64_t work = 1;
  for (const kir::Stmt& s : block) {
    if (const auto* f = std::get_if<kir::ForStmt>(&s->kind)) {
      const auto* b = std::get_if<kir::ConstExpr>(&f->begin->kind);
      const auto* e = std::get_if<kir::ConstExpr>(&f->end->kind);
      int64_t trips = b && e ? std::max<int64_t>(1, e->intValue - b->intValue) : 16;
      work += trips * workOf(f->body);
    } else if (const auto* i = std::get_if<kir::IfStmt>(&s->kind)) {
      work += std::max(workOf(i->thenBody), workOf(i->elseBody));
    }
  }
  return work;
}

// How one node of the graph runs.
struct Item {
  // Kernel: one JIT kernel (elementwise group or an anchor op's lowering).
  enum class Kind { View, Kernel, Gemm, Conv, ConvTranspose, BlockedConv, Library } kind = Kind::Library;
  bool elementwise = false;  // the kernel reads element i before writing element i (may run in place)
  const ir::Node* node = nullptr;
  // Pointwise and Gemm epilogue: the kernel and, per kernel buffer, the
  // graph-level value it binds to.
  PointwiseKernel kernel;
  std::vector<const ir::Value*> kernelValues;
  std::vector<std::string> opNames;  // ops the kernel computes
  // Gemm
  runtime::GemmArgs gemmShape;
  const ir::Value *gemmA = nullptr, *gemmB = nullptr, *gemmC = nullptr;
  ir::DType gemmCDtype = ir::DType::F32;  // what C is stored as (GEMMs, convolutions)
  bool packA = false, packB = false;
  uint8_t ltEpilogue = runtime::kLtNone;  // GemmStepSpec::ltEpilogue
  double ltAlpha = 1.0;
  const ir::Value* ltBias = nullptr;
  const ir::Value* ltResidual = nullptr;
  // Conv (the epilogue, if any, is in kernel/kernelValues as for Gemm)
  runtime::ConvShape conv;
  const ir::Value *convX = nullptr, *convW = nullptr;
  const ir::Value* convBias = nullptr;  // ConvTranspose
  // BlockedConv (dense; x and w in convX and convW, y in gemmC)
  runtime::BlockedConvShape blocked;
  runtime::ConvTile blockedTile;
  runtime::ConvPostOps blockedPost;  // the epilogue in the micro-kernels (else in kernel/kernelValues)
  const ir::Value *postBias = nullptr, *postResidual = nullptr;
  std::string reason;  // Library: why there is no kernel
  std::string statusMessage;  // Kernel with a status word (nullptr in kernelValues)
  // Kernel: the buffer that is its workspace (nullptr in kernelValues; the
  // steps share one region after the arena: they run one after another), or -1.
  int workspaceBuffer = -1;
  // Kernel: a second kernel run right after the first (the elementwise
  // epilogue of a fused row reduction, updating its result in place).
  struct Part {
    kir::Kernel kernel;
    std::vector<const ir::Value*> values;
    std::vector<std::string> opNames;
  };
  std::optional<Part> epilogue;
  // Kernel of a contiguous Slice/Gather: the byte offset at which it may be
  // a view of its input instead (the memory plan decides).
  std::optional<int64_t> viewOffset;
};

// A body value of a Fused node -> the graph value it stands for.
using ValueMap = std::unordered_map<const ir::Value*, const ir::Value*>;

const ir::Value* mapValue(const ValueMap& m, const ir::Value* v) {
  auto it = m.find(v);
  return it == m.end() ? v : it->second;
}

class Builder {
 public:
  Builder(const ir::Graph& graph, const PlanOptions& options, PlannedProgram& out)
      : out_(out), g_(graph), options_(options) {}

  void classify() {
    for (const ir::Node* n : g_.nodes()) {
      Item item;
      item.node = n;
      if (isViewNode(*n)) {
        item.kind = Item::Kind::View;
      } else if (n->op() == OpKind::Fused) {
        classifyFused(*n, item);
      } else if (n->def().has(ir::kElementwise)) {
        PointwiseGroup group;
        group.nodes = {n};
        group.outputs = {n->output(0)};
        group.shape = extentsOf(n->output(0));
        setPointwise(item, group, {}, n->outputs().size() == 1 ? "" : "several results");
      } else if (n->op() == OpKind::MatMul || n->op() == OpKind::Gemm) {
        classifyGemm(*n, {n->output(0)}, {}, {}, item);
      } else if (n->op() == OpKind::Conv && !hasAnchorLowering(*n)) {
        classifyConv(*n, {n->output(0)}, {}, {}, item);
      } else if (n->op() == OpKind::BlockedConv) {
        classifyBlockedConv(*n, {n->output(0)}, {}, {}, item);
      } else if (n->op() == OpKind::ConvTranspose) {
        classifyConvTranspose(*n, item);
      } else if (hasAnchorLowering(*n) || hasDataLowering(*n)) {
        LoweredKernel lowered = hasAnchorLowering(*n) ? lowerAnchorOp(*n) : lowerDataOp(*n);
        if (!lowered.unsupported.empty()) {
          item.reason = lowered.unsupported;
        } else {
          item.kind = Item::Kind::Kernel;
          item.kernel.kernel = std::move(lowered.kernel);
          item.kernelValues = std::move(lowered.bufferValues);
          item.statusMessage = std::move(lowered.statusMessage);
          item.opNames.emplace_back(n->opName());
          item.viewOffset = contiguousSliceByteOffset(*n);
        }
      } else {
        item.reason = "no lowering for this op yet";
      }
      items_.push_back(std::move(item));
    }
  }

  void planMemory() {
    passes::MemoryPlanOptions options;
    std::unordered_map<const ir::Node*, const Item*> itemOf;
    for (const Item& it : items_) itemOf[it.node] = &it;
    options.isView = [&](const ir::Node& n) { return itemOf.at(&n)->kind == Item::Kind::View; };
    options.offsetView = [&](const ir::Node& n) { return itemOf.at(&n)->viewOffset; };
    options.canRunInPlace = [&](const ir::Node& n, size_t operand) {
      const Item* it = itemOf.at(&n);
      const ir::Value* in = n.input(operand);
      // A blocked conv accumulates onto its dying residual (its micro-kernels
      // read each output before they write it), as onnxruntime's NCHWc conv
      // does with its Sum input: the residual's read replaces the output
      // lines' read for ownership.
      if (it->kind == Item::Kind::BlockedConv)
        return it->postResidual == in && it->kernelValues.empty() && in->type() == n.output(0)->type();
      if (it->kind != Item::Kind::Kernel || !it->elementwise) return false;
      return in->type() == n.output(0)->type();
    };
    plan_ = passes::planMemory(g_, options);
    out_.spec.arenaBytes = plan_.arenaBytes;
    out_.memory = {plan_.arenaBytes, plan_.intermediateBytes, plan_.numIntermediates, plan_.numInPlace,
                   plan_.numViews};
  }

  void emitSteps() {
    using runtime::SpecRef;
    for (size_t i = 0; i < g_.outputs().size(); ++i) outputIndex_.emplace(g_.outputs()[i], int64_t(i));
    int counter = 0;
    // One column buffer after the planned arena, shared by the ConvTranspose
    // steps (they run one after another).
    int64_t columnBytes = 0;
    for (const Item& item : items_)
      if (item.kind == Item::Kind::ConvTranspose)
        columnBytes = std::max(columnBytes, runtime::convTransposeColumnBytes(item.conv));
    runtime::SpecRef columns;
    if (columnBytes > 0) columns = extraArena(columnBytes);
    // Likewise one workspace region for the kernels that need one.
    int64_t workspaceBytes = 0;
    for (const Item& item : items_)
      if (item.kind == Item::Kind::Kernel && item.workspaceBuffer >= 0) {
        const kir::BufferParam& w = item.kernel.kernel.buffers[size_t(item.workspaceBuffer)];
        workspaceBytes = std::max(workspaceBytes, w.numElements * int64_t(ir::dtypeSize(w.dtype)));
      }
    runtime::SpecRef workspace;
    if (workspaceBytes > 0) workspace = extraArena(workspaceBytes);
    for (Item& item : items_) {
      const ir::Node& n = *item.node;
      std::string id = fmt::format("s{}", counter++);
      switch (item.kind) {
        case Item::Kind::View: {
          const ir::Value* result = n.output(0);
          if (plan_.sharesBytesWith.count(result)) {
            out_.spec.describeLines.push_back(
                fmt::format("{:>4}  {} -> view (no copy) [{}]", "-", n.describe(), originsOf(n)));
            break;
          }
          // A graph output cannot share its operand's bytes: copy.
          addStep(runtime::CopyStepSpec{ref(n.input(0)), ref(result), bytesOf(result)},
                  fmt::format("{} -> copy {} bytes", n.describe(), bytesOf(result)), id);
          break;
        }
        case Item::Kind::Kernel: {
          if (item.viewOffset && plan_.sharesBytesWith.count(n.output(0))) {
            out_.spec.describeLines.push_back(fmt::format("{:>4}  {} -> view at byte offset {} (no copy) [{}]", "-",
                                                          n.describe(), *item.viewOffset, originsOf(n)));
            break;
          }
          runtime::KernelStepSpec k;
          for (size_t b = 0; b < item.kernelValues.size(); ++b) {
            const ir::Value* v = item.kernelValues[b];
            k.buffers.push_back(int(b) == item.workspaceBuffer ? workspace : v ? ref(v) : statusWord());
          }
          auto [index, name] = addKernel(item.kernel.kernel, fmt::format("dlc_{}_{}", id, ir::opName(n.op())));
          k.kernel = index;
          k.extent0 = item.kernel.kernel.extent0;
          k.extent1 = item.kernel.kernel.extent1;
          k.minPointsPerTile = minPointsPerTile(workOf(item.kernel.kernel.body));
          if (!item.statusMessage.empty()) {
            k.hasStatus = true;
            k.status = statusWord();
            k.statusMessage = item.statusMessage;
          }
          std::string what = fmt::format("{} -> JIT kernel {} [{}] over {}x{} [{}]", n.describe(), name,
                                         fmt::join(item.opNames, " "), k.extent0, k.extent1, originsOf(n));
          addStep(std::move(k), std::move(what), id);
          if (item.epilogue) {
            Item::Part& part = *item.epilogue;
            runtime::KernelStepSpec e;
            auto [partIndex, partName] = addKernel(part.kernel, fmt::format("dlc_{}_epilogue", id));
            e.kernel = partIndex;
            for (const ir::Value* v : part.values) e.buffers.push_back(ref(v));
            e.extent0 = part.kernel.extent0;
            e.extent1 = part.kernel.extent1;
            e.minPointsPerTile = minPointsPerTile(1);
            std::string partWhat = fmt::format("  epilogue of {} -> JIT kernel {} [{}] over {}x{}", id, partName,
                                               fmt::join(part.opNames, " "), e.extent0, e.extent1);
            addStep(std::move(e), std::move(partWhat), fmt::format("s{}", counter++));
          }
          break;
        }
        case Item::Kind::Gemm: {
          runtime::GemmStepSpec op;
          op.shape = item.gemmShape;
          op.dtype = uint8_t(item.gemmA->dtype());
          op.cDtype = uint8_t(item.gemmCDtype);
          if (item.packA) op.packA = int32_t(constantIndex(item.gemmA));
          else op.a = ref(item.gemmA);
          if (item.packB) op.packB = int32_t(constantIndex(item.gemmB));
          else op.b = ref(item.gemmB);
          op.c = ref(item.gemmC);
          std::string epilogue = "no epilogue";
          if (!item.kernelValues.empty()) {
            op.epilogue = int32_t(addKernel(item.kernel.kernel, fmt::format("dlc_{}_epilogue", id)).first);
            for (const ir::Value* v : item.kernelValues) op.epilogueBuffers.push_back(ref(v));
            epilogue = fmt::format("fused epilogue [{}]", fmt::join(item.opNames, " "));
            op.ltEpilogue = item.ltEpilogue;
            op.ltAlpha = float(item.ltAlpha);
            if (item.ltBias) op.ltBias = ref(item.ltBias);
            if (item.ltResidual) op.ltResidual = ref(item.ltResidual);
          }
          const auto& s = op.shape;
          std::string what = fmt::format("{} -> GEMM {}x{}x{}{} with {}{}{} [{}]", n.describe(), s.M, s.N, s.K,
                                         s.batch > 1 ? fmt::format(" x{} batches", s.batch) : "", epilogue,
                                         item.packA ? ", A packed at compile time" : "",
                                         item.packB ? ", B packed at compile time" : "", originsOf(n));
          addStep(std::move(op), std::move(what), id);
          break;
        }
        case Item::Kind::Conv: {
          runtime::ConvStepSpec op;
          std::string epilogue = "no epilogue";
          if (!item.kernelValues.empty()) {
            op.epilogue = int32_t(addKernel(item.kernel.kernel, fmt::format("dlc_{}_epilogue", id)).first);
            for (const ir::Value* v : item.kernelValues) op.epilogueBuffers.push_back(ref(v));
            epilogue = fmt::format("fused epilogue [{}]", fmt::join(item.opNames, " "));
          }
          const runtime::ConvShape& g = item.conv;
          op.shape = g;
          op.x = ref(item.convX);
          op.y = ref(item.gemmC);
          op.weights = ref(item.convW);
          op.dtype = uint8_t(item.convX->dtype());
          op.cDtype = uint8_t(item.gemmCDtype);
          std::string what = fmt::format(
              "{} -> conv as {} GEMM {}x{}x{} x{} images{} with {}, {} [{}]", n.describe(),
              g.isPointwise() ? "a" : "an implicit-im2col", g.outChannels / g.group, g.outH() * g.outW(), g.depth(),
              g.batch, g.group > 1 ? fmt::format(" x{} groups", g.group) : "", epilogue,
              item.convW->isConstant() ? "weights packed at compile time" : "weights read at run time", originsOf(n));
          addStep(std::move(op), std::move(what), id);
          break;
        }
        case Item::Kind::BlockedConv: {
          runtime::BlockedConvStepSpec op;
          const runtime::BlockedConvShape& g = item.blocked;
          op.shape = g;
          op.main = item.blockedTile;
          std::vector<std::string> tiles;
          for (runtime::ConvTile t : runtime::convTilesUsed(g, op.main)) {
            op.tiles.push_back({t, addConvKernel(runtime::microKernelFor(g, t))});
            tiles.push_back(fmt::format("{}x{}{}", t.pixels, t.blocks, t.column ? " (column)" : t.edge ? " (edge)" : ""));
          }
          op.x = ref(item.convX);
          op.weights = ref(item.convW);
          op.y = ref(item.gemmC);
          op.post = item.blockedPost;
          if (item.postBias) op.postBias = ref(item.postBias);
          if (item.postResidual) op.postResidual = ref(item.postResidual);
          std::string epilogue = "no epilogue";
          if (op.post.flags) epilogue = fmt::format("epilogue [{}] in the micro-kernels", fmt::join(item.opNames, " "));
          if (auto shared = plan_.sharesBytesWith.find(item.gemmC);
              item.postResidual && shared != plan_.sharesBytesWith.end() && shared->second == item.postResidual)
            epilogue += ", accumulated onto the residual in place";
          if (!item.kernelValues.empty()) {
            op.epilogue = int32_t(addKernel(item.kernel.kernel, fmt::format("dlc_{}_epilogue", id)).first);
            for (const ir::Value* v : item.kernelValues) op.epilogueBuffers.push_back(ref(v));
            epilogue = fmt::format("fused epilogue [{}]", fmt::join(item.opNames, " "));
          }
          std::string what = fmt::format(
              "{} -> blocked {}conv{} {}x{} stride {}x{} ({} -> {} channel blocks of {}), tiles of pixels x blocks {} "
              "with {} [{}]",
              n.describe(), g.depthwise ? "depthwise " : "", g.plainInput ? " from plain NCHW" : "", g.kernelH,
              g.kernelW, g.strideH, g.strideW,
              g.plainInput ? fmt::format("{} channels", g.channelsPerBlock) : fmt::format("{}", g.inBlocks),
              g.outBlocks, g.lanes, fmt::join(tiles, ", "), epilogue, originsOf(n));
          addStep(std::move(op), std::move(what), id);
          break;
        }
        case Item::Kind::ConvTranspose: {
          runtime::ConvTransposeStepSpec op;
          const runtime::ConvShape& g = item.conv;
          op.shape = g;
          op.x = ref(item.convX);
          op.y = ref(n.output(0));
          op.weights = ref(item.convW);
          if (item.convBias) {
            op.hasBias = true;
            op.bias = ref(item.convBias);
          }
          op.scratch = columns;
          std::string what = fmt::format(
              "{} -> conv-transpose as GEMM {}x{}x{} x{} images{} into columns, then a col2im gather{}, {} [{}]",
              n.describe(), g.depth(), g.outH() * g.outW(), g.outChannels / g.group, g.batch,
              g.group > 1 ? fmt::format(" x{} groups", g.group) : "", item.convBias ? " with bias" : "",
              item.convW->isConstant() ? "weights packed at compile time" : "weights read at run time", originsOf(n));
          addStep(std::move(op), std::move(what), id);
          break;
        }
        case Item::Kind::Library: {
          LibraryCall call;
          call.node = &n;
          call.reason = item.reason;
          for (const ir::Value* v : n.inputs()) call.inputs.push_back(v ? std::optional(ref(v)) : std::nullopt);
          for (const ir::Value* v : n.outputs()) call.outputs.push_back(ref(v));
          for (const auto& [name, attr] : n.attrs().all())
            if (const auto* sub = std::get_if<std::shared_ptr<ir::Graph>>(&attr))
              for (const ir::Value* outer : (*sub)->outerUses()) call.outer.emplace_back(outer, ref(outer));
          runtime::LibraryStepSpec l{uint32_t(out_.libraryCalls.size()), fmt::format("{} ({})", n.name(), n.opName())};
          out_.libraryCalls.push_back(std::move(call));
          addStep(std::move(l), fmt::format("{} -> reference kernel (library call: {})", n.describe(), item.reason),
                  id);
          break;
        }
      }
    }
    // Graph outputs that are graph inputs, constants or repeated values.
    std::unordered_set<const ir::Value*> written;
    for (size_t i = 0; i < g_.outputs().size(); ++i) {
      const ir::Value* v = g_.outputs()[i];
      bool producedHere = v->producer() && outputIndex_.at(v) == int64_t(i);
      if (producedHere) continue;
      SpecRef to{SpecRef::Space::Output, int64_t(i)};
      SpecRef from = v->producer() ? ref(v) : storageRef(v);
      addStep(runtime::CopyStepSpec{from, to, bytesOf(v)}, fmt::format("output {} -> copy", v->name()),
              fmt::format("s{}", counter++));
    }
    for (const ir::Value* v : g_.inputs()) out_.spec.inputs.push_back(tensorSpec(v));
    for (const ir::Value* v : g_.outputs()) out_.spec.outputs.push_back(tensorSpec(v));
  }

 private:
  template <typename Op>
  void addStep(Op op, std::string what, const std::string& id) {
    out_.spec.describeLines.push_back(fmt::format("{:>4}  {}", id, what));
    out_.spec.steps.push_back(runtime::StepSpec{std::move(op), std::move(what)});
  }

  static int64_t minPointsPerTile(int64_t workPerPoint) {
    return std::max<int64_t>(1, runtime::kDefaultMinPointsPerTile / std::max<int64_t>(1, workPerPoint));
  }

  static runtime::TensorSpec tensorSpec(const ir::Value* v) {
    return {v->name(), uint8_t(v->dtype()), extentsOf(v)};
  }

  // Adds a kernel to the module unless an identical one (same code up to
  // names: repeated layers) is there already; returns its index and name.
  std::pair<uint32_t, std::string> addKernel(kir::Kernel k, const std::string& name) {
    kir::Kernel canonical = k;
    canonical.name = "k";
    for (size_t i = 0; i < canonical.buffers.size(); ++i) canonical.buffers[i].name = fmt::format("b{}", i);
    auto [it, inserted] = kernelByCode_.emplace(kir::print(canonical), uint32_t(out_.spec.kernelNames.size()));
    if (inserted) {
      k.name = name;
      out_.kernels.push_back(std::move(k));
      out_.spec.kernelNames.push_back(name);
    }
    return {it->second, out_.spec.kernelNames[it->second]};
  }

  // The table index of a convolution micro-kernel (added at its first use).
  uint32_t addConvKernel(const runtime::ConvMicroKernelShape& shape) {
    std::string name = shape.name();
    auto& names = out_.spec.kernelNames;
    auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) return uint32_t(it - names.begin());
    out_.convKernels.push_back(shape);
    names.push_back(name);
    return uint32_t(names.size() - 1);
  }

  // The constant's index in the spec (added at its first use).
  int64_t constantIndex(const ir::Value* v) {
    auto [it, inserted] = constantIndex_.emplace(v, int64_t(out_.spec.constants.size()));
    if (inserted) {
      const ir::Tensor& t = v->constant();
      out_.spec.constants.push_back({tensorSpec(v), int64_t(t.byteSize()), t.rawData()});
    }
    return it->second;
  }

  // `bytes` after the planned arena (and what was added after it already),
  // 64-byte aligned.
  runtime::SpecRef extraArena(int64_t bytes) {
    int64_t offset = (out_.spec.arenaBytes + 63) / 64 * 64;
    out_.spec.arenaBytes = offset + bytes;
    return {runtime::SpecRef::Space::Arena, offset};
  }

  // An i64 after the planned arena for kernels that report bad data.
  runtime::SpecRef statusWord() {
    if (statusOffset_ < 0) statusOffset_ = extraArena(64).index;
    return {runtime::SpecRef::Space::Arena, statusOffset_};
  }

  runtime::SpecRef ref(const ir::Value* v) {
    auto out = outputIndex_.find(v);
    if (out != outputIndex_.end() && v->producer()) return {runtime::SpecRef::Space::Output, out->second};
    return storageRef(v);
  }

  // Where a value lives, ignoring that it may also be a graph output.
  runtime::SpecRef storageRef(const ir::Value* v) {
    const ir::Value* root = plan_.root(v);
    if (root != v) {
      runtime::SpecRef r = ref(root);
      if (int64_t offset = plan_.byteOffsetInRoot(v)) {
        DLC_CHECK(r.space == runtime::SpecRef::Space::Arena, "offset view '{}' of a value outside the arena", v->name());
        r.index += offset;
      }
      return r;
    }
    if (v->isConstant()) return {runtime::SpecRef::Space::Constant, constantIndex(v)};
    if (v->isGraphInput()) {
      const auto& ins = g_.inputs();
      int64_t index = std::find(ins.begin(), ins.end(), v) - ins.begin();
      return {runtime::SpecRef::Space::Input, index};
    }
    auto it = plan_.arenaOffset.find(v);
    DLC_CHECK(it != plan_.arenaOffset.end(), "value '{}' has no planned buffer", v->name());
    return {runtime::SpecRef::Space::Arena, it->second};
  }

  void setPointwise(Item& item, const PointwiseGroup& group, const ValueMap& toGraph, const std::string& refuse) {
    if (!refuse.empty()) {
      item.reason = refuse;
      return;
    }
    item.kernel = buildPointwiseKernel("", group);
    if (item.kernel.unsupported) {
      item.reason = fmt::format("no kernel lowering of {} for {}", item.kernel.unsupported->opName(),
                                ir::dtypeName(item.kernel.unsupported->input(0)->dtype()));
      return;
    }
    item.kind = Item::Kind::Kernel;
    item.elementwise = true;
    for (const ir::Value* v : item.kernel.bufferValues) item.kernelValues.push_back(mapValue(toGraph, v));
    for (const ir::Node* n : group.nodes) item.opNames.emplace_back(n->opName());
  }

  // A Fused node: its body's first node is the anchor for gemm/matmul/conv kinds.
  void classifyFused(const ir::Node& n, Item& item) {
    const ir::Graph& body = n.attrGraph("body");
    const std::string& kind = n.attrString("kind");
    ValueMap toGraph;
    for (size_t i = 0; i < body.inputs().size(); ++i) toGraph[body.inputs()[i]] = n.input(i);
    for (size_t i = 0; i < body.outputs().size(); ++i) toGraph[body.outputs()[i]] = n.output(i);
    std::vector<ir::Node*> bodyNodes = body.nodes();  // returned by value
    std::vector<const ir::Node*> nodes(bodyNodes.begin(), bodyNodes.end());
    std::vector<const ir::Value*> outputs(body.outputs().begin(), body.outputs().end());
    if (kind == "attention") {
      LoweredKernel lowered = lowerAttention(nodes);
      if (!lowered.unsupported.empty()) {
        item.reason = lowered.unsupported;
        return;
      }
      item.kind = Item::Kind::Kernel;
      item.kernel.kernel = std::move(lowered.kernel);
      for (const ir::Value* v : lowered.bufferValues) item.kernelValues.push_back(v ? mapValue(toGraph, v) : nullptr);
      item.workspaceBuffer = lowered.workspaceBuffer;
      for (const ir::Node* m : nodes) item.opNames.emplace_back(m->opName());
      return;
    }
    if (kind == "elementwise") {
      PointwiseGroup group;
      group.nodes = nodes;
      group.outputs = outputs;
      group.shape = extentsOf(n.output(0));
      for (const ir::Value* o : outputs)
        if (extentsOf(o) != group.shape) return setPointwise(item, group, toGraph, "results of different shapes");
      setPointwise(item, group, toGraph, "");
      return;
    }
    if ((kind == "matmul" || kind == "gemm") && !nodes.empty()) {
      std::vector<const ir::Node*> epilogue(nodes.begin() + 1, nodes.end());
      classifyGemm(*nodes[0], outputs, epilogue, toGraph, item);
      return;
    }
    bool depthwise = kind == "conv" && !nodes.empty() && hasAnchorLowering(*nodes[0]);
    if ((kind == "softmax" || kind == "logsoftmax" || kind == "layernorm" || kind == "reduce" || depthwise) &&
        !nodes.empty()) {
      classifyKernelAnchor(*nodes[0], outputs, {nodes.begin() + 1, nodes.end()}, toGraph, item);
      return;
    }
    if (kind == "conv" && !nodes.empty()) {
      classifyConv(*nodes[0], outputs, {nodes.begin() + 1, nodes.end()}, toGraph, item);
      return;
    }
    if (kind == "blocked_conv" && !nodes.empty()) {
      classifyBlockedConv(*nodes[0], outputs, {nodes.begin() + 1, nodes.end()}, toGraph, item);
      return;
    }
    item.reason = fmt::format("no lowering for fused '{}' kernels yet (runs its body in the interpreter)", kind);
  }

  // A convolution through im2col + GEMM (see ConvStep), with an epilogue.
  void classifyConv(const ir::Node& anchor, const std::vector<const ir::Value*>& outputs,
                    const std::vector<const ir::Node*>& epilogue, const ValueMap& toGraph, Item& item) {
    auto refuse = [&](std::string why) { item.reason = std::move(why); };
    const ir::Value* x = anchor.input(0);
    const ir::Value* w = anchor.input(1);
    const ir::Value* result = anchor.output(0);
    ir::DType t = x->dtype();
    bool half = t == ir::DType::F16 || t == ir::DType::BF16;
    if (w->dtype() != t || result->dtype() != t || (t != ir::DType::F32 && !(half && options_.halfGemms)))
      return refuse(options_.halfGemms ? "convolutions are f32, f16 or bf16 only" : "convolutions are f32 only");
    const ir::Value* wGraph = mapValue(toGraph, w);
    std::vector<int64_t> xs = extentsOf(x), ws = extentsOf(w), ys = extentsOf(result);
    size_t spatial = xs.size() - 2;
    if (spatial < 1 || spatial > 2) return refuse("1-D and 2-D convolutions only");
    std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
    ir::ops::WindowAttrs wa = ir::ops::readWindowAttrs(anchor, spatial, kernel);
    runtime::ConvShape& g = item.conv;
    g.batch = xs[0];
    g.inChannels = xs[1];
    g.outChannels = ws[0];
    g.group = anchor.attrInt("group");
    // A 1-D convolution is a 2-D one with H = 1.
    size_t wdim = spatial - 1;
    g.inH = spatial == 2 ? xs[2] : 1;
    g.inW = xs.back();
    if (spatial == 2) {
      ir::ops::WindowDim d = ir::ops::windowDim(wa, 0, xs[2]);
      g.kernelH = wa.kernel[0];
      g.strideH = wa.strides[0];
      g.dilationH = wa.dilations[0];
      g.padTop = d.padBegin;
      g.padBottom = d.padEnd;
    }
    ir::ops::WindowDim d = ir::ops::windowDim(wa, wdim, xs.back());
    g.kernelW = wa.kernel[wdim];
    g.strideW = wa.strides[wdim];
    g.dilationW = wa.dilations[wdim];
    g.padLeft = d.padBegin;
    g.padRight = d.padEnd;
    if (g.outW() != ys.back() || (spatial == 2 && g.outH() != ys[2]))
      return refuse("output extents that the convolution geometry does not give");

    PointwiseGroup group;
    group.nodes = epilogue;
    group.outputs = outputs;
    group.shape = ys;
    group.splitAxis = 2;
    group.anchorResult = result;
    if (anchor.hasInput(2)) {
      group.anchorAddend = anchor.input(2);
      group.anchorAddendShape = {g.outChannels};
      for (size_t i = 0; i < spatial; ++i) group.anchorAddendShape.push_back(1);
    }
    // The raw convolution goes to C: the anchor result's buffer when the
    // graph reads it, else the first result of its type, or (a half
    // convolution) of type f32, rounded by the epilogue on load. Other
    // results (a ReLU's mask for its gradient, say) may have any dtype.
    const ir::Value* cValue = nullptr;
    for (const ir::Value* o : outputs)
      if (o == result) cValue = o;
    for (ir::DType fits : {t, ir::DType::F32})
      for (const ir::Value* o : outputs)
        if (!cValue && o->dtype() == fits) cValue = o;
    if (!cValue) return refuse("no epilogue result of the convolution's type (or f32) to hold it");
    if (cValue->dtype() != t) group.anchorResultStorage = cValue->dtype();
    item.gemmCDtype = cValue->dtype();
    for (const ir::Value* o : outputs)
      if (extentsOf(o) != ys) return refuse("epilogue results of another shape");
    item.convX = mapValue(toGraph, x);
    item.convW = wGraph;
    item.gemmC = mapValue(toGraph, cValue);
    bool needEpilogue = !epilogue.empty() || group.anchorAddend || outputs.size() > 1 || outputs[0] != result;
    if (needEpilogue) {
      item.kernel = buildPointwiseKernel("", group);
      if (item.kernel.unsupported)
        return refuse(fmt::format("no kernel lowering of epilogue op {}", item.kernel.unsupported->opName()));
      ValueMap withC = toGraph;
      withC[result] = item.gemmC;
      for (const ir::Value* v : item.kernel.bufferValues) item.kernelValues.push_back(mapValue(withC, v));
      if (group.anchorAddend) item.opNames.emplace_back("bias");
      for (const ir::Node* e : epilogue) item.opNames.emplace_back(e->opName());
    }
    item.kind = Item::Kind::Conv;
  }

  // A BlockedConv as micro-kernel tiles (BlockedConvStep), with an epilogue
  // over the output viewed as [N * OCb, OH * OW * B].
  void classifyBlockedConv(const ir::Node& anchor, const std::vector<const ir::Value*>& outputs,
                           const std::vector<const ir::Node*>& epilogue, const ValueMap& toGraph, Item& item) {
    auto refuse = [&](std::string why) { item.reason = std::move(why); };
    const ir::Value* x = anchor.input(0);
    const ir::Value* w = anchor.input(1);
    const ir::Value* result = anchor.output(0);
    std::vector<int64_t> xs = extentsOf(x), ws = extentsOf(w), ys = extentsOf(result);
    runtime::BlockedConvShape& s = item.blocked;
    s.depthwise = anchor.attrInt("depthwise") != 0;
    s.plainInput = xs.size() == 4;
    s.batch = xs[0];
    s.inBlocks = s.depthwise ? ws[0] : ws[1];  // depthwise weights: [Cb, KH, KW, B]
    s.channelsPerBlock = s.depthwise ? 1 : ws[4];
    s.inH = xs[2];
    s.inW = xs[3];
    s.outBlocks = ys[1];
    s.outH = ys[2];
    s.outW = ys[3];
    s.lanes = ys[4];
    s.kernelH = s.depthwise ? ws[1] : ws[2];
    s.kernelW = s.depthwise ? ws[2] : ws[3];
    const std::vector<int64_t>& strides = anchor.attrInts("strides");
    const std::vector<int64_t>& dilations = anchor.attrInts("dilations");
    const std::vector<int64_t>& pads = anchor.attrInts("pads");
    s.strideH = strides[0], s.strideW = strides[1];
    s.dilationH = dilations[0], s.dilationW = dilations[1];
    s.padTop = pads[0], s.padLeft = pads[1];
    // Accumulators, weights and a broadcast share the vector registers: 32
    // with AVX-512 (16 lanes), 16 with AVX2 and narrower.
    item.blockedTile = runtime::chooseConvTile(s, s.lanes >= 16 ? 32 : 16);

    PointwiseGroup group;
    group.nodes = epilogue;
    group.outputs = outputs;
    group.shape = ys;
    group.splitAxis = 2;
    group.anchorResult = result;
    const ir::Value* cValue = nullptr;
    for (const ir::Value* o : outputs)
      if (o == result) cValue = o;
    for (const ir::Value* o : outputs)
      if (!cValue && o->dtype() == ir::DType::F32) cValue = o;
    if (!cValue) return refuse("no f32 epilogue result to hold the convolution");
    for (const ir::Value* o : outputs)
      if (extentsOf(o) != ys) return refuse("epilogue results of another shape");
    item.convX = mapValue(toGraph, x);
    item.convW = mapValue(toGraph, w);
    item.gemmC = mapValue(toGraph, cValue);
    if (matchConvPostOps(result, epilogue, outputs, toGraph, ys, item)) {
      item.gemmC = mapValue(toGraph, outputs[0]);
      for (const ir::Node* e : epilogue) item.opNames.emplace_back(e->opName());
    } else if (!epilogue.empty() || outputs.size() > 1 || outputs[0] != result) {
      item.kernel = buildPointwiseKernel("", group);
      if (item.kernel.unsupported)
        return refuse(fmt::format("no kernel lowering of epilogue op {}", item.kernel.unsupported->opName()));
      ValueMap withC = toGraph;
      withC[result] = item.gemmC;
      for (const ir::Value* v : item.kernel.bufferValues) item.kernelValues.push_back(mapValue(withC, v));
      for (const ir::Node* e : epilogue) item.opNames.emplace_back(e->opName());
    }
    item.kind = Item::Kind::BlockedConv;
  }

  // An epilogue that is a bias (a constant per output channel), a residual
  // (a tensor of the output's shape) and a ReLU or Clip with constant
  // bounds, each optional, in that order, with the last one the only result:
  // the micro-kernels apply it in registers (runtime::ConvPostOps).
  bool matchConvPostOps(const ir::Value* result, const std::vector<const ir::Node*>& epilogue,
                        const std::vector<const ir::Value*>& outputs, const ValueMap& toGraph,
                        const std::vector<int64_t>& ys, Item& item) {
    if (epilogue.empty() || outputs.size() != 1) return false;
    const ir::Value* current = result;
    runtime::ConvPostOps post;
    const ir::Value *bias = nullptr, *residual = nullptr;
    enum { kBias, kResidual, kClip, kDone } next = kBias;
    auto boundOf = [](const ir::Node& n, size_t i, double absent) -> std::optional<double> {
      if (!n.hasInput(i)) return absent;
      const ir::Value* v = n.input(i);
      if (!v->isConstant() || v->constant().numel() != 1) return std::nullopt;
      return v->constant().getDouble(0);
    };
    for (const ir::Node* n : epilogue) {
      if (n->outputs().size() != 1 || n->output(0)->dtype() != ir::DType::F32) return false;
      if (n->op() == OpKind::Add && n->inputs().size() == 2 && (n->input(0) == current) != (n->input(1) == current)) {
        const ir::Value* other = n->input(n->input(0) == current ? 1 : 0);
        const ir::Value* graphOther = mapValue(toGraph, other);
        std::vector<int64_t> biasShape = {1, ys[1], 1, 1, ys[4]};
        if (next == kBias && graphOther->isConstant() && extentsOf(other) == biasShape) {
          bias = graphOther;
          post.flags |= runtime::kConvPostAddBias;
          next = kResidual;
        } else if (next <= kResidual && extentsOf(other) == ys && other->dtype() == ir::DType::F32 &&
                   !graphOther->isConstant()) {
          residual = graphOther;
          post.flags |= runtime::kConvPostAddResidual;
          next = kClip;
        } else {
          return false;
        }
      } else if ((n->op() == OpKind::Relu || n->op() == OpKind::Clip) && next <= kClip && n->input(0) == current) {
        auto lo = n->op() == OpKind::Relu ? std::optional(0.0) : boundOf(*n, 1, -INFINITY);
        auto hi = n->op() == OpKind::Relu ? std::optional(double(INFINITY)) : boundOf(*n, 2, INFINITY);
        if (!lo || !hi) return false;
        post.flags |= runtime::kConvPostClip;
        post.clipLow = float(*lo);
        post.clipHigh = float(*hi);
        next = kDone;
      } else {
        return false;
      }
      current = n->output(0);
    }
    if (outputs[0] != current) return false;
    item.blockedPost = post;
    item.postBias = bias;
    item.postResidual = residual;
    return true;
  }

  // ConvTranspose as the adjoint of a forward convolution (ConvTransposeStep):
  // item.conv is that convolution's geometry, whose input has the
  // ConvTranspose's output extents and whose output has its input's.
  void classifyConvTranspose(const ir::Node& n, Item& item) {
    auto refuse = [&](std::string why) { item.reason = std::move(why); };
    const ir::Value* x = n.input(0);
    const ir::Value* w = n.input(1);
    const ir::Value* y = n.output(0);
    if (x->dtype() != ir::DType::F32 || w->dtype() != ir::DType::F32) return refuse("conv-transposes are f32 only");
    std::vector<int64_t> xs = extentsOf(x), ws = extentsOf(w), ys = extentsOf(y);
    size_t spatial = xs.size() - 2;
    if (spatial < 1 || spatial > 2) return refuse("1-D and 2-D conv-transposes only");
    std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
    ir::ops::WindowAttrs wa = ir::ops::readWindowAttrs(n, spatial, kernel);
    runtime::ConvShape& g = item.conv;
    g.group = n.attrInt("group");
    g.batch = xs[0];
    g.outChannels = xs[1];
    g.inChannels = ys[1];
    if (ws[0] != g.outChannels || ws[1] * g.group != g.inChannels) return refuse("weights that do not match X");
    // Per spatial dim (the last one is W): kernel, stride, dilation, begin
    // pad, and an end pad that gives the forward convolution X's extent.
    for (size_t i = 0; i < spatial; ++i) {
      int64_t k = wa.kernel[i], stride = wa.strides[i], dilation = wa.dilations[i];
      int64_t in = xs[2 + i], out = ys[2 + i], span = (k - 1) * dilation + 1;
      int64_t padBegin = 0;
      if (wa.autoPad == "NOTSET") {
        padBegin = wa.pads[i];
      } else if (wa.autoPad != "VALID") {
        // SAME_UPPER / SAME_LOWER (see ir/ops/nn_conv.cpp).
        int64_t outPadding = n.hasAttr("output_padding") ? n.attrInts("output_padding").at(i) : 0;
        int64_t total = stride * (in - 1) + outPadding + span - out;
        int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        padBegin = wa.autoPad == "SAME_UPPER" ? half : total - half;
      }
      if (padBegin < 0) return refuse("a negative begin pad");
      int64_t reach = out + padBegin - span;  // the forward window's last start without end padding
      int64_t padEnd = std::max<int64_t>(0, stride * (in - 1) - reach);
      if (reach + padEnd >= stride * in) return refuse("an output larger than the conv-transpose's reach");
      bool isW = i + 1 == spatial;
      (isW ? g.inW : g.inH) = out;
      (isW ? g.kernelW : g.kernelH) = k;
      (isW ? g.strideW : g.strideH) = stride;
      (isW ? g.dilationW : g.dilationH) = dilation;
      (isW ? g.padLeft : g.padTop) = padBegin;
      (isW ? g.padRight : g.padBottom) = padEnd;
    }
    if (g.outW() != xs.back() || (spatial == 2 && g.outH() != xs[2]))
      return refuse("extents that the convolution geometry does not give");
    item.convX = x;
    item.convW = w;
    if (n.hasInput(2)) item.convBias = n.input(2);
    item.kind = Item::Kind::ConvTranspose;
  }

  // An anchor lowered to one kernel (Softmax, LayerNormalization, Reduce*,
  // depthwise Conv) with an elementwise epilogue: the anchor's kernel writes its result into the
  // buffer of the first output (unless the graph reads the anchor's result
  // itself), then the epilogue kernel updates it in place.
  void classifyKernelAnchor(const ir::Node& anchor, const std::vector<const ir::Value*>& outputs,
                            const std::vector<const ir::Node*>& epilogue, const ValueMap& toGraph, Item& item) {
    LoweredKernel lowered = hasAnchorLowering(anchor)  ? lowerAnchorOp(anchor)
                            : hasDataLowering(anchor) ? lowerDataOp(anchor)
                                                      : LoweredKernel{{}, {}, {}, "no lowering for this anchor"};
    if (!lowered.unsupported.empty()) {
      item.reason = lowered.unsupported;
      return;
    }
    const ir::Value* result = anchor.output(0);
    const ir::Value* resultBuffer = nullptr;
    for (const ir::Value* o : outputs)
      if (o == result) resultBuffer = o;
    for (const ir::Value* o : outputs)
      if (!resultBuffer && o->type() == result->type()) resultBuffer = o;
    if (!resultBuffer) {
      item.reason = "the epilogue changes the anchor result's type";
      return;
    }
    ValueMap withResult = toGraph;
    withResult[result] = mapValue(toGraph, resultBuffer);
    item.kind = Item::Kind::Kernel;
    item.kernel.kernel = std::move(lowered.kernel);
    for (const ir::Value* v : lowered.bufferValues) item.kernelValues.push_back(v ? mapValue(withResult, v) : nullptr);
    item.statusMessage = std::move(lowered.statusMessage);
    item.opNames.emplace_back(anchor.opName());
    if (epilogue.empty() && outputs.size() == 1 && outputs[0] == result) return;
    PointwiseGroup group;
    group.nodes = epilogue;
    group.outputs = outputs;
    group.shape = extentsOf(result);
    group.anchorResult = result;
    for (const ir::Value* o : outputs)
      if (extentsOf(o) != group.shape) {
        item = Item{.node = item.node};
        item.reason = "epilogue results of different shapes";
        return;
      }
    if (lowered.pointPerOutputElement) {
      // One kernel: the epilogue runs right after the anchor's store.
      PointwiseKernel merged;
      merged.kernel = item.kernel.kernel;
      for (const ir::Value* v : lowered.bufferValues) merged.bufferValues.push_back(v);
      appendPointwise(merged, group);
      if (!merged.unsupported) {
        item.kernel.kernel = std::move(merged.kernel);
        item.kernelValues.clear();
        for (const ir::Value* v : merged.bufferValues) item.kernelValues.push_back(v ? mapValue(withResult, v) : nullptr);
        for (const ir::Node* e : epilogue) item.opNames.emplace_back(e->opName());
        return;
      }
    }
    PointwiseKernel pk = buildPointwiseKernel("", group);
    if (pk.unsupported) {
      item = Item{.node = item.node};
      item.reason = fmt::format("no kernel lowering of epilogue op {}", pk.unsupported->opName());
      return;
    }
    Item::Part part;
    part.kernel = std::move(pk.kernel);
    for (const ir::Value* v : pk.bufferValues) part.values.push_back(mapValue(withResult, v));
    for (const ir::Node* e : epilogue) part.opNames.emplace_back(e->opName());
    item.epilogue = std::move(part);
  }

  // MatMul / Gemm `anchor` (maybe inside a Fused node `n`) with an epilogue.
  void classifyGemm(const ir::Node& anchor, const std::vector<const ir::Value*>& outputs,
                    const std::vector<const ir::Node*>& epilogue, const ValueMap& toGraph, Item& item) {
    auto refuse = [&](std::string why) { item.reason = std::move(why); };
    const ir::Value* a = anchor.input(0);
    const ir::Value* b = anchor.input(1);
    const ir::Value* result = anchor.output(0);
    ir::DType t = a->dtype();
    bool half = t == ir::DType::F16 || t == ir::DType::BF16;
    if (b->dtype() != t || result->dtype() != t || (t != ir::DType::F32 && !(half && options_.halfGemms)))
      return refuse(options_.halfGemms ? "GEMMs are f32, f16 or bf16 only" : "GEMM kernels are f32 only");
    std::vector<int64_t> as = extentsOf(a), bs = extentsOf(b), cs = extentsOf(result);
    if (as.size() < 2 || bs.size() < 2) return refuse("matrix-vector MatMul (rank-1 operand)");
    runtime::GemmArgs& s = item.gemmShape;
    PointwiseGroup group;
    group.nodes = epilogue;
    group.outputs = outputs;
    group.shape = cs;
    group.anchorResult = result;
    if (anchor.op() == OpKind::Gemm) {
      bool ta = anchor.attrInt("transA") != 0, tb = anchor.attrInt("transB") != 0;
      s.M = ta ? as[1] : as[0];
      s.K = ta ? as[0] : as[1];
      s.N = tb ? bs[0] : bs[1];
      s.aRowStride = ta ? 1 : as[1];
      s.aColStride = ta ? as[1] : 1;
      s.bRowStride = tb ? 1 : bs[1];
      s.bColStride = tb ? bs[1] : 1;
      group.anchorScale = anchor.attrFloat("alpha");
      if (anchor.hasInput(2)) {
        group.anchorAddend = anchor.input(2);
        group.anchorAddendShape = extentsOf(anchor.input(2));
        group.anchorAddendScale = anchor.attrFloat("beta");
      }
    } else {
      s.M = as[as.size() - 2];
      s.K = as.back();
      s.N = bs.back();
      s.aRowStride = s.K;
      s.aColStride = 1;
      s.bRowStride = s.N;
      s.bColStride = 1;
      std::vector<int64_t> outBatch(cs.begin(), cs.end() - 2);
      s.batch = product(outBatch, 0, outBatch.size());
      auto batchStride = [&](const std::vector<int64_t>& shape, int64_t matrix) -> std::optional<int64_t> {
        std::vector<int64_t> batch(shape.begin(), shape.end() - 2);
        if (product(batch, 0, batch.size()) == 1) return 0;
        while (batch.size() < outBatch.size()) batch.insert(batch.begin(), 1);
        if (batch == outBatch) return matrix;
        return std::nullopt;
      };
      auto sa = batchStride(as, s.M * s.K), sb = batchStride(bs, s.K * s.N);
      if (!sa || !sb) return refuse("MatMul batch dims that broadcast partially");
      s.aBatchStride = *sa;
      s.bBatchStride = *sb;
      // A batch of A's rows times one shared B is one taller GEMM.
      if (s.batch > 1 && s.bBatchStride == 0 && s.aBatchStride == s.M * s.K) {
        s.M *= s.batch;
        s.batch = 1;
        s.aBatchStride = 0;
      }
    }
    s.ldc = s.N;
    s.cBatchStride = s.M * s.N;
    // The raw product goes to the buffer of the anchor's result if the graph
    // reads it, else straight into the first result (the epilogue then
    // updates it in place).
    // C holds the product: in the anchor result's buffer when the graph
    // reads it, else in the first result of its type, or (a half product)
    // of type f32, which the epilogue then rounds on load.
    const ir::Value* cValue = nullptr;
    for (const ir::Value* o : outputs)
      if (o == result) cValue = o;
    for (ir::DType fits : {t, ir::DType::F32})
      for (const ir::Value* o : outputs)
        if (!cValue && o->dtype() == fits) cValue = o;
    if (!cValue || extentsOf(cValue) != cs)
      return refuse("no epilogue result of the product's shape and type (or f32) to hold it");
    if (cValue->dtype() != t) group.anchorResultStorage = cValue->dtype();
    item.gemmCDtype = cValue->dtype();
    for (const ir::Value* o : outputs)
      if (extentsOf(o) != cs) return refuse("epilogue results of different shapes");
    const ir::Value* cGraph = mapValue(toGraph, cValue);
    item.gemmA = mapValue(toGraph, a);
    item.gemmB = mapValue(toGraph, b);
    item.gemmC = cGraph;
    // Constant weights are packed once, after the JIT has chosen the
    // micro-kernel's tile shape (emitSteps).
    item.packA = item.gemmA->isConstant() && s.aBatchStride == 0;
    item.packB = item.gemmB->isConstant() && s.bBatchStride == 0;
    bool needEpilogue = !epilogue.empty() || group.anchorScale != 1.0 || group.anchorAddend ||
                        (outputs.size() == 1 && outputs[0] != result);
    item.kind = Item::Kind::Gemm;
    if (needEpilogue) {
      item.kernel = buildPointwiseKernel("", group);
      if (item.kernel.unsupported) {
        item.kind = Item::Kind::Library;
        return refuse(fmt::format("no kernel lowering of epilogue op {}", item.kernel.unsupported->opName()));
      }
      // The anchor result's buffer is C.
      ValueMap withC = toGraph;
      withC[result] = cGraph;
      for (const ir::Value* v : item.kernel.bufferValues) item.kernelValues.push_back(mapValue(withC, v));
      if (group.anchorAddend || group.anchorScale != 1.0) item.opNames.emplace_back("alpha/beta/C");
      for (const ir::Node* e : epilogue) item.opNames.emplace_back(e->opName());
      if (options_.gemmLtEpilogues) matchLtEpilogue(group, toGraph, item);
    }
  }

  // Whether the epilogue of `group` is relu?(alpha * product + bias +
  // residual), with the bias a vector over the N columns and the residual a
  // matrix of C's shape, each optional: then cuBLASLt can compute it in the
  // GEMM (Item::ltEpilogue). f32, one batch, the final value the only result
  // (stored in C).
  void matchLtEpilogue(const PointwiseGroup& group, const ValueMap& toGraph, Item& item) {
    const runtime::GemmArgs& s = item.gemmShape;
    if (item.gemmA->dtype() != ir::DType::F32 || item.gemmCDtype != ir::DType::F32 || s.batch != 1 ||
        group.outputs.size() != 1)
      return;
    // Operands must be buffers: a Fused body's inputs (a scalar constant
    // copied into the body, or a value the epilogue computes, is none), or
    // any operand of a node that is not fused (toGraph empty).
    auto isBuffer = [&](const ir::Value* v) { return toGraph.empty() || toGraph.count(v) > 0; };
    auto isColumnVector = [&](const ir::Value* v) {
      std::vector<int64_t> e = extentsOf(v);
      return isBuffer(v) && v->dtype() == ir::DType::F32 && !e.empty() && e.back() == s.N &&
             product(e, 0, e.size()) == s.N;
    };
    const ir::Value* bias = nullptr;
    if (group.anchorAddend) {
      if (!isColumnVector(group.anchorAddend) || group.anchorAddendScale != 1.0) return;
      bias = group.anchorAddend;
    }
    const ir::Value* current = group.anchorResult;
    const ir::Value* residual = nullptr;
    bool relu = false;
    for (const ir::Node* n : group.nodes) {
      if (relu) return;  // ReLU must come last
      if (n->op() == OpKind::Relu && n->input(0) == current) {
        relu = true;
      } else if (n->op() == OpKind::Add && (n->input(0) == current) != (n->input(1) == current)) {
        const ir::Value* other = n->input(0) == current ? n->input(1) : n->input(0);
        if (!bias && isColumnVector(other)) bias = other;
        else if (!residual && isBuffer(other) && other->dtype() == ir::DType::F32 &&
                 extentsOf(other) == extentsOf(current))
          residual = other;
        else
          return;
      } else {
        return;
      }
      current = n->output(0);
    }
    if (current != group.outputs[0] || (!bias && !relu && !residual)) return;
    item.ltEpilogue = uint8_t((relu ? runtime::kLtRelu : 0) | (bias ? runtime::kLtBias : 0) |
                              (residual ? runtime::kLtResidual : 0));
    item.ltAlpha = group.anchorScale;
    item.ltBias = bias ? mapValue(toGraph, bias) : nullptr;
    item.ltResidual = residual ? mapValue(toGraph, residual) : nullptr;
  }

 private:
  PlannedProgram& out_;
  const ir::Graph& g_;
  PlanOptions options_;
  std::vector<Item> items_;
  passes::MemoryPlan plan_;
  std::unordered_map<const ir::Value*, int64_t> outputIndex_;
  int64_t statusOffset_ = -1;
  std::unordered_map<std::string, uint32_t> kernelByCode_;  // code -> kernel index
  std::unordered_map<const ir::Value*, int64_t> constantIndex_;
};

}  // namespace

const ir::Value* firstDynamicValue(const ir::Graph& g) {
  for (const ir::Value* v : g.inputs())
    if (!v->type().isStatic()) return v;
  for (const ir::Node* n : g.nodes())
    for (const ir::Value* v : n->outputs())
      if (!v->type().isStatic()) return v;
  return nullptr;
}

PlannedProgram planProgram(const ir::Graph& graph, const PlanOptions& options) {
  DLC_CHECK(firstDynamicValue(graph) == nullptr, "planProgram needs static shapes");
  PlannedProgram out;
  Builder builder(graph, options, out);
  builder.classify();
  builder.planMemory();
  builder.emitSteps();
  return out;
}

namespace {

// Schedules the producers of in-place outputs after the last reader of what
// they overwrite and records which pairs are safe.
void applyInPlacePairs(CompiledVariant& v, const InPlacePairs& pairs) {
  const ir::Graph& g = v.graph;
  v.inPlaceInput.assign(g.outputs().size(), -1);
  if (pairs.empty()) return;
  prepareInPlaceUpdates(v.graph, pairs);
  std::vector<bool> safe = inPlaceSafety(g, pairs);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& [outName, inName] = pairs[i];
    int outIndex = -1, inIndex = -1;
    for (size_t k = 0; k < g.outputs().size(); ++k)
      if (g.outputs()[k]->name() == outName) outIndex = int(k);
    for (size_t k = 0; k < g.inputs().size(); ++k)
      if (g.inputs()[k]->name() == inName) inIndex = int(k);
    if (outIndex < 0 || inIndex < 0)
      throw UserError(fmt::format("in-place pair {} over {}: the graph has no such {}", outName, inName,
                                  outIndex < 0 ? "output" : "input"));
    if (safe[i]) v.inPlaceInput[size_t(outIndex)] = inIndex;
    v.inPlaceLines.push_back(fmt::format("{} {} over {}", safe[i] ? "in place:" : "copied (not in place):", outName,
                                         inName));
  }
}

}  // namespace

std::unique_ptr<CompiledVariant> buildProgram(ir::Graph graph, const CpuOptions& options) {
  auto start = std::chrono::steady_clock::now();
  auto out = std::make_unique<CompiledVariant>();
  out->graph = std::move(graph);
  if (const ir::Value* v = firstDynamicValue(out->graph)) {
    out->interpreted = true;
    out->interpretedReason = fmt::format(
        "value '{}' has a shape that depends on input data ({}); the whole graph runs on the reference interpreter",
        v->name(), v->type().str());
    return out;
  }
  for (const ir::Value* v : out->graph.outputs()) out->outputShapes.push_back(extentsOf(v));
  applyInPlacePairs(*out, options.inPlace);
  PlannedProgram plan = planProgram(out->graph);
  out->memory = plan.memory;
  out->stepLines = std::move(plan.spec.describeLines);

  std::shared_ptr<const JitProgram> jit = jitCompile(plan.kernels, CpuTargetOptions{options.cpu}, plan.convKernels);
  out->target = jit->targetDescription();
  runtime::CompiledKernels code;
  for (const std::string& name : plan.spec.kernelNames) code.kernels.push_back(jit->kernel(name));
  code.microKernel = jit->gemmMicroKernel();
  code.owner = jit;
  const std::vector<LibraryCall>& calls = plan.libraryCalls;
  const runtime::ProgramSpec& spec = plan.spec;
  auto library = [&](const runtime::LibraryStepSpec& l) -> std::unique_ptr<runtime::Step> {
    const LibraryCall& call = calls.at(l.index);
    std::vector<runtime::BufferRef> ins, outs;
    for (const auto& r : call.inputs) ins.push_back(r ? runtime::bind(spec, *r) : runtime::BufferRef{});
    for (const auto& r : call.outputs) outs.push_back(runtime::bind(spec, r));
    auto step = std::make_unique<LibraryStep>(*call.node, std::move(ins), std::move(outs), call.reason);
    for (const auto& [v, r] : call.outer) step->addOuterValue(v, runtime::bind(spec, r));
    return step;
  };
  out->program = runtime::instantiate(spec, code, library);
  out->compileMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace dlc::codegen::cpu
