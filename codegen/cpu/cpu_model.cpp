#include "codegen/cpu/cpu_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>

#include "codegen/cpu/program_builder.h"
#include "codegen/llvm/cpu_jit.h"
#include "ir/graph_clone.h"
#include "ir/infer.h"
#include "passes/pass.h"
#include "runtime/thread_pool.h"

namespace dlc::codegen::cpu {

struct CpuModel::Impl {
  explicit Impl(int threads) : pool(threads) {}
  runtime::ThreadPool pool;
  mutable std::mutex mutex;  // guards the cache; compiled variants are immutable
  std::map<std::string, std::shared_ptr<const CompiledVariant>> variants;
  std::shared_ptr<const CompiledVariant> latest;
};

namespace {

using ShapeMap = std::map<std::string, std::vector<int64_t>>;

std::string signatureOf(const ShapeMap& shapes) {
  std::string s;
  for (const auto& [name, dims] : shapes) s += fmt::format("{}:[{}];", name, fmt::join(dims, ","));
  return s;
}

}  // namespace

ir::Graph specialiseGraph(const ir::Graph& model, const ShapeMap& shapes, const passes::PassContext& ctx) {
  ir::Graph g = ir::cloneGraph(model);
  for (ir::Value* in : g.inputs()) {
    auto it = shapes.find(in->name());
    if (it != shapes.end()) in->setType(ir::TensorType(in->dtype(), ir::Shape::fromExtents(it->second)));
  }
  ir::inferTypes(g);
  passes::defaultPipeline(ctx).run(g);
  return g;
}

passes::PassContext cpuPassContext(const std::string& cpu, bool fuseAttention, bool blockedLayout) {
  return {.fuseAttention = fuseAttention, .channelBlock = blockedLayout ? targetVectorWidth(CpuTargetOptions{cpu}) : 0};
}

CpuModel::CpuModel(ir::Graph graph, CpuOptions options)
    : graph_(std::move(graph)), options_(std::move(options)), impl_(std::make_unique<Impl>(options_.threads)) {
  bool allStatic = true;
  ShapeMap shapes;
  for (const ir::Value* in : graph_.inputs()) {
    if (!in->type().isStatic()) allStatic = false;
    else shapes[in->name()] = in->type().shape->extents();
  }
  if (allStatic) variantFor(shapes);
}

CpuModel::~CpuModel() = default;

const CompiledVariant& CpuModel::variantFor(const ShapeMap& inputShapes) {
  std::string signature = signatureOf(inputShapes);
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->variants.find(signature);
    if (it != impl_->variants.end()) return *it->second;
  }
  // Compiled outside the lock: two threads may both compile a new signature;
  // the first to finish is kept.
  std::shared_ptr<const CompiledVariant> variant = buildProgram(
      specialiseGraph(graph_, inputShapes, cpuPassContext(options_.cpu, options_.fuseAttention, options_.blockedLayout)),
      options_);
  std::lock_guard lock(impl_->mutex);
  auto [it, inserted] = impl_->variants.emplace(signature, variant);
  impl_->latest = it->second;
  return *it->second;
}

namespace {

// The buffers of one run: the caller's inputs, and outputs that are either
// the caller's tensors (runInto) or freshly allocated. An output given by
// the caller that overlaps an input it may not overwrite in this schedule is
// computed into a fresh buffer and copied over after the run.
struct RunBuffers {
  std::vector<const void*> inputs;
  std::vector<ir::Tensor> outputs;
  std::vector<void*> outputPointers;
  std::vector<std::pair<size_t, ir::Tensor*>> copyAfterRun;

  RunBuffers(const CompiledVariant& v, const ir::NamedTensors& given, std::span<ir::Tensor* const> into = {}) {
    std::vector<std::pair<const std::byte*, const std::byte*>> inputBytes;
    for (const ir::Value* in : v.graph.inputs()) {
      const ir::Tensor& t = given.at(in->name());
      inputs.push_back(t.rawData());
      inputBytes.emplace_back(t.rawData(), t.rawData() + t.byteSize());
    }
    for (size_t i = 0; i < v.graph.outputs().size(); ++i) {
      ir::Tensor* target = i < into.size() ? into[i] : nullptr;
      if (target) {
        const std::byte* begin = target->rawData();
        const std::byte* end = begin + target->byteSize();
        bool overlapsInput = false;
        for (size_t k = 0; k < inputBytes.size(); ++k) {
          bool allowed = v.inPlaceInput[i] == int(k) && inputBytes[k].first == begin;
          if (!allowed && begin < inputBytes[k].second && inputBytes[k].first < end) overlapsInput = true;
        }
        if (!overlapsInput) {
          outputs.push_back(*target);
          outputPointers.push_back(target->rawData());
          continue;
        }
        copyAfterRun.emplace_back(i, target);
      }
      // Every element is written by the program.
      outputs.push_back(ir::Tensor::uninitialized(v.graph.outputs()[i]->dtype(), v.outputShapes[i]));
      outputPointers.push_back(outputs.back().rawData());
    }
  }

  std::vector<ir::Tensor> finish() {
    for (auto [i, target] : copyAfterRun) {
      if (outputs[i].byteSize()) std::memcpy(target->rawData(), outputs[i].rawData(), outputs[i].byteSize());
      outputs[i] = *target;
    }
    return std::move(outputs);
  }
};

}  // namespace

const CompiledVariant& CpuModel::variantForInputs(const ir::NamedTensors& inputs) {
  ir::checkInputs(graph_, inputs);
  ShapeMap shapes;
  for (const ir::Value* in : graph_.inputs()) shapes[in->name()] = inputs.at(in->name()).shape();
  return variantFor(shapes);
}

std::vector<ir::Tensor> CpuModel::run(const ir::NamedTensors& inputs) {
  const CompiledVariant& v = variantForInputs(inputs);
  if (v.interpreted) return ir::interpret(v.graph, inputs);
  RunBuffers buffers(v, inputs);
  v.program.run(impl_->pool, buffers.inputs, buffers.outputPointers);
  return buffers.finish();
}

std::vector<ir::Tensor> CpuModel::runInto(const ir::NamedTensors& inputs, std::span<ir::Tensor* const> into) {
  const CompiledVariant& v = variantForInputs(inputs);
  const auto& outs = v.graph.outputs();
  if (into.size() != outs.size())
    throw UserError(fmt::format("runInto: {} output tensors given for {} outputs", into.size(), outs.size()));
  std::vector<ir::Tensor> results;
  if (v.interpreted) results = ir::interpret(v.graph, inputs);
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!into[i]) continue;
    std::vector<int64_t> shape = v.interpreted ? results[i].shape() : v.outputShapes[i];
    if (!into[i]->defined() || into[i]->dtype() != outs[i]->dtype() || into[i]->shape() != shape)
      throw UserError(fmt::format("runInto: output '{}' is {} [{}], the tensor given for it is {}", outs[i]->name(),
                                  ir::dtypeName(outs[i]->dtype()), fmt::join(shape, ","),
                                  into[i]->defined() ? into[i]->type().str() : "undefined"));
  }
  if (v.interpreted) {
    for (size_t i = 0; i < outs.size(); ++i) {
      if (!into[i]) continue;
      if (results[i].byteSize()) std::memcpy(into[i]->rawData(), results[i].rawData(), results[i].byteSize());
      results[i] = *into[i];
    }
    return results;
  }
  RunBuffers buffers(v, inputs, into);
  v.program.run(impl_->pool, buffers.inputs, buffers.outputPointers);
  return buffers.finish();
}

std::string CpuModel::profile(const ir::NamedTensors& inputs, int iterations, size_t top) {
  const CompiledVariant& v = variantForInputs(inputs);
  if (v.interpreted) return "interpreted: " + v.interpretedReason + "\n";
  RunBuffers buffers(v, inputs);
  // Each run's step times, kept apart: on a shared machine a step's median
  // and minimum over the runs say more than its mean.
  const size_t numSteps = v.program.steps().size();
  std::vector<std::vector<double>> perStep(numSteps);
  for (std::vector<double>& t : perStep) t.reserve(size_t(iterations));  // no allocation between the runs
  std::vector<double> run;
  for (int i = 0; i < iterations; ++i) {
    run.assign(numSteps, 0.0);
    v.program.run(impl_->pool, buffers.inputs, buffers.outputPointers, &run);
    for (size_t s = 0; s < numSteps; ++s) perStep[s].push_back(run[s]);
  }
  std::vector<double> seconds(numSteps), fastest(numSteps);
  for (size_t s = 0; s < numSteps; ++s) {
    std::vector<double>& t = perStep[s];
    if (t.empty()) continue;
    std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
    seconds[s] = t[t.size() / 2];
    fastest[s] = *std::min_element(t.begin(), t.end());
  }
  double total = 0;
  for (double s : seconds) total += s;
  std::vector<size_t> order(numSteps);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return seconds[a] > seconds[b]; });
  std::string out = fmt::format("per-step median time over {} runs (medians add up to {:.3f} ms), and minimum:\n",
                                iterations, 1e3 * total);
  for (size_t i = 0; i < std::min(top, order.size()); ++i) {
    size_t s = order[i];
    out += fmt::format("  {:8.3f} ms {:5.1f}%  (min {:.3f})  {}\n", 1e3 * seconds[s],
                       total > 0 ? 100 * seconds[s] / total : 0.0, 1e3 * fastest[s], v.program.steps()[s]->describe());
  }
  // Every step by how it runs: the words after "->" up to the first
  // detail ("blocked conv 3x3", "GEMM", "JIT kernel", ...).
  std::map<std::string, std::pair<double, int>> byKind;
  for (size_t s = 0; s < seconds.size(); ++s) {
    std::string d = v.program.steps()[s]->describe();
    size_t arrow = d.find("-> ");
    std::string kind = arrow == std::string::npos ? d : d.substr(arrow + 3);
    size_t cut = std::min({kind.find(" dlc_"), kind.find(" with"), kind.find(" ("), kind.find(" stride"), kind.find(" [")});
    kind = kind.substr(0, cut);
    if (kind.starts_with("GEMM ")) kind = "GEMM";
    byKind[kind].first += seconds[s];
    byKind[kind].second += 1;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> kinds(byKind.begin(), byKind.end());
  std::sort(kinds.begin(), kinds.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  out += "by kind of step:\n";
  for (const auto& [kind, t] : kinds)
    out += fmt::format("  {:8.3f} ms {:5.1f}%  {} ({} steps)\n", 1e3 * t.first,
                       total > 0 ? 100 * t.first / total : 0.0, kind, t.second);
  return out;
}

std::string CpuModel::describe() const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->variants.empty())
    return "cpu: the model has symbolic input dims; it is compiled for each input-shape signature at its first run "
           "(pass --shape to compile one now)\n";
  std::string s;
  for (const auto& [signature, v] : impl_->variants) {
    s += fmt::format("cpu program for inputs {}\n", signature);
    if (v->interpreted) {
      s += fmt::format("  interpreted: {}\n", v->interpretedReason);
      continue;
    }
    s += fmt::format("  target: {}; {} steps; compiled in {:.1f} ms\n", v->target, v->program.steps().size(),
                     v->compileMs);
    for (const std::string& line : v->stepLines) s += "  " + line + "\n";
    for (const std::string& line : v->inPlaceLines) s += "  " + line + "\n";
    const MemoryReport& m = v->memory;
    s += fmt::format(
        "  memory: arena peak {} bytes for {} intermediates totalling {} bytes ({:.1f}%), {} in place, {} views\n",
        m.arenaBytes, m.numIntermediates, m.intermediateBytes,
        m.intermediateBytes ? 100.0 * double(m.arenaBytes) / double(m.intermediateBytes) : 0.0, m.numInPlace,
        m.numViews);
  }
  return s;
}

MemoryReport CpuModel::memoryReport() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->latest ? impl_->latest->memory : MemoryReport{};
}

size_t CpuModel::numCompiledVariants() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->variants.size();
}

}  // namespace dlc::codegen::cpu
