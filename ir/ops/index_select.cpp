// Selection and one-hot ops: OneHot, NonZero, Compress, ReverseSequence.
#include <cmath>

#include "ir/ops/index_util.h"

namespace dlc::ir {
using namespace ops;

// OneHot: a new axis of extent `depth` is inserted at `axis`; the element
// whose position on it equals the index (negative indices count from the end)
// is values[1], all others values[0]. Indices outside [-depth, depth) give an
// all-off row, as ONNX specifies.
static int64_t oneHotDepth(const Tensor& depth) {
  if (depth.numel() != 1)
    throwUserError("expected a depth with exactly one element, found shape [{}]",
                   fmt::join(depth.shape(), ","));
  double d = depth.getDouble(0);
  if (!(d >= 1) || d > double(int64_t(1) << 40))
    throwUserError("expected a positive depth, found {}", d);
  return int64_t(d);
}

const OpDef kOneHotDef{
    .name = "OneHot", .minInputs = 3, .maxInputs = 3,
    .attrs = {{"axis", AttrKind::Int, int64_t(-1)}},
    .infer = [](InferContext& ctx) {
      DType dtype = ctx.inputDType(2);
      if (const Shape* values = rankedShape(ctx, 2); values && values->rank() != 1)
        ctx.fail("expected values of rank 1 ([off, on]), found {}", values->str());
      const Shape* indices = rankedShape(ctx, 0);
      if (!indices) return ctx.setOutput(0, TensorType::unranked(dtype));
      int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(indices->rank()) + 1);
      Dim depth = Dim::unknown();
      if (const Tensor* d = ctx.constantInput(1)) depth = Dim(oneHotDepth(*d));
      std::vector<Dim> dims = indices->dims();
      dims.insert(dims.begin() + axis, depth);
      ctx.setOutput(0, TensorType(dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& indices = ctx.input(0);
      const Tensor& values = ctx.input(2);
      if (values.numel() != 2)
        ctx.fail("expected values with two elements [off, on], found shape [{}]",
                 fmt::join(values.shape(), ","));
      int64_t depth = oneHotDepth(ctx.input(1));
      size_t axis = size_t(normalizeAxis(ctx.node().attrInt("axis"), int64_t(indices.rank()) + 1));
      std::vector<int64_t> outShape = indices.shape();
      outShape.insert(outShape.begin() + int64_t(axis), depth);
      Tensor out(values.dtype(), outShape);
      int64_t outer = productOf(indices.shape(), 0, axis);
      int64_t inner = productOf(indices.shape(), axis, indices.rank());
      // Fill with off, then set on where the index matches.
      for (int64_t i = 0; i < out.numel(); ++i) copyElements(out, i, values, 0, 1);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < inner; ++j) {
          double v = indices.getDouble(o * inner + j);
          if (v < 0) v += double(depth);
          if (v < 0 || v >= double(depth) || v != std::floor(v)) continue;
          copyElements(out, (o * depth + int64_t(v)) * inner + j, values, 1, 1);
        }
      ctx.setOutput(0, std::move(out));
    },
};

// NonZero: the indices of non-zero elements, as an i64 [rank, count] tensor
// in row-major order.
const OpDef kNonZeroDef{
    .name = "NonZero", .minInputs = 1, .maxInputs = 1,
    .infer = [](InferContext& ctx) {
      const Shape* in = rankedShape(ctx, 0);
      if (!in) return ctx.setOutput(0, TensorType(DType::I64, Shape({Dim::unknown(), Dim::unknown()})));
      ctx.setOutput(0, TensorType(DType::I64, Shape({Dim(int64_t(in->rank())), Dim::unknown()})));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      std::vector<std::vector<int64_t>> found;
      int64_t k = 0;
      forEachIndex(in.shape(), [&](const std::vector<int64_t>& i) {
        if (in.getDouble(k++) != 0) found.push_back(i);
      });
      int64_t rank = int64_t(in.rank());
      int64_t count = int64_t(found.size());
      Tensor out(DType::I64, {rank, count});
      auto o = out.data<int64_t>();
      for (int64_t c = 0; c < count; ++c)
        for (int64_t d = 0; d < rank; ++d) o[size_t(d * count + c)] = found[size_t(c)][size_t(d)];
      ctx.setOutput(0, std::move(out));
    },
};

// Compress: keeps the slices along `axis` whose condition entry is true (a
// condition shorter than the axis drops the rest); without axis, works on
// the flattened input.
const OpDef kCompressDef{
    .name = "Compress", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp,
    .attrs = {{"axis", AttrKind::Int, std::nullopt, true}},
    .infer = [](InferContext& ctx) {
      if (ctx.inputDType(1) != DType::Bool)
        ctx.fail("expected a bool condition, found {}", dtypeName(ctx.inputDType(1)));
      if (const Shape* c = rankedShape(ctx, 1); c && c->rank() != 1)
        ctx.fail("expected a 1-D condition, found {}", c->str());
      DType dtype = ctx.inputDType(0);
      Dim kept = Dim::unknown();
      if (const Tensor* c = ctx.constantInput(1)) {
        int64_t n = 0;
        for (int64_t i = 0; i < c->numel(); ++i) n += c->getInt(i) != 0;
        kept = Dim(n);
      }
      if (!ctx.node().hasAttr("axis")) return ctx.setOutput(0, TensorType(dtype, Shape({kept})));
      const Shape* in = rankedShape(ctx, 0);
      if (!in) return ctx.setOutput(0, TensorType::unranked(dtype));
      int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(in->rank()));
      std::vector<Dim> dims = in->dims();
      dims[size_t(axis)] = kept;
      ctx.setOutput(0, TensorType(dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      Tensor in = ctx.input(0);
      const Tensor& cond = ctx.input(1);
      if (cond.rank() != 1) ctx.fail("expected a 1-D condition, found rank {}", cond.rank());
      size_t axis = 0;
      if (ctx.node().hasAttr("axis"))
        axis = size_t(normalizeAxis(ctx.node().attrInt("axis"), int64_t(in.rank())));
      else
        in = in.reshaped({in.numel()});
      int64_t extent = in.dim(axis);
      if (cond.numel() > extent)
        ctx.fail("condition has {} entries but the axis has extent {}", cond.numel(), extent);
      std::vector<int64_t> keep;
      for (int64_t i = 0; i < cond.numel(); ++i)
        if (cond.getInt(i) != 0) keep.push_back(i);
      std::vector<int64_t> outShape = in.shape();
      outShape[axis] = int64_t(keep.size());
      Tensor out(in.dtype(), outShape);
      int64_t outer = productOf(in.shape(), 0, axis);
      int64_t inner = productOf(in.shape(), axis + 1, in.rank());
      int64_t n = int64_t(keep.size());
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < n; ++k)
          copyElements(out, (o * n + k) * inner, in, (o * extent + keep[size_t(k)]) * inner, inner);
      ctx.setOutput(0, std::move(out));
    },
};

// ReverseSequence: for each batch entry b, reverses the first
// sequence_lens[b] elements along time_axis; the rest are copied unchanged.
const OpDef kReverseSequenceDef{
    .name = "ReverseSequence", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp,
    .attrs = {{"batch_axis", AttrKind::Int, int64_t(1)}, {"time_axis", AttrKind::Int, int64_t(0)}},
    .infer = [](InferContext& ctx) {
      if (ctx.inputDType(1) != DType::I64)
        ctx.fail("expected i64 sequence_lens, found {}", dtypeName(ctx.inputDType(1)));
      int64_t batchAxis = ctx.node().attrInt("batch_axis");
      int64_t timeAxis = ctx.node().attrInt("time_axis");
      if (!((batchAxis == 0 && timeAxis == 1) || (batchAxis == 1 && timeAxis == 0)))
        ctx.fail("expected batch_axis and time_axis to be 0 and 1 in some order, found {} and {}",
                 batchAxis, timeAxis);
      if (const Shape* in = rankedShape(ctx, 0); in && in->rank() < 2)
        ctx.fail("expected an input of rank >= 2, found {}", in->str());
      ctx.setOutput(0, ctx.inputType(0));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      std::vector<int64_t> lens = ctx.input(1).toInts();
      size_t batchAxis = size_t(ctx.node().attrInt("batch_axis"));
      size_t timeAxis = size_t(ctx.node().attrInt("time_axis"));
      if (in.rank() < 2 || batchAxis > 1 || timeAxis > 1 || batchAxis == timeAxis)
        ctx.fail("expected rank >= 2 with batch/time axes 0 and 1, found rank {}", in.rank());
      int64_t batch = in.dim(batchAxis), time = in.dim(timeAxis);
      if (int64_t(lens.size()) != batch)
        ctx.fail("expected {} sequence_lens (the batch extent), found {}", batch, lens.size());
      for (int64_t len : lens)
        if (len < 0 || len > time)
          ctx.fail("sequence length {} is out of range [0, {}]", len, time);
      Tensor out(in.dtype(), in.shape());
      std::vector<int64_t> strides = contiguousStrides(in.shape());
      int64_t inner = productOf(in.shape(), 2, in.rank());
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t t = 0; t < time; ++t) {
          int64_t srcT = t < lens[size_t(b)] ? lens[size_t(b)] - 1 - t : t;
          copyElements(out, b * strides[batchAxis] + t * strides[timeAxis], in,
                       b * strides[batchAxis] + srcT * strides[timeAxis], inner);
        }
      ctx.setOutput(0, std::move(out));
    },
};

}  // namespace dlc::ir
