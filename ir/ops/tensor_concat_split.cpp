// Concat joins tensors along an axis; Split cuts one along an axis.
#include "ir/ops/tensor_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

static void inferConcat(InferContext& ctx) {
  DType dtype = ctx.inputDType(0);
  std::optional<Shape> merged;
  bool anyUnranked = false;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i)) ctx.fail("operand {} is absent; every Concat operand is required", i);
    if (ctx.inputDType(i) != dtype)
      ctx.fail("operand {} has dtype {}, expected {} like operand 0", i, dtypeName(ctx.inputDType(i)),
               dtypeName(dtype));
    const auto& s = ctx.inputShape(i);
    if (!s) {
      anyUnranked = true;
      continue;
    }
    int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(s->rank()));
    if (s->rank() == 0) ctx.fail("cannot concatenate scalars (operand {} has rank 0)", i);
    if (!merged) {
      merged = *s;
      continue;
    }
    if (s->rank() != merged->rank())
      ctx.fail("operand {} has shape {}, expected rank {} like the others", i, s->str(), merged->rank());
    for (size_t d = 0; d < s->rank(); ++d) {
      Dim& m = (*merged)[d];
      const Dim& x = (*s)[d];
      if (int64_t(d) == axis) {
        m = m.isStatic() && x.isStatic() ? Dim(m.value() + x.value()) : Dim::unknown();
      } else if (m.isStatic() && x.isStatic()) {
        if (m.value() != x.value())
          ctx.fail("operand {} has shape {}, which differs from {} outside axis {}", i, s->str(),
                   ctx.inputShape(0) ? ctx.inputShape(0)->str() : "?", axis);
      } else if (!m.isStatic() && x.isStatic()) {
        m = x;  // the operands must agree, so the static extent is the answer
      }
    }
  }
  if (!merged) return ctx.setOutput(0, TensorType::unranked(dtype));
  if (anyUnranked) {
    // The concatenated extent is unknown; the others are still known.
    int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(merged->rank()));
    (*merged)[size_t(axis)] = Dim::unknown();
  }
  ctx.setOutput(0, TensorType(dtype, *merged));
}

static void evalConcat(EvalContext& ctx) {
  const Tensor& first = ctx.input(0);
  if (first.rank() == 0) ctx.fail("cannot concatenate scalars");
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(first.rank()));
  std::vector<int64_t> outShape = first.shape();
  outShape[size_t(axis)] = 0;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != first.dtype())
      ctx.fail("operand {} has dtype {}, expected {}", i, dtypeName(t.dtype()), dtypeName(first.dtype()));
    bool compatible = t.rank() == first.rank();
    for (size_t d = 0; compatible && d < t.rank(); ++d)
      compatible = int64_t(d) == axis || t.dim(d) == first.dim(d);
    if (!compatible)
      ctx.fail("operand {} has shape [{}], which does not match [{}] outside axis {}", i,
               fmt::join(t.shape(), ","), fmt::join(first.shape(), ","), axis);
    outShape[size_t(axis)] += t.dim(size_t(axis));
  }
  Tensor out(first.dtype(), outShape);
  // Each operand contributes one contiguous block per index of the dims
  // before the axis.
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= outShape[size_t(d)];
  const size_t elemSize = dtypeSize(first.dtype());
  size_t outRow = size_t(out.numel() / std::max<int64_t>(outer, 1)) * elemSize;
  size_t column = 0;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    const Tensor& t = ctx.input(i);
    size_t block = size_t(t.numel() / std::max<int64_t>(outer, 1)) * elemSize;
    for (int64_t o = 0; o < outer && block > 0; ++o)
      std::memcpy(out.rawData() + size_t(o) * outRow + column, t.rawData() + size_t(o) * block, block);
    column += block;
  }
  ctx.setOutput(0, out);
}


// Gradient rules (reverse mode; see passes/autodiff.h).
namespace {

// Concat: each operand's slice of the gradient along the axis.
std::vector<Value*> gradConcat(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), rankOf(ctx.input(0)));
  std::vector<Value*> out;
  int64_t offset = 0;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    const Dim& d = (*ctx.input(i)->type().shape)[size_t(axis)];
    if (!d.isStatic()) ctx.fail("the gradient needs the extent of operand {} along the axis", i);
    int64_t end = offset + d.value();
    out.push_back(ctx.needsGrad(i)
                      ? b.op(OpKind::Slice, {ctx.outputGrad(0), b.ints({offset}), b.ints({end}), b.ints({axis})})
                      : nullptr);
    offset = end;
  }
  return out;
}

// Split: the results' gradients concatenated (zeros for those with none).
std::vector<Value*> gradSplit(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), rankOf(ctx.input(0)));
  std::vector<Value*> parts;
  for (size_t i = 0; i < ctx.node().outputs().size(); ++i)
    parts.push_back(ctx.outputGrad(i) ? ctx.outputGrad(i) : zerosLike(b, ctx.output(i)));
  Attributes a;
  a.set("axis", axis);
  return {b.op(OpKind::Concat, parts, a), nullptr};
}

}  // namespace

const OpDef kConcatDef{
    .name = "Concat", .minInputs = 1, .maxInputs = kVariadic, .traits = kShapeOp | kDifferentiable,
    .attrs = {{"axis", AttrKind::Int, std::nullopt}},
    .infer = inferConcat,
    .eval = evalConcat,
    .grad = gradConcat,
};

// Extents of Split's pieces along an axis of `extent`: the `split` operand
// if given, else `count` equal pieces (the last one smaller when the extent
// does not divide evenly, as ONNX opset 18 specifies).
static std::vector<int64_t> splitSizes(const Node& node, std::optional<std::vector<int64_t>> split,
                                       int64_t extent, size_t numOutputs) {
  if (split) {
    if (node.hasAttr("num_outputs"))
      throwUserError("give either the split operand or the num_outputs attribute, not both");
    if (split->size() != numOutputs)
      throwUserError("split [{}] has {} entries but the node has {} results", fmt::join(*split, ","),
                     split->size(), numOutputs);
    int64_t sum = 0;
    for (int64_t s : *split) {
      if (s < 0) throwUserError("split [{}] has a negative entry", fmt::join(*split, ","));
      sum += s;
    }
    if (extent >= 0 && sum != extent)
      throwUserError("split [{}] sums to {}, expected the axis extent {}", fmt::join(*split, ","), sum, extent);
    return *split;
  }
  int64_t count = int64_t(numOutputs);
  if (node.hasAttr("num_outputs") && node.attrInt("num_outputs") != count)
    throwUserError("num_outputs is {} but the node has {} results", node.attrInt("num_outputs"), count);
  if (extent < 0) return std::vector<int64_t>(numOutputs, -1);
  int64_t piece = (extent + count - 1) / count;
  std::vector<int64_t> sizes(numOutputs, piece);
  sizes.back() = extent - piece * (count - 1);
  if (sizes.back() < 0)
    throwUserError("an axis of extent {} cannot be split into {} pieces of {}", extent, count, piece);
  return sizes;
}

const OpDef kSplitDef{
    .name = "Split", .minInputs = 1, .maxInputs = 2, .minOutputs = 1, .maxOutputs = kVariadic,
    .traits = kShapeOp | kDifferentiable,
    .attrs = {{"axis", AttrKind::Int, int64_t(0)}, {"num_outputs", AttrKind::Int, std::nullopt, true}},
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      std::optional<std::vector<int64_t>> split;
      bool splitKnown = true;
      if (ctx.hasInput(1)) {
        split = constantInts(ctx, 1);
        splitKnown = split.has_value();
      }
      if (!in.shape) {
        for (size_t i = 0; i < ctx.numOutputs(); ++i) ctx.setOutput(i, TensorType::unranked(in.dtype));
        return;
      }
      int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(in.shape->rank()));
      const Dim& d = (*in.shape)[size_t(axis)];
      std::vector<int64_t> sizes(ctx.numOutputs(), -1);
      if (splitKnown) sizes = splitSizes(ctx.node(), split, d.isStatic() ? d.value() : -1, ctx.numOutputs());
      for (size_t i = 0; i < ctx.numOutputs(); ++i) {
        Shape s = *in.shape;
        s[size_t(axis)] = sizes[i] >= 0 ? Dim(sizes[i]) : Dim::unknown();
        ctx.setOutput(i, TensorType(in.dtype, s));
      }
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      if (in.rank() == 0) ctx.fail("cannot split a scalar");
      int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(in.rank()));
      std::optional<std::vector<int64_t>> split;
      if (ctx.hasInput(1)) split = intsOperand(ctx.input(1), "split");
      auto sizes = splitSizes(ctx.node(), split, in.dim(size_t(axis)), ctx.numOutputs());
      auto strides = contiguousStrides(in.shape());
      int64_t start = 0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        std::vector<int64_t> shape = in.shape();
        shape[size_t(axis)] = sizes[i];
        ctx.setOutput(i, stridedGather(in, shape, start * strides[size_t(axis)], strides));
        start += sizes[i];
      }
    },
    .grad = gradSplit,
};

}  // namespace dlc::ir
