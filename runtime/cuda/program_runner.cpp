#include "runtime/cuda/program_runner.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "runtime/cuda/blas_gemm.h"
#include "runtime/cuda/cublas.h"
#include "runtime/cuda/cublas_lt.h"
#include "support/error_types.h"

namespace dlc::runtime::cuda {

namespace {

// Everything one run needs on the device; reused by later runs.
struct Slot {
  DeviceMemory arena, scratch;
  std::vector<DeviceMemory> inputs, outputs;
  std::unique_ptr<Stream> stream;
  std::unique_ptr<Blas> blas;
  // GEMM steps whose epilogue cuBLASLt computes (per step; null: cuBLAS and
  // the epilogue kernel), planned for this slot's addresses.
  std::unique_ptr<BlasLt> lt;
  DeviceMemory ltWorkspace;
  std::vector<BlasLt::PlanPtr> ltPlans;
  std::unique_ptr<GraphExec> graph;
};

struct Launch {
  CUfunction function = nullptr;
  unsigned grid = 0, block = 0;
};

}  // namespace

struct ProgramRunner::Impl {
  std::shared_ptr<Device> dev;
  const Driver& d;
  const ProgramSpec& spec;
  RunnerOptions options;
  LibraryStepRunner library;
  std::unique_ptr<Module> module;
  std::vector<Launch> launches;  // per kernel of the table
  std::vector<DeviceMemory> constants;
  std::vector<std::optional<BlasGemm>> gemms;  // per step (GEMM steps)
  std::vector<ConvPlan> convs;                 // per step (convolution steps)
  std::vector<std::vector<ConvTransposeGemm>> convTransposes;  // per step (ConvTranspose steps)
  int64_t scratchBytes = 0;                    // the largest im2col matrix
  bool needsBlas = false, hasLibrary = false, hasLtEpilogues = false;
  std::mutex mutex;
  std::vector<std::unique_ptr<Slot>> freeSlots;

  Impl(std::shared_ptr<Device> device, const ProgramSpec& s, const std::string& image, const RunnerOptions& o,
       LibraryStepRunner lib)
      : dev(std::move(device)), d(dev->driver()), spec(s), options(o), library(std::move(lib)) {
    validate(spec, spec.kernelNames.size());
    if (spec.launches.size() != spec.kernelNames.size())
      throw UserError("invalid program: not compiled for a GPU (no launch shapes for its kernels)");
    planSteps();
    dev->makeCurrent();
    module = std::make_unique<Module>(*dev, image);
    // Grid-stride kernels need no more blocks than the device keeps busy.
    int64_t maxBlocks = std::max(1, dev->multiprocessors() * 32);
    for (size_t i = 0; i < spec.kernelNames.size(); ++i) {
      const GpuLaunchSpec& l = spec.launches[i];
      launches.push_back({module->function(spec.kernelNames[i]), unsigned(std::min(l.blocks, maxBlocks)), l.threads});
    }
    for (const ConstantSpec& c : spec.constants) {
      constants.emplace_back(*dev, size_t(c.bytes));
      if (c.bytes) DLC_CU(d, cuMemcpyHtoD, constants.back().ptr(), c.data, size_t(c.bytes));
    }
  }

  // The cuBLAS calls of the GEMM and convolution steps, checked before any
  // device work.
  void planSteps() {
    gemms.resize(spec.steps.size());
    convs.resize(spec.steps.size());
    convTransposes.resize(spec.steps.size());
    for (size_t i = 0; i < spec.steps.size(); ++i) {
      const StepSpec& s = spec.steps[i];
      if (const auto* g = std::get_if<GemmStepSpec>(&s.op)) {
        gemms[i] = planBlasGemm(g->shape);
        if (!gemms[i]) throw UserError("invalid program: no cuBLAS call for the GEMM of step " + s.what);
        gemms[i]->abType = g->dtype;
        gemms[i]->cType = g->cDtype;
        needsBlas = true;
        hasLtEpilogues |= g->ltEpilogue != kLtNone;
      } else if (const auto* c = std::get_if<ConvStepSpec>(&s.op)) {
        convs[i] = planConv(c->shape);
        for (ConvGemm& g : convs[i].gemms) {
          g.gemm.abType = c->dtype;
          g.gemm.cType = c->cDtype;
        }
        if (convs[i].pointwise != (c->im2col == kNone))
          throw UserError("invalid program: convolution step without its im2col kernel (" + s.what + ")");
        if (!convs[i].pointwise) scratchBytes = std::max(scratchBytes, convs[i].colElements * dtypeBytes(c->dtype));
        needsBlas = true;
      } else if (const auto* t = std::get_if<ConvTransposeStepSpec>(&s.op)) {
        if (t->col2im == kNone)
          throw UserError("invalid program: ConvTranspose step without its col2im kernel (" + s.what + ")");
        convTransposes[i] = planConvTranspose(t->shape);
        needsBlas = true;
      } else if (std::holds_alternative<BlockedConvStepSpec>(s.op)) {
        throw UserError("invalid program: a blocked (NCHWc) convolution is a CPU step (" + s.what + ")");
      } else if (std::holds_alternative<LibraryStepSpec>(s.op)) {
        if (!library) throw UserError("node " + std::get<LibraryStepSpec>(s.op).node + " needs the host's library");
        hasLibrary = true;
      }
    }
  }

  std::unique_ptr<Slot> newSlot() {
    auto s = std::make_unique<Slot>();
    s->arena = DeviceMemory(*dev, size_t(spec.arenaBytes));
    s->scratch = DeviceMemory(*dev, size_t(scratchBytes));
    for (const TensorSpec& t : spec.inputs) s->inputs.emplace_back(*dev, size_t(tensorBytes(t)));
    for (const TensorSpec& t : spec.outputs) s->outputs.emplace_back(*dev, size_t(tensorBytes(t)));
    s->stream = std::make_unique<Stream>(*dev);
    if (needsBlas) s->blas = std::make_unique<Blas>(*dev, *s->stream, options.allowTf32);
    if (hasLtEpilogues && options.useLtEpilogues && BlasLt::available()) planLtEpilogues(*s);
    return s;
  }

  // The cuBLASLt plans of the slot's GEMM steps that have an epilogue it can
  // compute. Where it has no algorithm, or fails to describe one, the step
  // runs cuBLAS and the epilogue kernel instead: the same result.
  void planLtEpilogues(Slot& s) const {
    try {
      s.lt = std::make_unique<BlasLt>(*dev, options.allowTf32);
    } catch (const InternalError&) {
      return;  // no cuBLASLt handle: every step runs cuBLAS and its kernel
    }
    s.ltPlans.resize(spec.steps.size());
    bool any = false;
    for (size_t i = 0; i < spec.steps.size(); ++i) {
      const auto* g = std::get_if<GemmStepSpec>(&spec.steps[i].op);
      if (!g || g->ltEpilogue == kLtNone) continue;
      try {
        CUdeviceptr bias = (g->ltEpilogue & kLtBias) ? resolve(s, g->ltBias) : 0;
        s.ltPlans[i] = s.lt->plan(*gemms[i], g->ltEpilogue, g->ltAlpha, bias);
      } catch (const InternalError&) {
        s.ltPlans[i] = nullptr;
      }
      any |= s.ltPlans[i] != nullptr;
    }
    if (any) s.ltWorkspace = DeviceMemory(*dev, BlasLt::kWorkspaceBytes);
  }

  CUdeviceptr resolve(const Slot& s, SpecRef r) const {
    switch (r.space) {
      case SpecRef::Space::Arena: return s.arena.ptr() + CUdeviceptr(r.index);
      case SpecRef::Space::Input: return s.inputs.at(size_t(r.index)).ptr();
      case SpecRef::Space::Output: return s.outputs.at(size_t(r.index)).ptr();
      case SpecRef::Space::Constant: return constants.at(size_t(r.index)).ptr();
    }
    throw InternalError("CUDA runner: unknown buffer space");
  }

  void launch(const Slot& s, size_t kernel, std::vector<CUdeviceptr> ptrs) const {
    const Launch& l = launches.at(kernel);
    if (l.grid == 0) return;  // an empty iteration space
    std::vector<void*> args;
    for (CUdeviceptr& p : ptrs) args.push_back(&p);
    // Cooperative kernels need exactly their block size (the row groups and
    // __launch_bounds__ are compiled in); their shared memory is static.
    DLC_CU(d, cuLaunchKernel, l.function, l.grid, 1, 1, l.block, 1, 1, 0, s.stream->get(), args.data(), nullptr);
  }
  void launch(const Slot& s, size_t kernel, const std::vector<SpecRef>& refs) const {
    std::vector<CUdeviceptr> ptrs;
    for (const SpecRef& r : refs) ptrs.push_back(resolve(s, r));
    launch(s, kernel, std::move(ptrs));
  }

  void enqueue(const Slot& s) const {
    CUstream st = s.stream->get();
    for (size_t i = 0; i < spec.steps.size(); ++i) {
      const StepSpec& step = spec.steps[i];
      if (const auto* k = std::get_if<KernelStepSpec>(&step.op)) {
        if (k->hasStatus) DLC_CU(d, cuMemsetD8Async, resolve(s, k->status), 0, 8, st);
        launch(s, k->kernel, k->buffers);
      } else if (const auto* g = std::get_if<GemmStepSpec>(&step.op)) {
        // A constant operand the CPU would pack is read as it is (cuBLAS
        // takes the strides). Row-major C = A B is column-major C^T = B^T A^T:
        // cuBLAS's A is our B.
        CUdeviceptr a = g->packA != kNone ? constants.at(size_t(g->packA)).ptr() : resolve(s, g->a);
        CUdeviceptr b = g->packB != kNone ? constants.at(size_t(g->packB)).ptr() : resolve(s, g->b);
        if (i < s.ltPlans.size() && s.ltPlans[i]) {
          CUdeviceptr residual = (g->ltEpilogue & kLtResidual) ? resolve(s, g->ltResidual) : 0;
          s.lt->run(*s.ltPlans[i], b, a, resolve(s, g->c), residual, s.ltWorkspace.ptr(), st);
          continue;
        }
        s.blas->gemm(*gemms[i], b, a, resolve(s, g->c));
        if (g->epilogue != kNone) launch(s, size_t(g->epilogue), g->epilogueBuffers);
      } else if (const auto* c = std::get_if<ConvStepSpec>(&step.op)) {
        CUdeviceptr x = resolve(s, c->x), y = resolve(s, c->y), w = resolve(s, c->weights);
        CUdeviceptr cols = x;
        if (c->im2col != kNone) {
          launch(s, size_t(c->im2col), std::vector<CUdeviceptr>{x, s.scratch.ptr()});
          cols = s.scratch.ptr();
        }
        const CUdeviceptr in = CUdeviceptr(dtypeBytes(c->dtype)), out = CUdeviceptr(dtypeBytes(c->cDtype));
        for (const ConvGemm& cg : convs[i].gemms)
          s.blas->gemm(cg.gemm, cols + CUdeviceptr(cg.colOffset) * in, w + CUdeviceptr(cg.weightsOffset) * in,
                       y + CUdeviceptr(cg.outputOffset) * out);
        if (c->epilogue != kNone) launch(s, size_t(c->epilogue), c->epilogueBuffers);
      } else if (const auto* t = std::get_if<ConvTransposeStepSpec>(&step.op)) {
        // Per group the columns W_g^T x_g into the arena scratch, then the
        // col2im gather (with the bias) into y.
        CUdeviceptr x = resolve(s, t->x), w = resolve(s, t->weights), cols = resolve(s, t->scratch);
        for (const ConvTransposeGemm& g : convTransposes[i])
          s.blas->gemm(g.gemm, x + CUdeviceptr(g.inputOffset * 4), w + CUdeviceptr(g.weightsOffset * 4),
                       cols + CUdeviceptr(g.columnsOffset * 4));
        std::vector<CUdeviceptr> buffers = {cols, resolve(s, t->y)};
        if (t->hasBias) buffers.push_back(resolve(s, t->bias));
        launch(s, size_t(t->col2im), std::move(buffers));
      } else if (const auto* cp = std::get_if<CopyStepSpec>(&step.op)) {
        if (cp->bytes) DLC_CU(d, cuMemcpyDtoDAsync, resolve(s, cp->to), resolve(s, cp->from), size_t(cp->bytes), st);
      } else if (const auto* l = std::get_if<LibraryStepSpec>(&step.op)) {
        library(*l, [&](SpecRef r) { return resolve(s, r); }, *s.stream);
      } else {
        throw InternalError("CUDA runner: a step kind planSteps() refuses");
      }
    }
  }

  void capture(Slot& s) const {
    CUstream st = s.stream->get();
    DLC_CU(d, cuStreamBeginCapture, st, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    try {
      enqueue(s);
    } catch (...) {
      CUgraph g = nullptr;
      d.cuStreamEndCapture(st, &g);
      if (g) d.cuGraphDestroy(g);
      throw;
    }
    CUgraph g = nullptr;
    DLC_CU(d, cuStreamEndCapture, st, &g);
    s.graph = std::make_unique<GraphExec>(*dev, g);
  }

  // The first status word a kernel of the finished run set, as its message.
  std::optional<std::string> badData(const Slot& s) const {
    for (const StepSpec& step : spec.steps)
      if (const auto* k = std::get_if<KernelStepSpec>(&step.op); k && k->hasStatus) {
        int64_t status = 0;
        DLC_CU(d, cuMemcpyDtoH, &status, resolve(s, k->status), sizeof status);
        if (status != 0) return k->statusMessage;
      }
    return std::nullopt;
  }

  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
           const std::vector<uint64_t>& deviceInputs, const std::vector<uint64_t>& deviceOutputs) {
    if (inputs.size() != spec.inputs.size() || outputs.size() != spec.outputs.size())
      throw InternalError("CUDA runner: wrong number of inputs or outputs");
    dev->makeCurrent();
    std::unique_ptr<Slot> s;
    {
      std::lock_guard lock(mutex);
      if (!freeSlots.empty()) {
        s = std::move(freeSlots.back());
        freeSlots.pop_back();
      }
    }
    if (!s) s = newSlot();
    CUstream st = s->stream->get();
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!s->inputs[i].bytes()) continue;
      if (i < deviceInputs.size() && deviceInputs[i])
        DLC_CU(d, cuMemcpyDtoDAsync, s->inputs[i].ptr(), CUdeviceptr(deviceInputs[i]), s->inputs[i].bytes(), st);
      else
        DLC_CU(d, cuMemcpyHtoDAsync, s->inputs[i].ptr(), inputs[i], s->inputs[i].bytes(), st);
    }
    if (options.useGraphs && !hasLibrary) {
      if (!s->graph) capture(*s);
      s->graph->launch(*s->stream);
    } else {
      enqueue(*s);
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (!s->outputs[i].bytes()) continue;
      if (i < deviceOutputs.size() && deviceOutputs[i])
        DLC_CU(d, cuMemcpyDtoDAsync, CUdeviceptr(deviceOutputs[i]), s->outputs[i].ptr(), s->outputs[i].bytes(), st);
      else
        DLC_CU(d, cuMemcpyDtoHAsync, outputs[i], s->outputs[i].ptr(), s->outputs[i].bytes(), st);
    }
    s->stream->synchronize();
    std::optional<std::string> bad = badData(*s);
    {
      std::lock_guard lock(mutex);
      freeSlots.push_back(std::move(s));
    }
    if (bad) throw UserError(*bad);
  }
};

ProgramRunner::ProgramRunner(std::shared_ptr<Device> device, const ProgramSpec& spec, const std::string& image,
                             const RunnerOptions& options, LibraryStepRunner library)
    : impl_(std::make_unique<Impl>(std::move(device), spec, image, options, std::move(library))) {}

ProgramRunner::~ProgramRunner() {
  if (impl_) impl_->dev->makeCurrent();  // device objects are freed in the device's context
}

void ProgramRunner::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                        const std::vector<uint64_t>& deviceInputs, const std::vector<uint64_t>& deviceOutputs) {
  static_assert(sizeof(CUdeviceptr) == sizeof(uint64_t));
  impl_->run(inputs, outputs, deviceInputs, deviceOutputs);
}

const Device& ProgramRunner::device() const { return *impl_->dev; }
bool ProgramRunner::usesBlas() const { return impl_->needsBlas; }
bool ProgramRunner::replaysGraphs() const { return impl_->options.useGraphs && !impl_->hasLibrary; }

}  // namespace dlc::runtime::cuda
