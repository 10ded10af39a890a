#include "codegen/cuda/cuda_executor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unordered_map>

#include "codegen/cuda/cuda_emitter.h"
#include "codegen/cuda/nvrtc_compiler.h"
#include "ir/interpreter.h"
#include "runtime/cuda/cublas.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/program_runner.h"
#include "support/error.h"

namespace dlc::codegen::cuda {

using runtime::SpecRef;
using namespace runtime::cuda;

struct CudaExecutor::Impl {
  std::shared_ptr<Device> dev;
  const CudaPlan& plan;
  CudaOptions options;
  CompiledImage image;
  std::unique_ptr<ProgramRunner> runner;

  Impl(std::shared_ptr<Device> device, const CudaPlan& p, const CudaOptions& o)
      : dev(std::move(device)), plan(p), options(o) {
    std::string arch = options.arch.empty() ? dev->arch() : options.arch;
    image = compileCuda(plan.source, "dlc_program.cu", {arch, options.ptx, options.cacheDir});
    runner = std::make_unique<ProgramRunner>(
        dev, plan.planned.spec, image.image, RunnerOptions{options.allowTf32, options.useGraphs, options.useLtEpilogues},
        [this](const runtime::LibraryStepSpec& l, const std::function<CUdeviceptr(SpecRef)>& resolve,
               const Stream& stream) { library(l, resolve, stream); });
  }

  // A node without a kernel: operands to the host, its reference kernel,
  // results back (the stream is synchronised first).
  void library(const runtime::LibraryStepSpec& l, const std::function<CUdeviceptr(SpecRef)>& resolve,
               const Stream& stream) const {
    const Driver& d = dev->driver();
    const cpu::LibraryCall& call = plan.planned.libraryCalls.at(l.index);
    const ir::Node& node = *call.node;
    CUstream st = stream.get();
    stream.synchronize();
    auto download = [&](const ir::Value* v, SpecRef r) {
      ir::Tensor t(v->dtype(), v->type().shape->extents());
      if (t.byteSize()) DLC_CU(d, cuMemcpyDtoHAsync, t.rawData(), resolve(r), t.byteSize(), st);
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
    stream.synchronize();
    std::vector<ir::Tensor> results = ir::evalNode(node, operands, outer);
    for (size_t i = 0; i < call.outputs.size(); ++i) {
      const ir::Value* v = node.output(i);
      if (results.at(i).shape() != v->type().shape->extents() || results[i].dtype() != v->dtype())
        throwUserError("{}: produced {} {}, but the compiled program planned {}", node.describe(),
                       ir::dtypeName(results[i].dtype()), fmt::join(results[i].shape(), "x"), v->type().str());
      if (results[i].byteSize())
        DLC_CU(d, cuMemcpyHtoDAsync, resolve(call.outputs[i]), results[i].rawData(), results[i].byteSize(), st);
    }
    stream.synchronize();  // the results' host memory is freed on return
  }
};

CudaExecutor::CudaExecutor(std::shared_ptr<Device> device, const CudaPlan& plan, const CudaOptions& options)
    : impl_(std::make_unique<Impl>(std::move(device), plan, options)) {}

CudaExecutor::~CudaExecutor() = default;

void CudaExecutor::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs) {
  impl_->runner->run(inputs, outputs);
}

void CudaExecutor::run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
                       const std::vector<uint64_t>& deviceInputs, const std::vector<uint64_t>& deviceOutputs) {
  impl_->runner->run(inputs, outputs, deviceInputs, deviceOutputs);
}

std::string CudaExecutor::description() const {
  const Impl& m = *impl_;
  return fmt::format("cuda: {} ({}, {} SMs); {} for {} from NVRTC {} ({:.0f} ms{}); {}{}; {}", m.dev->name(),
                     m.dev->arch(), m.dev->multiprocessors(), m.image.isPtx ? "PTX" : "cubin", m.image.arch,
                     nvrtcVersion(), m.image.compileMs, m.image.fromCache ? ", from the disk cache" : "",
                     m.runner->usesBlas() ? "GEMMs on " + Blas::libraryName() : "no GEMMs",
                     m.runner->usesBlas() ? (m.options.allowTf32 ? " (TF32 allowed)" : " (FP32)") : "",
                     m.runner->replaysGraphs() ? "replayed as one CUDA graph"
                                               : "run step by step (library calls need the host)");
}

}  // namespace dlc::codegen::cuda
