#include "codegen/cuda/cuda_model.h"

#include <fmt/format.h>

#include <mutex>

#include "codegen/cuda/cuda_executor.h"
#include "codegen/cuda/cuda_program.h"
#include "runtime/cuda/cuda_device.h"
#include "support/error.h"

namespace dlc::codegen::cuda {

namespace {

using ShapeMap = std::map<std::string, std::vector<int64_t>>;

// One input-shape signature: planned on creation, compiled for the device
// at its first run.
struct Variant {
  ir::Graph graph;
  bool interpreted = false;  // shapes depend on data: the interpreter runs it
  std::string interpretedReason;
  CudaPlan plan;
  std::vector<std::vector<int64_t>> outputShapes;
  std::once_flag compiled;
  std::unique_ptr<CudaExecutor> executor;
};

std::string signatureOf(const ShapeMap& shapes) {
  std::string s;
  for (const auto& [name, dims] : shapes) s += fmt::format("{}:[{}];", name, fmt::join(dims, ","));
  return s;
}

// How a step runs on the GPU, for describe().
std::string howItRuns(const CudaPlan& plan, size_t i) {
  const runtime::StepSpec& s = plan.planned.spec.steps[i];
  return std::visit(
      [&](const auto& op) -> std::string {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, runtime::KernelStepSpec>)
          return fmt::format("CUDA kernel {}", plan.kernels.at(op.kernel).name);
        else if constexpr (std::is_same_v<T, runtime::GemmStepSpec>)
          return op.epilogue == runtime::kNone ? "cuBLAS GEMM"
                                               : fmt::format("cuBLAS GEMM + CUDA kernel {}", plan.kernels.at(size_t(op.epilogue)).name);
        else if constexpr (std::is_same_v<T, runtime::ConvStepSpec>)
          return fmt::format("{}cuBLAS GEMM x{} groups{}",
                             plan.im2colKernel[i] >= 0 ? "im2col kernel + " : "", op.shape.group,
                             op.epilogue == runtime::kNone ? "" : " + epilogue kernel");
        else if constexpr (std::is_same_v<T, runtime::CopyStepSpec>)
          return "device copy";
        else
          return "library call on the host (operands copied to the host, reference kernel, results copied back)";
      },
      s.op);
}

}  // namespace

struct CudaModel::Impl {
  ir::Graph graph;
  CudaOptions options;
  mutable std::mutex mutex;  // guards variants, latest and the device
  std::map<std::string, std::shared_ptr<Variant>> variants;
  std::shared_ptr<Variant> latest;
  std::shared_ptr<runtime::cuda::Device> device;

  std::shared_ptr<Variant> variantFor(const ShapeMap& shapes) {
    std::string sig = signatureOf(shapes);
    {
      std::lock_guard lock(mutex);
      if (auto it = variants.find(sig); it != variants.end()) return it->second;
    }
    auto v = std::make_shared<Variant>();
    v->graph = specialise(graph, shapes);
    if (const ir::Value* dyn = cpu::firstDynamicValue(v->graph)) {
      v->interpreted = true;
      v->interpretedReason = fmt::format(
          "value '{}' has a shape that depends on input data ({}); the whole graph runs on the reference "
          "interpreter on the host",
          dyn->name(), dyn->type().str());
    } else {
      v->plan = planCuda(v->graph);
      for (const ir::Value* o : v->graph.outputs()) v->outputShapes.push_back(o->type().shape->extents());
    }
    std::lock_guard lock(mutex);
    auto [it, inserted] = variants.emplace(sig, v);
    latest = it->second;
    return it->second;
  }

  std::shared_ptr<runtime::cuda::Device> openDevice() {
    std::lock_guard lock(mutex);
    if (!device) device = std::make_shared<runtime::cuda::Device>(options.device);
    return device;
  }
};

CudaModel::CudaModel(ir::Graph graph, CudaOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->graph = std::move(graph);
  impl_->options = std::move(options);
  ShapeMap shapes;
  bool allStatic = true;
  for (const ir::Value* in : impl_->graph.inputs()) {
    if (!in->type().isStatic()) allStatic = false;
    else shapes[in->name()] = in->type().shape->extents();
  }
  if (allStatic) impl_->variantFor(shapes);
}

CudaModel::~CudaModel() = default;

std::vector<ir::Tensor> CudaModel::run(const ir::NamedTensors& inputs) {
  ir::checkInputs(impl_->graph, inputs);
  ShapeMap shapes;
  for (const ir::Value* in : impl_->graph.inputs()) shapes[in->name()] = inputs.at(in->name()).shape();
  std::shared_ptr<Variant> v = impl_->variantFor(shapes);
  if (v->interpreted) return ir::interpret(v->graph, inputs);
  std::shared_ptr<runtime::cuda::Device> dev = impl_->openDevice();
  std::call_once(v->compiled, [&] { v->executor = std::make_unique<CudaExecutor>(dev, v->plan, impl_->options); });
  std::vector<const void*> in;
  for (const ir::Value* i : v->graph.inputs()) in.push_back(inputs.at(i->name()).rawData());
  std::vector<ir::Tensor> outputs;
  std::vector<void*> out;
  for (size_t i = 0; i < v->outputShapes.size(); ++i) {
    outputs.emplace_back(v->graph.outputs()[i]->dtype(), v->outputShapes[i]);
    out.push_back(outputs.back().rawData());
  }
  v->executor->run(in, out);
  return outputs;
}

std::string CudaModel::describe() const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->variants.empty()) return "cuda: nothing planned yet (symbolic input shapes: planned at the first run)\n";
  std::string out;
  for (const auto& [sig, v] : impl_->variants) {
    out += fmt::format("variant {}\n", sig);
    if (v->interpreted) {
      out += "  " + v->interpretedReason + "\n";
      continue;
    }
    out += v->executor ? "  " + v->executor->description() + "\n"
                       : "  cuda: not compiled yet (compiled with NVRTC for the device at the first run)\n";
    const auto& steps = v->plan.planned.spec.steps;
    out += fmt::format("  {} steps, {} CUDA kernels, arena {} bytes\n", steps.size(), v->plan.kernels.size(),
                       v->plan.planned.spec.arenaBytes);
    for (size_t i = 0; i < steps.size(); ++i) out += fmt::format("  s{:<4} {} -> {}\n", i, steps[i].what, howItRuns(v->plan, i));
  }
  return out;
}

std::string CudaModel::cudaSource() const {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->latest) return "";
  return impl_->latest->interpreted ? "// " + impl_->latest->interpretedReason + "\n" : impl_->latest->plan.source;
}

cpu::MemoryReport CudaModel::memoryReport() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->latest && !impl_->latest->interpreted ? impl_->latest->plan.planned.memory : cpu::MemoryReport{};
}

size_t CudaModel::numPlannedVariants() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->variants.size();
}

}  // namespace dlc::codegen::cuda
