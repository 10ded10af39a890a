#include "codegen/cuda/cuda_executor.h"

#include <fmt/format.h>

#include <mutex>
#include <optional>
#include <unordered_map>

#include "codegen/cuda/cuda_emitter.h"
#include "codegen/cuda/nvrtc_compiler.h"
#include "ir/interpreter.h"
#include "runtime/cuda/cublas.h"
#include "runtime/cuda/cuda_device.h"
#include "support/error.h"

namespace dlc::codegen::cuda {

using runtime::SpecRef;
using namespace runtime::cuda;

namespace {

// Everything one run needs on the device; reused by later runs.
struct Slot {
  DeviceMemory arena, scratch;
  std::vector<DeviceMemory> inputs, outputs;
  std::unique_ptr<Stream> stream;
  std::unique_ptr<Blas> blas;
  std::unique_ptr<GraphExec> graph;
};

}  // namespace

struct CudaExecutor::Impl {
  std::shared_ptr<Device> dev;
  const Driver& d;
  const CudaPlan& plan;
  const runtime::ProgramSpec& spec;
  CudaOptions options;
  CompiledImage image;
  std::unique_ptr<Module> module;
  std::vector<CUfunction> functions;  // per plan.kernels
  std::vector<LaunchShape> launches;  // per plan.kernels
  std::vector<DeviceMemory> constants;
  std::vector<std::optional<BlasGemm>> gemms;  // per step (GEMM steps)
  bool needsBlas = false, hasLibrary = false;
  std::mutex mutex;
  std::vector<std::unique_ptr<Slot>> freeSlots;

  Impl(std::shared_ptr<Device> device, const CudaPlan& p, const CudaOptions& o)
      : dev(std::move(device)), d(dev->driver()), plan(p), spec(p.planned.spec), options(o) {
    dev->makeCurrent();
    std::string arch = options.arch.empty() ? dev->arch() : options.arch;
    image = compileCuda(plan.source, "dlc_program.cu", {arch, options.ptx, options.cacheDir});
    module = std::make_unique<Module>(*dev, image.image);
    unsigned maxBlocks = unsigned(std::max(1, dev->multiprocessors() * 32));
    for (const kir::Kernel& k : plan.kernels) {
      functions.push_back(module->function(k.name));
      launches.push_back(launchShape(k, maxBlocks));
    }
    for (const runtime::ConstantSpec& c : spec.constants) {
      constants.emplace_back(*dev, size_t(c.bytes));
      if (c.bytes) DLC_CU(d, cuMemcpyHtoD, constants.back().ptr(), c.data, size_t(c.bytes));
    }
    gemms.resize(spec.steps.size());
    for (size_t i = 0; i < spec.steps.size(); ++i) {
      const runtime::StepSpec& s = spec.steps[i];
      if (const auto* g = std::get_if<runtime::GemmStepSpec>(&s.op)) {
        gemms[i] = planBlasGemm(g->shape);
        DLC_CHECK(gemms[i].has_value(), "no cuBLAS call for the GEMM of step {}: {}", i, s.what);
        needsBlas = true;
      }
      if (std::holds_alternative<runtime::ConvStepSpec>(s.op)) needsBlas = true;
      if (std::holds_alternative<runtime::LibraryStepSpec>(s.op)) hasLibrary = true;
    }
  }

  std::unique_ptr<Slot> newSlot() {
    auto s = std::make_unique<Slot>();
    s->arena = DeviceMemory(*dev, size_t(spec.arenaBytes));
    s->scratch = DeviceMemory(*dev, size_t(plan.convScratchElements) * sizeof(float));
    for (const runtime::TensorSpec& t : spec.inputs) s->inputs.emplace_back(*dev, size_t(runtime::tensorBytes(t)));
    for (const runtime::TensorSpec& t : spec.outputs) s->outputs.emplace_back(*dev, size_t(runtime::tensorBytes(t)));
    s->stream = std::make_unique<Stream>(*dev);
    if (needsBlas) s->blas = std::make_unique<Blas>(*dev, *s->stream, options.allowTf32);
    return s;
  }

  CUdeviceptr resolve(const Slot& s, SpecRef r) const {
    switch (r.space) {
      case SpecRef::Space::Arena: return s.arena.ptr() + CUdeviceptr(r.index);
      case SpecRef::Space::Input: return s.inputs.at(size_t(r.index)).ptr();
      case SpecRef::Space::Output: return s.outputs.at(size_t(r.index)).ptr();
      case SpecRef::Space::Constant: return constants.at(size_t(r.index)).ptr();
    }
    throw InternalError("CUDA executor: unknown buffer space");
  }

  void launch(const Slot& s, size_t kernel, const std::vector<CUdeviceptr>& buffers) const {
    const LaunchShape& shape = launches[kernel];
    if (shape.grid == 0) return;  // an empty iteration space
    std::vector<CUdeviceptr> ptrs = buffers;
    std::vector<void*> args;
    for (CUdeviceptr& p : ptrs) args.push_back(&p);
    // Cooperative kernels need exactly their block size (the row groups and
    // __launch_bounds__ are compiled in); their shared memory is static.
    DLC_CU(d, cuLaunchKernel, functions[kernel], shape.grid, 1, 1, shape.block, 1, 1, 0, s.stream->get(),
           args.data(), nullptr);
  }
  void launch(const Slot& s, size_t kernel, const std::vector<SpecRef>& refs) const {
    std::vector<CUdeviceptr> ptrs;
    for (const SpecRef& r : refs) ptrs.push_back(resolve(s, r));
    launch(s, kernel, ptrs);
  }

  // A node without a kernel: operands to the host, its reference kernel,
  // results back (the stream is synchronised first).
  void library(const Slot& s, const runtime::LibraryStepSpec& l) const {
    const cpu::LibraryCall& call = plan.planned.libraryCalls.at(l.index);
    const ir::Node& node = *call.node;
    CUstream st = s.stream->get();
    s.stream->synchronize();
    auto download = [&](const ir::Value* v, SpecRef r) {
      ir::Tensor t(v->dtype(), v->type().shape->extents());
      if (t.byteSize()) DLC_CU(d, cuMemcpyDtoHAsync, t.rawData(), resolve(s, r), t.byteSize(), st);
      return t;
    };
    std::vector<ir::Tensor> inputs(call.inputs.size());
    std::vector<const ir::Tensor*> operands(call.inputs.size(), nullptr);
    for (size_t i = 0; i < call.inputs.size(); ++i)
      if (call.inputs[i] && node.input(i)) {
        inputs[i] = download(node.input(i), *call.inputs[i]);
        operands[i] = &inputs[i];
      }
    std::unordered_map<const ir::Value*, ir::Tensor> outer;
    for (const auto& [v, r] : call.outer) outer.emplace(v, download(v, r));
    s.stream->synchronize();
    std::vector<ir::Tensor> results = ir::evalNode(node, operands, outer);
    for (size_t i = 0; i < call.outputs.size(); ++i) {
      const ir::Value* v = node.output(i);
      if (results.at(i).shape() != v->type().shape->extents() || results[i].dtype() != v->dtype())
        throwUserError("{}: produced {} {}, but the compiled program planned {}", node.describe(),
                       ir::dtypeName(results[i].dtype()), fmt::join(results[i].shape(), "x"), v->type().str());
      if (results[i].byteSize())
        DLC_CU(d, cuMemcpyHtoDAsync, resolve(s, call.outputs[i]), results[i].rawData(), results[i].byteSize(), st);
    }
    s.stream->synchronize();  // the results' host memory is freed on return
  }

  void enqueue(const Slot& s) const {
    CUstream st = s.stream->get();
    for (size_t i = 0; i < spec.steps.size(); ++i) {
      const runtime::StepSpec& step = spec.steps[i];
      if (const auto* k = std::get_if<runtime::KernelStepSpec>(&step.op)) {
        if (k->hasStatus) DLC_CU(d, cuMemsetD8Async, resolve(s, k->status), 0, 8, st);
        launch(s, k->kernel, k->buffers);
      } else if (const auto* g = std::get_if<runtime::GemmStepSpec>(&step.op)) {
        CUdeviceptr a = g->packA != runtime::kNone ? constants.at(size_t(g->packA)).ptr() : resolve(s, g->a);
        CUdeviceptr b = g->packB != runtime::kNone ? constants.at(size_t(g->packB)).ptr() : resolve(s, g->b);
        s.blas->gemm(*gemms[i], b, a, resolve(s, g->c));  // cuBLAS's A is our B (column-major view)
        if (g->epilogue != runtime::kNone) launch(s, size_t(g->epilogue), g->epilogueBuffers);
      } else if (const auto* c = std::get_if<runtime::ConvStepSpec>(&step.op)) {
        CUdeviceptr x = resolve(s, c->x), y = resolve(s, c->y), w = resolve(s, c->weights);
        CUdeviceptr cols = x;
        if (plan.im2colKernel[i] >= 0) {
          launch(s, size_t(plan.im2colKernel[i]), std::vector<CUdeviceptr>{x, s.scratch.ptr()});
          cols = s.scratch.ptr();
        }
        for (const ConvGemm& cg : plan.convPlans[i].gemms)
          s.blas->gemm(cg.gemm, cols + CUdeviceptr(cg.colOffset * 4), w + CUdeviceptr(cg.weightsOffset * 4),
                       y + CUdeviceptr(cg.outputOffset * 4));
        if (c->epilogue != runtime::kNone) launch(s, size_t(c->epilogue), c->epilogueBuffers);
      } else if (const auto* cp = std::get_if<runtime::CopyStepSpec>(&step.op)) {
        if (cp->bytes) DLC_CU(d, cuMemcpyDtoDAsync, resolve(s, cp->to), resolve(s, cp->from), size_t(cp->bytes), st);
      } else if (const auto* l = std::get_if<runtime::LibraryStepSpec>(&step.op)) {
        library(s, *l);
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

  void run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
           const std::vector<uint64_t>& deviceInputs, const std::vector<uint64_t>& deviceOutputs) {
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
    for (const runtime::StepSpec& step : spec.steps)
      if (const auto* k = std::get_if<runtime::KernelStepSpec>(&step.op); k && k->hasStatus) {
        int64_t status = 0;
        DLC_CU(d, cuMemcpyDtoH, &status, resolve(*s, k->status), sizeof status);
        if (status != 0) {
          std::lock_guard lock(mutex);
          freeSlots.push_back(std::move(s));
          throw UserError(k->statusMessage);
        }
      }
    std::lock_guard lock(mutex);
    freeSlots.push_back(std::move(s));
  }
};

CudaExecutor::CudaExecutor(std::shared_ptr<Device> device, const CudaPlan& plan, const CudaOptions& options)
    : impl_(std::make_unique<Impl>(std::move(device), plan, options)) {}

CudaExecutor::~CudaExecutor() {
  if (impl_) impl_->dev->makeCurrent();  // device objects are freed in the device's context
}

void CudaExecutor::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) {
  impl_->run(inputs, outputs, {}, {});
}

void CudaExecutor::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                       const std::vector<uint64_t>& deviceInputs, const std::vector<uint64_t>& deviceOutputs) {
  static_assert(sizeof(CUdeviceptr) == sizeof(uint64_t));
  impl_->run(inputs, outputs, deviceInputs, deviceOutputs);
}

std::string CudaExecutor::description() const {
  const Impl& m = *impl_;
  return fmt::format("cuda: {} ({}, {} SMs); {} for {} from NVRTC {} ({:.0f} ms{}); {}{}; {}", m.dev->name(),
                     m.dev->arch(), m.dev->multiprocessors(), m.image.isPtx ? "PTX" : "cubin", m.image.arch,
                     nvrtcVersion(), m.image.compileMs, m.image.fromCache ? ", from the disk cache" : "",
                     m.needsBlas ? "GEMMs on " + Blas::libraryName() : "no GEMMs",
                     m.needsBlas ? (m.options.allowTf32 ? " (TF32 allowed)" : " (FP32)") : "",
                     m.options.useGraphs && !m.hasLibrary ? "replayed as one CUDA graph"
                                                          : "run step by step (library calls need the host)");
}

}  // namespace dlc::codegen::cuda
