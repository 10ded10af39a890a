// The Trainer: builds the training graph once (passes/autodiff), compiles it
// for the target, and carries parameters and optimizer state between steps
// (each step's `<p>.next` outputs become the next step's inputs).
#include "dlc/training.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "codegen/cpu/cpu_model.h"
#include "codegen/cpu/in_place_update.h"
#if DLC_HAVE_CUDA
#include "codegen/cuda/cuda_model.h"
#include "codegen/cuda/nvrtc_compiler.h"
#endif
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "passes/autodiff.h"

namespace dlc {
namespace {

// A graph run on the chosen target: compiled once per shape signature (cpu,
// cuda) or interpreted (ref). The values it carries from run to run
// ({output, input} pairs: parameters and optimizer state of a training step)
// are kept by the runner: on the host for cpu and ref (updated in place by
// CpuModel::runInto where the compiled step allows it), in device memory for
// cuda (CudaModel's carried values: no host round trip per step).
class Runner {
 public:
  Runner(ir::Graph graph, const TrainerOptions& o, codegen::cpu::InPlacePairs carried = {})
      : graph_(std::move(graph)) {
    if (o.target == "cpu") {
      cpu_.emplace(ir::cloneGraph(graph_), codegen::cpu::CpuOptions{"host", o.threads, carried});
    } else if (o.target == "cuda") {
#if DLC_HAVE_CUDA
      codegen::cuda::CudaOptions co;
      co.cacheDir = codegen::cuda::defaultCacheDir();
      co.carried = carried;
      cuda_.emplace(ir::cloneGraph(graph_), std::move(co));
#else
      throwUserError("trainer: target cuda: dlc was built without CUDA (DLC_CUDA=OFF or no CUDA toolkit)");
#endif
    } else if (o.target != "ref") {
      throwUserError("trainer: unknown target '{}' (expected cpu, cuda or ref)", o.target);
    }
    const auto& outs = graph_.outputs();
    for (const auto& [output, input] : carried)
      for (size_t i = 0; i < outs.size(); ++i)
        if (outs[i]->name() == output) nextIndex_[input] = i;
  }
  const ir::Graph& graph() const { return graph_; }

  // A carried input's value (the runner keeps its own copy).
  void setCarried(const std::string& name, const Tensor& value) {
#if DLC_HAVE_CUDA
    if (cuda_) return cuda_->setCarried(name, value);
#endif
    host_[name] = value.clone();
  }
  // Its current value (shares storage with the runner's copy on cpu/ref).
  Tensor carried(const std::string& name) const {
#if DLC_HAVE_CUDA
    if (cuda_) return cuda_->carried(name);
#endif
    return host_.at(name);
  }

  // Runs on `feeds` plus the carried values; each carried output replaces
  // its input for the next run. Returns the outputs (carried ones may be
  // undefined).
  std::vector<Tensor> run(const NamedTensors& feeds) {
#if DLC_HAVE_CUDA
    if (cuda_) return cuda_->run(feeds);
#endif
    NamedTensors all = feeds;
    for (const auto& [name, t] : host_) all[name] = t;
    ir::checkInputs(graph_, all);
    if (nextIndex_.empty()) return cpu_ ? cpu_->run(all) : ir::interpret(graph_, all);
    // Updated in their own buffers (in place where the compiled step allows
    // it: see CpuModel::runInto).
    std::vector<Tensor*> into(graph_.outputs().size(), nullptr);
    for (auto& [name, t] : host_) into.at(nextIndex_.at(name)) = &t;
    if (cpu_) return cpu_->runInto(all, into);
    std::vector<Tensor> out = ir::interpret(graph_, all);
    for (size_t i = 0; i < out.size(); ++i)
      if (into[i]) *into[i] = out[i];
    return out;
  }
  std::string describe() const {
#if DLC_HAVE_CUDA
    if (cuda_) return cuda_->describe();
#endif
    return cpu_ ? cpu_->describe() : "ref: the reference interpreter\n";
  }

 private:
  ir::Graph graph_;
  std::optional<codegen::cpu::CpuModel> cpu_;
#if DLC_HAVE_CUDA
  std::optional<codegen::cuda::CudaModel> cuda_;
#endif
  NamedTensors host_;                        // carried values (cpu, ref)
  std::map<std::string, size_t> nextIndex_;  // carried input -> output index
};

std::vector<std::string> defaultParameters(const ir::Graph& g) {
  std::vector<std::string> names;
  for (const ir::Value* c : g.constants())
    if (ir::isFloat(c->dtype()) && c->constant().rank() >= 1) names.push_back(c->name());
  return names;
}

ir::Value* findOutput(const ir::Graph& g, const std::string& name) {
  std::vector<std::string> names;
  for (ir::Value* v : g.outputs()) {
    if (v->name() == name) return v;
    names.push_back(v->name());
  }
  throwUserError("trainer: the model has no output '{}' (outputs: {})", name, fmt::join(names, ", "));
}

// The forward graph with the loss as its only output.
ir::Graph withLoss(const ir::Graph& forward, const LossSpec& spec, std::string& lossName) {
  ir::Graph g = ir::cloneGraph(forward);
  ir::Value* out = findOutput(g, spec.output);
  if (spec.kind == LossSpec::Kind::Output) {
    lossName = out->name();
    g.setOutputs({out});
    return g;
  }
  if (spec.labels.empty()) throwUserError("trainer: the loss needs a labels input name");
  if (g.findValue(spec.labels))
    throwUserError("trainer: labels input '{}' is already a value of the model", spec.labels);
  if (!out->type().shape) throwUserError("trainer: output '{}' has no known rank", out->name());
  ir::GraphBuilder b(g);
  b.setNamePrefix("loss");
  ir::Value* loss = nullptr;
  switch (spec.kind) {
    case LossSpec::Kind::CrossEntropy: {
      ir::Shape s = *out->type().shape;
      if (s.rank() < 2) throwUserError("trainer: cross-entropy logits '{}' must be [N, C, ...], got {}", out->name(), s.str());
      s.dims().erase(s.dims().begin() + 1);
      loss = passes::softmaxCrossEntropy(b, out, b.input(spec.labels, ir::TensorType(ir::DType::I64, s)),
                                         spec.reduction);
      break;
    }
    case LossSpec::Kind::MeanSquaredError:
      loss = passes::meanSquaredError(b, out, b.input(spec.labels, out->type()), spec.reduction);
      break;
    case LossSpec::Kind::BinaryCrossEntropyWithLogits:
      loss = passes::binaryCrossEntropyWithLogits(b, out, b.input(spec.labels, out->type()), spec.reduction);
      break;
    case LossSpec::Kind::Output:
      break;
  }
  if (!g.findValue("loss")) g.renameValue(loss, "loss");
  lossName = loss->name();
  g.setOutputs({loss});
  return g;
}

// A copy of `forward` whose parameter constants are graph inputs of the same
// names (so that predict() compiles once and reads the current weights).
ir::Graph parametersAsInputs(const ir::Graph& forward, const std::vector<std::string>& params) {
  ir::Graph g = ir::cloneGraph(forward);
  for (const std::string& p : params) {
    ir::Value* v = g.findValue(p);
    if (!v || !v->isConstant()) continue;
    g.renameValue(v, g.uniqueName(p + ".initializer"));
    g.replaceAllUsesWith(v, g.addInput(p, v->type()));
  }
  return g;
}

}  // namespace

struct Trainer::Impl {
  TrainerOptions options;
  ir::Graph forward;
  passes::TrainingGraph tg;
  std::optional<Runner> train;  // holds the parameters and optimizer state
  std::optional<Runner> predict;
  std::set<std::string> carried;     // carried input names
  std::set<std::string> unset;       // carried inputs with no value yet
  std::set<std::string> batchInputs;  // what a batch must supply
  int64_t steps = 0;
  // predict()'s parameters (host copies), refreshed after steps / setParameter.
  NamedTensors predictParameters;
  bool predictParametersStale = true;
};

Trainer::Trainer(ir::Graph forward, TrainerOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  options.optimizer.validate();
  if (options.parameters.empty()) options.parameters = defaultParameters(forward);
  if (options.parameters.empty()) throwUserError("trainer: the model has no float constants to train");
  m.options = std::move(options);
  std::string lossName;
  ir::Graph lossGraph = withLoss(forward, m.options.loss, lossName);
  m.tg = passes::buildTrainingGraph(lossGraph, lossName, m.options.parameters, &m.options.optimizer);
  m.forward = std::move(forward);
  for (const passes::CarriedValue& cv : m.tg.carried) m.carried.insert(cv.input);
  for (const ir::Value* in : m.tg.graph.inputs())
    if (!m.carried.count(in->name()) && in->name() != m.tg.stepInput) m.batchInputs.insert(in->name());
  codegen::cpu::InPlacePairs carriedPairs;
  for (const passes::CarriedValue& cv : m.tg.carried) carriedPairs.emplace_back(cv.next, cv.input);
  m.train.emplace(ir::cloneGraph(m.tg.graph), m.options, std::move(carriedPairs));
  for (const passes::CarriedValue& cv : m.tg.carried) {
    if (cv.initial.defined()) m.train->setCarried(cv.input, cv.initial);
    else m.unset.insert(cv.input);
  }
}

Trainer Trainer::fromOnnx(const std::string& path, TrainerOptions options) {
  return Trainer(frontend::onnx::importOnnxFile(path).graph, std::move(options));
}

Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;

float Trainer::step(const NamedTensors& batch) {
  Impl& m = *impl_;
  NamedTensors feeds;
  for (const auto& [name, t] : batch) {
    if (m.carried.count(name))
      throwUserError("trainer: batch input '{}' is a parameter or optimizer state (use setParameter)", name);
    if (!m.batchInputs.count(name))
      throwUserError("trainer: '{}' is not an input of the training step (inputs: {})", name,
                     fmt::join(m.batchInputs, ", "));
    feeds[name] = t;
  }
  for (const std::string& name : m.batchInputs)
    if (!batch.count(name)) throwUserError("trainer: the batch has no input '{}'", name);
  if (!m.unset.empty())
    throwUserError("trainer: parameter '{}' has no value; set it with setParameter", *m.unset.begin());
  if (!m.tg.stepInput.empty()) feeds[m.tg.stepInput] = Tensor::scalar<int64_t>(m.steps + 1);
  std::vector<Tensor> out = m.train->run(feeds);
  ++m.steps;
  m.predictParametersStale = true;
  return float(out[0].getDouble(0));
}

std::vector<Tensor> Trainer::predict(const NamedTensors& inputs) {
  Impl& m = *impl_;
  if (!m.predict) m.predict.emplace(parametersAsInputs(m.forward, m.options.parameters), m.options);
  if (m.predictParametersStale) {  // on cuda: one download per parameter after each step
    for (const std::string& p : m.options.parameters) {
      if (m.unset.count(p)) throwUserError("trainer: parameter '{}' has no value; set it with setParameter", p);
      m.predictParameters[p] = m.train->carried(p);
    }
    m.predictParametersStale = false;
  }
  NamedTensors feeds = inputs;
  for (const std::string& p : m.options.parameters) {
    if (inputs.count(p)) throwUserError("trainer: input '{}' is a parameter (use setParameter)", p);
    feeds[p] = m.predictParameters.at(p);
  }
  return m.predict->run(feeds);
}

const std::vector<std::string>& Trainer::parameterNames() const { return impl_->options.parameters; }

Tensor Trainer::parameter(const std::string& name) const {
  const Impl& m = *impl_;
  for (const std::string& p : m.options.parameters)
    if (p == name) {
      if (m.unset.count(p)) throwUserError("trainer: parameter '{}' has no value; set it with setParameter", p);
      return m.train->carried(name).clone();
    }
  throwUserError("trainer: no parameter named '{}' (parameters: {})", name, fmt::join(m.options.parameters, ", "));
}

void Trainer::setParameter(const std::string& name, const Tensor& value) {
  Impl& m = *impl_;
  const auto& ps = m.options.parameters;
  if (std::find(ps.begin(), ps.end(), name) == ps.end())
    throwUserError("trainer: no parameter named '{}' (parameters: {})", name, fmt::join(m.options.parameters, ", "));
  const ir::Value* in = m.tg.graph.findValue(name);
  ir::TensorType want = in->type();
  if (value.dtype() != want.dtype || !want.shape || value.type().shape != want.shape)
    throwUserError("trainer: setParameter('{}'): expected {}, got {}", name, want.str(), value.type().str());
  m.train->setCarried(name, value);
  m.unset.erase(name);
  m.predictParametersStale = true;
}

int64_t Trainer::stepsTaken() const { return impl_->steps; }

std::string Trainer::describe() const { return impl_->train->describe(); }

ir::Graph Trainer::forwardGraph() const {
  const Impl& m = *impl_;
  ir::Graph g = ir::cloneGraph(m.forward);
  for (const std::string& p : m.options.parameters) {
    ir::Value* v = g.findValue(p);
    if (!v) continue;
    if (v->isConstant()) g.renameValue(v, g.uniqueName(p + ".old"));
    ir::Value* c = g.addConstant(p, parameter(p));
    g.replaceAllUsesWith(v, c);
  }
  return g;
}

void Trainer::exportOnnx(const std::string& path) const {
  frontend::onnx::exportOnnxFile(forwardGraph(), path);
}

}  // namespace dlc
