// Slice (opset-13 form): starts, ends and optional axes and steps as
// operands. Out-of-range starts/ends are clamped; negative steps walk backwards.
#include "ir/ops/tensor_util.h"

#include <climits>
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// Per-axis slice parameters, one entry per input axis (untouched axes take
// the whole extent with step 1).
struct SliceSpec {
  std::vector<int64_t> starts, ends, steps;
  std::vector<bool> sliced;
};

SliceSpec sliceSpec(size_t rank, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                    const std::optional<std::vector<int64_t>>& axesIn,
                    const std::optional<std::vector<int64_t>>& stepsIn) {
  if (starts.size() != ends.size())
    throwUserError("starts has {} entries but ends has {}", starts.size(), ends.size());
  std::vector<int64_t> axes;
  if (axesIn) {
    axes = normalizeAxes(*axesIn, int64_t(rank), "axes");
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  }
  if (axes.size() != starts.size())
    throwUserError("axes has {} entries but starts has {}", axes.size(), starts.size());
  if (axes.size() > rank) throwUserError("{} axes are sliced but the input has rank {}", axes.size(), rank);
  if (stepsIn && stepsIn->size() != starts.size())
    throwUserError("steps has {} entries but starts has {}", stepsIn->size(), starts.size());
  SliceSpec spec{std::vector<int64_t>(rank, 0), std::vector<int64_t>(rank, INT64_MAX),
                 std::vector<int64_t>(rank, 1), std::vector<bool>(rank, false)};
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(axes[i]);
    spec.starts[a] = starts[i];
    spec.ends[a] = ends[i];
    spec.steps[a] = stepsIn ? (*stepsIn)[i] : 1;
    if (spec.steps[a] == 0) throwUserError("steps[{}] is 0", i);
    spec.sliced[a] = true;
  }
  return spec;
}

// An optional operand's constant value: {known, value}. An absent operand is
// known (and nullopt).
std::pair<bool, std::optional<std::vector<int64_t>>> optionalConstant(const InferContext& ctx, size_t i) {
  if (!ctx.hasInput(i)) return {true, std::nullopt};
  auto v = constantInts(ctx, i);
  return {v.has_value(), v};
}

void inferSlice(InferContext& ctx) {
  const TensorType& in = ctx.inputType(0);
  if (!in.shape) return ctx.setOutput(0, TensorType::unranked(in.dtype));
  size_t rank = in.shape->rank();
  auto starts = constantInts(ctx, 1);
  auto ends = constantInts(ctx, 2);
  auto [axesKnown, axes] = optionalConstant(ctx, 3);
  auto [stepsKnown, steps] = optionalConstant(ctx, 4);
  if (!axesKnown) return ctx.setOutput(0, TensorType(in.dtype, Shape(std::vector<Dim>(rank))));
  if (!starts || !ends || !stepsKnown) {
    // Only the sliced axes are unknown.
    Shape out = *in.shape;
    size_t count = starts ? starts->size() : ends ? ends->size() : 0;
    if (!axes && !starts && !ends) return ctx.setOutput(0, TensorType(in.dtype, Shape(std::vector<Dim>(rank))));
    std::vector<int64_t> slicedAxes;
    if (axes) slicedAxes = normalizeAxes(*axes, int64_t(rank), "axes");
    else for (size_t i = 0; i < count && i < rank; ++i) slicedAxes.push_back(int64_t(i));
    for (int64_t a : slicedAxes) out[size_t(a)] = Dim::unknown();
    return ctx.setOutput(0, TensorType(in.dtype, out));
  }
  SliceSpec spec = sliceSpec(rank, *starts, *ends, axes, steps);
  std::vector<Dim> dims;
  for (size_t a = 0; a < rank; ++a) {
    const Dim& d = (*in.shape)[a];
    int64_t start = spec.starts[a], end = spec.ends[a];
    if (d.isStatic()) dims.emplace_back(clampSlice(d.value(), start, end, spec.steps[a]));
    else if (!spec.sliced[a] || (start == 0 && end == INT64_MAX && spec.steps[a] == 1)) dims.push_back(d);
    else dims.push_back(Dim::unknown());
  }
  ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
}

void evalSlice(EvalContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::optional<std::vector<int64_t>> axes, steps;
  if (ctx.hasInput(3)) axes = intsOperand(ctx.input(3), "axes");
  if (ctx.hasInput(4)) steps = intsOperand(ctx.input(4), "steps");
  SliceSpec spec = sliceSpec(in.rank(), intsOperand(ctx.input(1), "starts"),
                             intsOperand(ctx.input(2), "ends"), axes, steps);
  auto inStrides = contiguousStrides(in.shape());
  std::vector<int64_t> shape(in.rank()), strides(in.rank());
  int64_t offset = 0;
  for (size_t a = 0; a < in.rank(); ++a) {
    int64_t start = spec.starts[a], end = spec.ends[a];
    shape[a] = clampSlice(in.dim(a), start, end, spec.steps[a]);
    // With at most one element the step is never taken (and may be huge).
    strides[a] = shape[a] > 1 ? spec.steps[a] * inStrides[a] : 0;
    if (shape[a] > 0) offset += start * inStrides[a];
  }
  ctx.setOutput(0, stridedGather(in, shape, offset, strides));
}


// Gradient rule: the gradient placed back into zeros at the sliced
// positions: Pad for unit steps, else a scatter to the positions (computed
// here from the static shape).
static std::vector<Value*> gradSlice(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  const Node& n = ctx.node();
  Value *x = ctx.input(0), *g = ctx.outputGrad(0);
  if (!x->type().isStatic()) ctx.fail("the gradient of Slice needs a static input shape");
  std::vector<int64_t> in = x->type().shape->extents();
  std::optional<std::vector<int64_t>> axes, steps;
  if (const Tensor* t = constantOperand(n, 3, "axes")) axes = t->toInts();
  if (const Tensor* t = constantOperand(n, 4, "steps")) steps = t->toInts();
  const Tensor* starts = constantOperand(n, 1, "starts");
  const Tensor* ends = constantOperand(n, 2, "ends");
  SliceSpec spec = sliceSpec(in.size(), starts->toInts(), ends->toInts(), axes, steps);
  std::vector<int64_t> outShape(in.size());
  bool unitSteps = true;
  std::vector<int64_t> pads(2 * in.size());
  for (size_t a = 0; a < in.size(); ++a) {
    int64_t start = spec.starts[a], end = spec.ends[a];
    outShape[a] = clampSlice(in[a], start, end, spec.steps[a]);
    spec.starts[a] = start;
    unitSteps &= spec.steps[a] == 1 || outShape[a] <= 1;
    pads[a] = outShape[a] > 0 ? start : in[a];
    pads[a + in.size()] = in[a] - pads[a] - outShape[a];
  }
  if (unitSteps) return {b.op(OpKind::Pad, {g, b.ints(pads)}), nullptr, nullptr, nullptr, nullptr};
  // Flat positions of the selected elements, in the slice's row-major order.
  auto strides = contiguousStrides(in);
  std::vector<int64_t> positions;
  forEachIndex(outShape, [&](const std::vector<int64_t>& idx) {
    int64_t o = 0;
    for (size_t a = 0; a < in.size(); ++a) o += (spec.starts[a] + idx[a] * spec.steps[a]) * strides[a];
    positions.push_back(o);
  });
  int64_t count = int64_t(positions.size());
  Value* flatZeros = b.reshape(zerosLike(b, x), b.ints({-1}));
  Value* idx = b.constant("slice_positions", Tensor::fromVector<int64_t>({count}, positions));
  Value* scattered = b.op(OpKind::ScatterElements, {flatZeros, idx, b.reshape(g, b.ints({count}))});
  return {b.reshape(scattered, b.ints(in)), nullptr, nullptr, nullptr, nullptr};
}

}  // namespace

const OpDef kSliceDef{
    .name = "Slice", .minInputs = 3, .maxInputs = 5, .traits = kShapeOp | kDifferentiable,
    .infer = inferSlice,
    .eval = evalSlice,
    .grad = gradSlice,
};

}  // namespace dlc::ir
