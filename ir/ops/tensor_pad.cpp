// Pad (opset-18/19 form): pads, constant_value and axes as operands; modes
// constant, reflect, edge and wrap. Negative pads remove elements.
#include "ir/ops/tensor_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

enum class PadMode { Constant, Reflect, Edge, Wrap };

PadMode padMode(const Node& node) {
  const std::string& m = node.attrString("mode");
  if (m == "constant") return PadMode::Constant;
  if (m == "reflect") return PadMode::Reflect;
  if (m == "edge") return PadMode::Edge;
  if (m == "wrap") return PadMode::Wrap;
  throwUserError("mode must be constant, reflect, edge or wrap, found '{}'", m);
}

// Per-axis (begin, end) pads for an input of `rank`, from the pads operand
// ([begin for each axis..., end for each axis...]) and the optional axes.
struct AxisPads {
  std::vector<int64_t> begin, end;
};

AxisPads axisPads(size_t rank, const std::vector<int64_t>& pads, const std::optional<std::vector<int64_t>>& axesIn) {
  std::vector<int64_t> axes;
  if (axesIn) {
    axes = normalizeAxes(*axesIn, int64_t(rank), "axes");
  } else {
    for (size_t i = 0; i < rank; ++i) axes.push_back(int64_t(i));
  }
  if (pads.size() != 2 * axes.size())
    throwUserError("pads has {} entries, expected {} (begin and end for each of {} axes)", pads.size(),
                   2 * axes.size(), axes.size());
  AxisPads out{std::vector<int64_t>(rank, 0), std::vector<int64_t>(rank, 0)};
  for (size_t i = 0; i < axes.size(); ++i) {
    out.begin[size_t(axes[i])] = pads[i];
    out.end[size_t(axes[i])] = pads[axes.size() + i];
  }
  return out;
}

int64_t paddedExtent(int64_t extent, int64_t begin, int64_t end, size_t axis) {
  int64_t out = 0;
  if (__builtin_add_overflow(extent, begin, &out) || __builtin_add_overflow(out, end, &out))
    throwUserError("pads ({}, {}) on axis {} of extent {} overflow", begin, end, axis, extent);
  if (out < 0)
    throwUserError("pads ({}, {}) on axis {} of extent {} give a negative extent", begin, end, axis, extent);
  return out;
}

// The input coordinate that padded coordinate `i` (relative to the input's
// start, may lie outside [0, n)) reads in a non-constant mode.
int64_t sourceCoordinate(PadMode mode, int64_t i, int64_t n) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::Edge: return i < 0 ? 0 : n - 1;
    case PadMode::Wrap: return ((i % n) + n) % n;
    case PadMode::Reflect: {
      if (n == 1) return 0;
      int64_t period = 2 * (n - 1);
      int64_t r = ((i % period) + period) % period;
      return r < n ? r : period - r;
    }
    case PadMode::Constant: break;
  }
  return -1;
}

void inferPad(InferContext& ctx) {
  const TensorType& in = ctx.inputType(0);
  padMode(ctx.node());
  if (ctx.hasInput(2) && ctx.inputDType(2) != in.dtype)
    ctx.fail("constant_value has dtype {}, expected {} like the data", dtypeName(ctx.inputDType(2)),
             dtypeName(in.dtype));
  if (!in.shape) return ctx.setOutput(0, TensorType::unranked(in.dtype));
  size_t rank = in.shape->rank();
  auto pads = constantInts(ctx, 1);
  std::optional<std::vector<int64_t>> axes;
  if (ctx.hasInput(3)) axes = constantInts(ctx, 3);
  if (!pads || (ctx.hasInput(3) && !axes)) return ctx.setOutput(0, TensorType(in.dtype, Shape(std::vector<Dim>(rank))));
  AxisPads p = axisPads(rank, *pads, axes);
  std::vector<Dim> dims;
  for (size_t d = 0; d < rank; ++d) {
    const Dim& x = (*in.shape)[d];
    if (p.begin[d] == 0 && p.end[d] == 0) dims.push_back(x);
    else if (x.isStatic()) dims.emplace_back(paddedExtent(x.value(), p.begin[d], p.end[d], d));
    else dims.push_back(Dim::unknown());
  }
  ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
}

void evalPad(EvalContext& ctx) {
  const Tensor& in = ctx.input(0);
  PadMode mode = padMode(ctx.node());
  std::optional<std::vector<int64_t>> axes;
  if (ctx.hasInput(3)) axes = intsOperand(ctx.input(3), "axes");
  AxisPads p = axisPads(in.rank(), intsOperand(ctx.input(1), "pads"), axes);
  std::vector<int64_t> outShape(in.rank());
  for (size_t d = 0; d < in.rank(); ++d) {
    outShape[d] = paddedExtent(in.dim(d), p.begin[d], p.end[d], d);
    if (mode != PadMode::Constant && in.dim(d) == 0 && outShape[d] > 0)
      ctx.fail("cannot pad the empty axis {} in {} mode", d, ctx.node().attrString("mode"));
  }
  Tensor fill(in.dtype(), {});
  if (ctx.hasInput(2)) {
    const Tensor& value = ctx.input(2);
    if (value.dtype() != in.dtype())
      ctx.fail("constant_value has dtype {}, expected {}", dtypeName(value.dtype()), dtypeName(in.dtype()));
    if (value.numel() != 1) ctx.fail("constant_value must hold one element, found {}", value.numel());
    fill = value.reshaped({});
  }
  auto strides = contiguousStrides(in.shape());
  ctx.setOutput(0, gatherByIndex(
                       in, outShape,
                       [&](const std::vector<int64_t>& idx) -> int64_t {
                         int64_t s = 0;
                         for (size_t d = 0; d < idx.size(); ++d) {
                           int64_t c = sourceCoordinate(mode, idx[d] - p.begin[d], in.dim(d));
                           if (c < 0) return -1;
                           s += c * strides[d];
                         }
                         return s;
                       },
                       &fill));
}


// Gradient rule (constant mode): the gradient cropped back to the input.
static std::vector<Value*> gradPad(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  const Node& n = ctx.node();
  if (n.attrString("mode") != "constant") ctx.fail("no gradient rule for Pad in {} mode", n.attrString("mode"));
  Value* x = ctx.input(0);
  size_t rank = size_t(rankOf(x));
  std::optional<std::vector<int64_t>> axes;
  if (const Tensor* t = constantOperand(n, 3, "axes")) axes = t->toInts();
  AxisPads p = axisPads(rank, constantOperand(n, 1, "pads")->toInts(), axes);
  std::vector<int64_t> starts, ends, all;
  const Shape& s = *ctx.output(0)->type().shape;
  for (size_t d = 0; d < rank; ++d) {
    if (p.begin[d] < 0 || p.end[d] < 0) ctx.fail("no gradient rule for negative pads");
    if (!s[d].isStatic()) ctx.fail("the gradient of Pad needs static extents");
    starts.push_back(p.begin[d]);
    ends.push_back(s[d].value() - p.end[d]);
    all.push_back(int64_t(d));
  }
  return {b.op(OpKind::Slice, {ctx.outputGrad(0), b.ints(starts), b.ints(ends), b.ints(all)}), nullptr, nullptr,
          nullptr};
}

}  // namespace

const OpDef kPadDef{
    .name = "Pad", .minInputs = 2, .maxInputs = 4, .traits = kShapeOp | kDifferentiable,
    .attrs = {{"mode", AttrKind::String, std::string("constant")}},
    .infer = inferPad,
    .eval = evalPad,
    .grad = gradPad,
};

}  // namespace dlc::ir
