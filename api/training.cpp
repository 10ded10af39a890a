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
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "passes/autodiff.h"

namespace dlc {
namespace {

// A graph run on the chosen target: compiled once per shape signature (cpu)
// or interpreted (ref).
class Runner {
 public:
  // `inPlace`: {output, input} pairs the compiled program may write over
  // the input (parameters and optimizer state updated in place).
  Runner(ir::Graph graph, const TrainerOptions& o, codegen::cpu::InPlacePairs inPlace = {})
      : graph_(std::move(graph)) {
    if (o.target == "cpu")
      cpu_.emplace(ir::cloneGraph(graph_), codegen::cpu::CpuOptions{"host", o.threads, std::move(inPlace)});
    else if (o.target != "ref")
      throwUserError("trainer: unknown target '{}' (expected cpu or ref)", o.target);
  }
  const ir::Graph& graph() const { return graph_; }
  std::vector<Tensor> run(const NamedTensors& feeds) {
    ir::checkInputs(graph_, feeds);
    return cpu_ ? cpu_->run(feeds) : ir::interpret(graph_, feeds);
  }
  // Output i goes into *into[i] where that is set (see CpuModel::runInto).
  std::vector<Tensor> runInto(const NamedTensors& feeds, std::span<Tensor* const> into) {
    ir::checkInputs(graph_, feeds);
    if (cpu_) return cpu_->runInto(feeds, into);
    std::vector<Tensor> out = ir::interpret(graph_, feeds);
    for (size_t i = 0; i < out.size(); ++i)
      if (into[i]) *into[i] = out[i];
    return out;
  }
  std::string describe() const { return cpu_ ? cpu_->describe() : "ref: the reference interpreter\n"; }

 private:
  ir::Graph graph_;
  std::optional<codegen::cpu::CpuModel> cpu_;
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
  std::optional<Runner> train;
  std::optional<Runner> predict;
  NamedTensors carried;                    // carried input name -> value
  std::map<std::string, size_t> nextIndex;  // carried input name -> output index
  std::set<std::string> batchInputs;        // what a batch must supply
  int64_t steps = 0;
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
  // Own copies: the step updates them in place.
  for (const passes::CarriedValue& cv : m.tg.carried)
    m.carried[cv.input] = cv.initial.defined() ? cv.initial.clone() : cv.initial;
  const auto& outs = m.tg.graph.outputs();
  for (const passes::CarriedValue& cv : m.tg.carried)
    for (size_t i = 0; i < outs.size(); ++i)
      if (outs[i]->name() == cv.next) m.nextIndex[cv.input] = i;
  for (const ir::Value* in : m.tg.graph.inputs())
    if (!m.carried.count(in->name()) && in->name() != m.tg.stepInput) m.batchInputs.insert(in->name());
  codegen::cpu::InPlacePairs inPlace;
  for (const passes::CarriedValue& cv : m.tg.carried) inPlace.emplace_back(cv.next, cv.input);
  m.train.emplace(ir::cloneGraph(m.tg.graph), m.options, std::move(inPlace));
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
  for (const auto& [name, t] : m.carried) {
    if (!t.defined()) throwUserError("trainer: parameter '{}' has no value; set it with setParameter", name);
    feeds[name] = t;
  }
  if (!m.tg.stepInput.empty()) feeds[m.tg.stepInput] = Tensor::scalar<int64_t>(m.steps + 1);
  // Parameters and state are updated in their own buffers (in place where
  // the compiled step allows it: see CpuModel::runInto).
  std::vector<Tensor*> into(m.tg.graph.outputs().size(), nullptr);
  for (auto& [name, t] : m.carried) into.at(m.nextIndex.at(name)) = &t;
  std::vector<Tensor> out = m.train->runInto(feeds, into);
  ++m.steps;
  return float(out[0].getDouble(0));
}

std::vector<Tensor> Trainer::predict(const NamedTensors& inputs) {
  Impl& m = *impl_;
  if (!m.predict) m.predict.emplace(parametersAsInputs(m.forward, m.options.parameters), m.options);
  NamedTensors feeds = inputs;
  for (const std::string& p : m.options.parameters) {
    if (inputs.count(p)) throwUserError("trainer: input '{}' is a parameter (use setParameter)", p);
    feeds[p] = m.carried.at(p);
  }
  return m.predict->run(feeds);
}

const std::vector<std::string>& Trainer::parameterNames() const { return impl_->options.parameters; }

Tensor Trainer::parameter(const std::string& name) const {
  const Impl& m = *impl_;
  for (const std::string& p : m.options.parameters)
    if (p == name) return m.carried.at(name).clone();
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
  m.carried[name] = value.clone();
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
    ir::Value* c = g.addConstant(p, m.carried.at(p).clone());
    g.replaceAllUsesWith(v, c);
  }
  return g;
}

void Trainer::exportOnnx(const std::string& path) const {
  frontend::onnx::exportOnnxFile(forwardGraph(), path);
}

}  // namespace dlc
