// If, Loop and Scan: ops whose bodies are subgraphs (Graph attributes). A
// body reads values of the enclosing graph directly; the interpreter runs it
// through EvalContext::subgraphRunner().
#include <algorithm>
#include <limits>

#include "ir/ops/op_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// The type two values may both have: equal dims stay, differing ones become
// unknown; a rank mismatch gives an unranked type.
TensorType mergeTypes(const TensorType& a, const TensorType& b) {
  if (!a.shape || !b.shape || a.shape->rank() != b.shape->rank()) return TensorType::unranked(a.dtype);
  std::vector<Dim> dims;
  for (size_t i = 0; i < a.shape->rank(); ++i)
    dims.push_back((*a.shape)[i] == (*b.shape)[i] ? (*a.shape)[i] : Dim::unknown());
  return TensorType(a.dtype, Shape(dims));
}

// `type` with a new leading dim (a stack of per-iteration values).
TensorType stackedType(const TensorType& type, Dim leading) {
  if (!type.shape) return type;
  std::vector<Dim> dims = type.shape->dims();
  dims.insert(dims.begin(), leading);
  return TensorType(type.dtype, Shape(dims));
}

bool scalarTruth(const Tensor& t, const char* what) {
  if (t.numel() != 1) throwUserError("{} must hold one element, found shape [{}]", what, fmt::join(t.shape(), ","));
  return t.getInt(0) != 0;
}

// Stacks equally-shaped tensors along a new axis.
Tensor stack(const std::vector<Tensor>& parts, int64_t axis, const TensorType& bodyType) {
  if (parts.empty()) {
    // No iterations: an empty stack; the slice shape comes from the body's type if known.
    std::vector<int64_t> shape;
    if (bodyType.isStatic()) shape = bodyType.shape->extents();
    shape.insert(shape.begin() + std::min<int64_t>(axis, int64_t(shape.size())), 0);
    return Tensor(bodyType.dtype, shape);
  }
  const Tensor& first = parts[0];
  for (const Tensor& p : parts)
    if (p.shape() != first.shape() || p.dtype() != first.dtype())
      throwUserError("scan output changes shape between iterations: [{}] vs [{}]", fmt::join(first.shape(), ","),
                     fmt::join(p.shape(), ","));
  std::vector<int64_t> shape = first.shape();
  shape.insert(shape.begin() + axis, int64_t(parts.size()));
  Tensor out(first.dtype(), shape);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= first.dim(size_t(i));
  for (size_t i = size_t(axis); i < first.rank(); ++i) inner *= first.dim(i);
  size_t elem = dtypeSize(first.dtype());
  for (size_t k = 0; k < parts.size(); ++k)
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(out.rawData() + ((o * int64_t(parts.size()) + int64_t(k)) * inner) * int64_t(elem),
                  parts[k].rawData() + o * inner * int64_t(elem), size_t(inner) * elem);
  return out;
}

// Slice `index` of `t` along `axis`, with that axis removed.
Tensor sliceAt(const Tensor& t, int64_t axis, int64_t index) {
  std::vector<int64_t> shape = t.shape();
  int64_t count = shape[size_t(axis)];
  shape.erase(shape.begin() + axis);
  Tensor out(t.dtype(), shape);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= t.dim(size_t(i));
  for (size_t i = size_t(axis) + 1; i < t.rank(); ++i) inner *= t.dim(i);
  size_t elem = dtypeSize(t.dtype());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(out.rawData() + o * inner * int64_t(elem), t.rawData() + ((o * count + index) * inner) * int64_t(elem),
                size_t(inner) * elem);
  return out;
}

void inferIf(InferContext& ctx) {
  const Graph& thenG = ctx.node().attrGraph("then_branch");
  const Graph& elseG = ctx.node().attrGraph("else_branch");
  if (thenG.outputs().size() != ctx.numOutputs() || elseG.outputs().size() != ctx.numOutputs())
    ctx.fail("then_branch has {} outputs and else_branch {}, but the node has {}", thenG.outputs().size(),
             elseG.outputs().size(), ctx.numOutputs());
  for (size_t i = 0; i < ctx.numOutputs(); ++i) {
    const TensorType& a = thenG.outputs()[i]->type();
    const TensorType& b = elseG.outputs()[i]->type();
    if (a.dtype != b.dtype)
      ctx.fail("output {} is {} in then_branch but {} in else_branch", i, dtypeName(a.dtype), dtypeName(b.dtype));
    ctx.setOutput(i, mergeTypes(a, b));
  }
}

void evalIf(EvalContext& ctx) {
  bool cond = scalarTruth(ctx.input(0), "If's condition");
  const Graph& branch = ctx.node().attrGraph(cond ? "then_branch" : "else_branch");
  auto outs = ctx.subgraphRunner()(branch, {});
  for (size_t i = 0; i < ctx.numOutputs(); ++i) ctx.setOutput(i, std::move(outs.at(i)));
}

// Loop(M?, cond?, v_initial...) with body(iteration, cond, v...) ->
// (cond, v..., scan outputs...); results: final v..., stacked scan outputs.
void inferLoop(InferContext& ctx) {
  const Graph& body = ctx.node().attrGraph("body");
  size_t carried = ctx.numInputs() >= 2 ? ctx.numInputs() - 2 : 0;
  if (body.inputs().size() != carried + 2)
    ctx.fail("body takes {} inputs, expected {} (iteration, condition and {} loop-carried values)",
             body.inputs().size(), carried + 2, carried);
  if (body.outputs().size() < carried + 1 || ctx.numOutputs() != body.outputs().size() - 1)
    ctx.fail("body has {} outputs for {} loop-carried values and a node with {} results", body.outputs().size(),
             carried, ctx.numOutputs());
  for (size_t i = 0; i < carried; ++i) {
    const TensorType& init = ctx.inputType(i + 2);
    ctx.setOutput(i, mergeTypes(init, body.outputs()[i + 1]->type()));
  }
  for (size_t k = carried; k < ctx.numOutputs(); ++k)
    ctx.setOutput(k, stackedType(body.outputs()[k + 1]->type(), Dim::unknown()));
}

void evalLoop(EvalContext& ctx) {
  const Graph& body = ctx.node().attrGraph("body");
  int64_t tripCount = ctx.hasInput(0) ? scalarInt(ctx.input(0), "Loop's trip count") : std::numeric_limits<int64_t>::max();
  bool cond = ctx.hasInput(1) ? scalarTruth(ctx.input(1), "Loop's condition") : true;
  if (!ctx.hasInput(0) && !ctx.hasInput(1))
    ctx.fail("Loop has neither a trip count nor a condition, so it would never end");
  size_t carried = ctx.numInputs() >= 2 ? ctx.numInputs() - 2 : 0;
  std::vector<Tensor> values;
  for (size_t i = 0; i < carried; ++i) values.push_back(ctx.input(i + 2));
  size_t numScans = ctx.numOutputs() - carried;
  std::vector<std::vector<Tensor>> scans(numScans);
  for (int64_t it = 0; it < tripCount && cond; ++it) {
    std::vector<Tensor> args = {Tensor::scalar<int64_t>(it), Tensor::scalar<bool>(cond)};
    args.insert(args.end(), values.begin(), values.end());
    auto outs = ctx.subgraphRunner()(body, args);
    cond = scalarTruth(outs.at(0), "the body's condition output");
    for (size_t i = 0; i < carried; ++i) values[i] = std::move(outs.at(i + 1));
    for (size_t k = 0; k < numScans; ++k) scans[k].push_back(std::move(outs.at(carried + 1 + k)));
  }
  for (size_t i = 0; i < carried; ++i) ctx.setOutput(i, values[i]);
  for (size_t k = 0; k < numScans; ++k)
    ctx.setOutput(carried + k, stack(scans[k], 0, body.outputs()[carried + 1 + k]->type()));
}

// Scan (opset 9+): states and scan inputs; the body maps (states, slices) to
// (states, scan output slices).
struct ScanLayout {
  size_t numStates, numScanInputs, numScanOutputs;
  std::vector<int64_t> inputAxes, inputDirections, outputAxes, outputDirections;
};

ScanLayout scanLayout(const Node& node, size_t numInputs, size_t numOutputs) {
  ScanLayout l;
  int64_t numScan = node.attrInt("num_scan_inputs");
  if (numScan < 1 || size_t(numScan) > numInputs)
    throwUserError("num_scan_inputs is {} for a node with {} inputs", numScan, numInputs);
  l.numScanInputs = size_t(numScan);
  l.numStates = numInputs - l.numScanInputs;
  if (numOutputs < l.numStates) throwUserError("Scan has {} results for {} states", numOutputs, l.numStates);
  l.numScanOutputs = numOutputs - l.numStates;
  auto list = [&](const char* name, size_t n) {
    std::vector<int64_t> v = node.hasAttr(name) ? node.attrInts(name) : std::vector<int64_t>(n, 0);
    if (v.size() != n) throwUserError("{} has {} entries, expected {}", name, v.size(), n);
    return v;
  };
  l.inputAxes = list("scan_input_axes", l.numScanInputs);
  l.inputDirections = list("scan_input_directions", l.numScanInputs);
  l.outputAxes = list("scan_output_axes", l.numScanOutputs);
  l.outputDirections = list("scan_output_directions", l.numScanOutputs);
  return l;
}

void inferScan(InferContext& ctx) {
  const Graph& body = ctx.node().attrGraph("body");
  ScanLayout l = scanLayout(ctx.node(), ctx.numInputs(), ctx.numOutputs());
  if (body.inputs().size() != ctx.numInputs() || body.outputs().size() != ctx.numOutputs())
    ctx.fail("body has {} inputs and {} outputs, expected {} and {}", body.inputs().size(), body.outputs().size(),
             ctx.numInputs(), ctx.numOutputs());
  Dim length = Dim::unknown();
  if (l.numScanInputs > 0) {
    const auto& s = ctx.inputShape(l.numStates);
    if (s) length = (*s)[size_t(normalizeAxis(l.inputAxes[0], int64_t(s->rank())))];
  }
  for (size_t i = 0; i < l.numStates; ++i) ctx.setOutput(i, mergeTypes(ctx.inputType(i), body.outputs()[i]->type()));
  for (size_t k = 0; k < l.numScanOutputs; ++k) {
    TensorType slice = body.outputs()[l.numStates + k]->type();
    if (!slice.shape) {
      ctx.setOutput(l.numStates + k, slice);
      continue;
    }
    std::vector<Dim> dims = slice.shape->dims();
    int64_t axis = normalizeAxis(l.outputAxes[k], int64_t(dims.size()) + 1);
    dims.insert(dims.begin() + axis, length);
    ctx.setOutput(l.numStates + k, TensorType(slice.dtype, Shape(dims)));
  }
}

void evalScan(EvalContext& ctx) {
  const Graph& body = ctx.node().attrGraph("body");
  ScanLayout l = scanLayout(ctx.node(), ctx.numInputs(), ctx.numOutputs());
  std::vector<Tensor> states;
  for (size_t i = 0; i < l.numStates; ++i) states.push_back(ctx.input(i));
  std::vector<int64_t> axes;
  int64_t length = -1;
  for (size_t j = 0; j < l.numScanInputs; ++j) {
    const Tensor& in = ctx.input(l.numStates + j);
    int64_t axis = normalizeAxis(l.inputAxes[j], int64_t(in.rank()));
    axes.push_back(axis);
    if (length >= 0 && in.dim(size_t(axis)) != length)
      ctx.fail("scan inputs have different lengths {} and {}", length, in.dim(size_t(axis)));
    length = in.dim(size_t(axis));
  }
  std::vector<std::vector<Tensor>> scans(l.numScanOutputs);
  for (int64_t it = 0; it < length; ++it) {
    std::vector<Tensor> args = states;
    for (size_t j = 0; j < l.numScanInputs; ++j) {
      int64_t index = l.inputDirections[j] ? length - 1 - it : it;
      args.push_back(sliceAt(ctx.input(l.numStates + j), axes[j], index));
    }
    auto outs = ctx.subgraphRunner()(body, args);
    for (size_t i = 0; i < l.numStates; ++i) states[i] = std::move(outs.at(i));
    for (size_t k = 0; k < l.numScanOutputs; ++k) scans[k].push_back(std::move(outs.at(l.numStates + k)));
  }
  for (size_t i = 0; i < l.numStates; ++i) ctx.setOutput(i, states[i]);
  for (size_t k = 0; k < l.numScanOutputs; ++k) {
    if (l.outputDirections[k]) std::reverse(scans[k].begin(), scans[k].end());
    const TensorType& sliceType = body.outputs()[l.numStates + k]->type();
    int64_t rank = scans[k].empty() ? int64_t(sliceType.shape ? sliceType.shape->rank() : 0) : int64_t(scans[k][0].rank());
    ctx.setOutput(l.numStates + k, stack(scans[k], normalizeAxis(l.outputAxes[k], rank + 1), sliceType));
  }
}

}  // namespace

const OpDef kIfDef{
    .name = "If", .minInputs = 1, .maxInputs = 1, .minOutputs = 1, .maxOutputs = kVariadic,
    .attrs = {{"then_branch", AttrKind::Graph, std::nullopt}, {"else_branch", AttrKind::Graph, std::nullopt}},
    .infer = inferIf, .eval = evalIf,
};

const OpDef kLoopDef{
    .name = "Loop", .minInputs = 0, .maxInputs = kVariadic, .minOutputs = 0, .maxOutputs = kVariadic,
    .attrs = {{"body", AttrKind::Graph, std::nullopt}},
    .infer = inferLoop, .eval = evalLoop,
};

const OpDef kScanDef{
    .name = "Scan", .minInputs = 1, .maxInputs = kVariadic, .minOutputs = 1, .maxOutputs = kVariadic,
    .attrs = {{"body", AttrKind::Graph, std::nullopt},
              {"num_scan_inputs", AttrKind::Int, std::nullopt},
              {"scan_input_directions", AttrKind::Ints, std::nullopt, true},
              {"scan_output_directions", AttrKind::Ints, std::nullopt, true},
              {"scan_input_axes", AttrKind::Ints, std::nullopt, true},
              {"scan_output_axes", AttrKind::Ints, std::nullopt, true}},
    .infer = inferScan, .eval = evalScan,
};

}  // namespace dlc::ir
