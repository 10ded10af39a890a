#include "codegen/cuda/cuda_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <mutex>

#include "codegen/cuda/cuda_executor.h"
#include "codegen/cuda/cuda_program.h"
#include "passes/pass.h"
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
        else if constexpr (std::is_same_v<T, runtime::GemmStepSpec>) {
          if (op.epilogue == runtime::kNone) return "cuBLAS GEMM";
          std::string kernel = plan.kernels.at(size_t(op.epilogue)).name;
          if (op.ltEpilogue == runtime::kLtNone) return fmt::format("cuBLAS GEMM + CUDA kernel {}", kernel);
          std::vector<std::string> parts;
          if (op.ltEpilogue & runtime::kLtBias) parts.emplace_back("bias");
          if (op.ltEpilogue & runtime::kLtResidual) parts.emplace_back("residual");
          if (op.ltEpilogue & runtime::kLtRelu) parts.emplace_back("ReLU");
          return fmt::format(
              "cuBLASLt GEMM with its {} epilogue (where cuBLASLt has no algorithm: cuBLAS GEMM + CUDA kernel {})",
              fmt::join(parts, " + "), kernel);
        } else if constexpr (std::is_same_v<T, runtime::ConvStepSpec>)
          return fmt::format("{}cuBLAS GEMM x{} groups{}",
                             op.im2col != runtime::kNone ? "im2col kernel + " : "", op.shape.group,
                             op.epilogue == runtime::kNone ? "" : " + epilogue kernel");
        else if constexpr (std::is_same_v<T, runtime::ConvTransposeStepSpec>)
          return fmt::format("cuBLAS GEMM x{} groups into columns + CUDA kernel {} (col2im{})", op.shape.group,
                             plan.kernels.at(size_t(op.col2im)).name, op.hasBias ? ", bias" : "");
        else if constexpr (std::is_same_v<T, runtime::BlockedConvStepSpec>)
          return "a CPU step (the CUDA runner refuses it)";
        else if constexpr (std::is_same_v<T, runtime::CopyStepSpec>)
          return "device copy";
        else if constexpr (std::is_same_v<T, runtime::LibraryStepSpec>)
          return "library call on the host (operands copied to the host, reference kernel, results copied back)";
        else
          static_assert(sizeof(T) == 0, "a step kind without a description");
      },
      s.op);
}

// A value carried from run to run (CudaOptions::carried). The host copy is
// current while `onHost`; the device copy while `onDevice` (at least one of
// them is, once set).
struct Carried {
  std::string input;
  size_t output = 0;  // index among the graph's outputs
  ir::TensorType type;
  ir::Tensor host;
  runtime::cuda::DeviceMemory device;
  bool set = false, onHost = false, onDevice = false;
};

}  // namespace

struct CudaModel::Impl {
  ir::Graph graph;
  CudaOptions options;
  mutable std::mutex mutex;  // guards variants, latest and the device
  std::map<std::string, std::shared_ptr<Variant>> variants;
  std::shared_ptr<Variant> latest;
  std::shared_ptr<runtime::cuda::Device> device;
  // Carried values, by input name; declared after the device (freed first).
  std::map<std::string, Carried> carried;
  mutable std::mutex carriedMutex;  // held by runs and accesses when there are carried values

  Carried& carriedValue(const std::string& input) {
    auto it = carried.find(input);
    if (it == carried.end()) {
      std::vector<std::string> names;
      for (const auto& [n, c] : carried) names.push_back(n);
      throwUserError("cuda: '{}' is not a carried input (carried: {})", input,
                     names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
    }
    return it->second;
  }
  // The host copy made current (a download after a run changed it).
  void download(Carried& c) {
    if (!c.set) throwUserError("cuda: carried input '{}' has no value (setCarried)", c.input);
    if (c.onHost) return;
    device->makeCurrent();
    if (c.host.byteSize()) DLC_CU(device->driver(), cuMemcpyDtoH, c.host.rawData(), c.device.ptr(), c.host.byteSize());
    c.onHost = true;
  }
  // The device copy made current (allocated and uploaded once after setCarried).
  void upload(Carried& c, const runtime::cuda::Device& dev) {
    if (c.onDevice) return;
    if (c.device.bytes() != c.host.byteSize()) c.device = runtime::cuda::DeviceMemory(dev, c.host.byteSize());
    if (c.host.byteSize()) DLC_CU(dev.driver(), cuMemcpyHtoD, c.device.ptr(), c.host.rawData(), c.host.byteSize());
    c.onDevice = true;
  }

  std::vector<ir::Tensor> run(const ir::NamedTensors& inputs, std::span<ir::Tensor* const> into);

  std::shared_ptr<Variant> variantFor(const ShapeMap& shapes) {
    std::string sig = signatureOf(shapes);
    {
      std::lock_guard lock(mutex);
      if (auto it = variants.find(sig); it != variants.end()) return it->second;
    }
    auto v = std::make_shared<Variant>();
    v->graph = cpu::specialiseGraph(graph, shapes, {.fuseAttention = options.fuseAttention});
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
  if (impl_->options.precision != ir::DType::F32) passes::autocastMatrixProducts(impl_->graph, impl_->options.precision);
  const auto& outs = impl_->graph.outputs();
  for (const auto& [output, input] : impl_->options.carried) {
    size_t index = 0;
    while (index < outs.size() && outs[index]->name() != output) ++index;
    const ir::Value* in = impl_->graph.findValue(input);
    bool isInput = false;
    for (const ir::Value* i : impl_->graph.inputs()) isInput |= i == in;
    if (index == outs.size() || !isInput)
      throwUserError("cuda: carried pair (output '{}', input '{}'): {}", output, input,
                     index == outs.size() ? "no such graph output" : "no such graph input");
    const ir::TensorType& t = in->type();
    if (!t.isStatic() || outs[index]->type() != t)
      throwUserError("cuda: carried pair (output '{}' {}, input '{}' {}): the types must be the same and static",
                     output, outs[index]->type().str(), input, t.str());
    if (impl_->carried.count(input)) throwUserError("cuda: input '{}' is carried twice", input);
    Carried& c = impl_->carried[input];
    c.input = input;
    c.output = index;
    c.type = t;
  }
  ShapeMap shapes;
  bool allStatic = true;
  for (const ir::Value* in : impl_->graph.inputs()) {
    if (!in->type().isStatic()) allStatic = false;
    else shapes[in->name()] = in->type().shape->extents();
  }
  if (allStatic) impl_->variantFor(shapes);
}

CudaModel::~CudaModel() {
  if (impl_ && impl_->device) impl_->device->makeCurrent();  // carried device memory is freed in its context
}

std::vector<ir::Tensor> CudaModel::Impl::run(const ir::NamedTensors& given, std::span<ir::Tensor* const> into) {
  std::unique_lock carriedLock(carriedMutex, std::defer_lock);
  if (!carried.empty()) carriedLock.lock();
  const auto& outs = graph.outputs();
  if (!into.empty() && into.size() != outs.size())
    throwUserError("runInto: {} output tensors given for {} outputs", into.size(), outs.size());
  // The carried values join the caller's inputs (host copies: checked like
  // the others, uploaded only when the device copy is stale).
  ir::NamedTensors inputs = given;
  std::vector<bool> carriedOutput(outs.size(), false);
  for (auto& [name, c] : carried) {
    if (given.count(name))
      throwUserError("cuda: input '{}' is carried on the device between runs; set it with setCarried", name);
    if (!c.set) throwUserError("cuda: carried input '{}' has no value (setCarried)", name);
    if (!c.host.defined()) c.host = ir::Tensor(c.type.dtype, c.type.shape->extents());
    inputs[name] = c.host;
    carriedOutput[c.output] = true;
    if (!into.empty() && into[c.output])
      throwUserError("runInto: output '{}' replaces carried input '{}' on the device; read it with carried()",
                     outs[c.output]->name(), name);
  }
  ir::checkInputs(graph, inputs);
  ShapeMap shapes;
  for (const ir::Value* in : graph.inputs()) shapes[in->name()] = inputs.at(in->name()).shape();
  std::shared_ptr<Variant> v = variantFor(shapes);
  for (size_t i = 0; i < into.size(); ++i) {
    if (!into[i] || v->interpreted) continue;
    if (!into[i]->defined() || into[i]->dtype() != outs[i]->dtype() || into[i]->shape() != v->outputShapes[i])
      throwUserError("runInto: output '{}' is {} [{}], the tensor given for it is {}", outs[i]->name(),
                     ir::dtypeName(outs[i]->dtype()), fmt::join(v->outputShapes[i], ","),
                     into[i]->defined() ? into[i]->type().str() : "undefined");
  }
  if (v->interpreted) {  // on the host: carried values come back from the device and stay on the host
    for (auto& [name, c] : carried) download(c);
    std::vector<ir::Tensor> results = ir::interpret(v->graph, inputs);
    for (auto& [name, c] : carried) {
      c.host = results[c.output].clone();
      c.onHost = true;
      c.onDevice = false;
      results[c.output] = ir::Tensor();
    }
    for (size_t i = 0; i < into.size(); ++i) {
      if (!into[i]) continue;
      if (into[i]->dtype() != results[i].dtype() || into[i]->shape() != results[i].shape())
        throwUserError("runInto: output '{}' is {}, the tensor given for it is {}", outs[i]->name(),
                       results[i].type().str(), into[i]->defined() ? into[i]->type().str() : "undefined");
      if (results[i].byteSize()) std::memcpy(into[i]->rawData(), results[i].rawData(), results[i].byteSize());
      results[i] = *into[i];
    }
    return results;
  }
  std::shared_ptr<runtime::cuda::Device> dev = openDevice();
  std::call_once(v->compiled, [&] { v->executor = std::make_unique<CudaExecutor>(dev, v->plan, options); });
  dev->makeCurrent();
  std::vector<const void*> in;
  std::vector<uint64_t> deviceIn, deviceOut(outs.size(), 0);
  for (const ir::Value* i : v->graph.inputs()) {
    auto c = carried.find(i->name());
    if (c != carried.end()) upload(c->second, *dev);
    in.push_back(c != carried.end() ? nullptr : inputs.at(i->name()).rawData());
    deviceIn.push_back(c != carried.end() ? uint64_t(c->second.device.ptr()) : 0);
  }
  std::vector<ir::Tensor> outputs;
  std::vector<void*> out;
  for (size_t i = 0; i < v->outputShapes.size(); ++i) {
    if (carriedOutput[i]) {
      outputs.emplace_back();
      out.push_back(nullptr);
      continue;
    }
    if (i < into.size() && into[i]) outputs.push_back(*into[i]);
    else outputs.emplace_back(v->graph.outputs()[i]->dtype(), v->outputShapes[i]);
    out.push_back(outputs.back().rawData());
  }
  for (auto& [name, c] : carried) {
    deviceOut[c.output] = uint64_t(c.device.ptr());
    c.onHost = false;  // from here on the device copy is the value, whatever happens
  }
  v->executor->run(in, out, deviceIn, deviceOut);
  return outputs;
}

std::vector<ir::Tensor> CudaModel::run(const ir::NamedTensors& inputs) { return impl_->run(inputs, {}); }

std::vector<ir::Tensor> CudaModel::runInto(const ir::NamedTensors& inputs, std::span<ir::Tensor* const> into) {
  if (into.size() != impl_->graph.outputs().size())
    throwUserError("runInto: {} output tensors given for {} outputs", into.size(), impl_->graph.outputs().size());
  return impl_->run(inputs, into);
}

std::function<void()> CudaModel::deviceResidentRun(const ir::NamedTensors& inputs) {
  Impl& m = *impl_;
  if (!m.carried.empty()) throwUserError("cuda: device-resident timing of a model with carried values");
  ir::checkInputs(m.graph, inputs);
  ShapeMap shapes;
  for (const ir::Value* in : m.graph.inputs()) shapes[in->name()] = inputs.at(in->name()).shape();
  std::shared_ptr<Variant> v = m.variantFor(shapes);
  if (v->interpreted) throwUserError("cuda: nothing runs on the device: {}", v->interpretedReason);
  std::shared_ptr<runtime::cuda::Device> dev = m.openDevice();
  std::call_once(v->compiled, [&] { v->executor = std::make_unique<CudaExecutor>(dev, v->plan, m.options); });
  dev->makeCurrent();
  // The device buffers live as long as the returned function.
  struct Buffers {
    std::shared_ptr<runtime::cuda::Device> dev;
    std::vector<runtime::cuda::DeviceMemory> memory;
    std::vector<uint64_t> in, out;
    ~Buffers() { dev->makeCurrent(); }
  };
  auto b = std::make_shared<Buffers>();
  b->dev = dev;
  b->memory.reserve(v->graph.inputs().size() + v->outputShapes.size());
  for (const ir::Value* i : v->graph.inputs()) {
    const ir::Tensor& t = inputs.at(i->name());
    b->memory.emplace_back(*dev, t.byteSize());
    if (t.byteSize()) DLC_CU(dev->driver(), cuMemcpyHtoD, b->memory.back().ptr(), t.rawData(), t.byteSize());
    b->in.push_back(uint64_t(b->memory.back().ptr()));
  }
  for (size_t i = 0; i < v->outputShapes.size(); ++i) {
    ir::Tensor shape(v->graph.outputs()[i]->dtype(), v->outputShapes[i]);
    b->memory.emplace_back(*dev, shape.byteSize());
    b->out.push_back(uint64_t(b->memory.back().ptr()));
  }
  // An empty tensor has no device buffer (address 0): the runner skips it.
  return [v, b] {
    std::vector<const void*> hostIn(b->in.size(), nullptr);
    std::vector<void*> hostOut(b->out.size(), nullptr);
    v->executor->run(hostIn, hostOut, b->in, b->out);
  };
}

void CudaModel::setCarried(const std::string& input, const ir::Tensor& value) {
  std::lock_guard lock(impl_->carriedMutex);
  Carried& c = impl_->carriedValue(input);
  if (!value.defined() || value.dtype() != c.type.dtype || value.shape() != c.type.shape->extents())
    throwUserError("cuda: setCarried('{}'): expected {}, got {}", input, c.type.str(),
                   value.defined() ? value.type().str() : "an undefined tensor");
  c.host = value.clone();
  c.set = c.onHost = true;
  c.onDevice = false;
}

ir::Tensor CudaModel::carried(const std::string& input) const {
  std::lock_guard lock(impl_->carriedMutex);
  Carried& c = impl_->carriedValue(input);
  impl_->download(c);
  return c.host.clone();
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
