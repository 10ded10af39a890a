// Gather, GatherElements and GatherND: read elements of `data` at positions
// given by an index tensor. Negative indices count from the end of the axis;
// indices still out of range are a UserError.
#include "ir/ops/index_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

// Gather: output = data[:axis] + indices.shape + data[axis+1:].

// Gradient rules (reverse mode; see passes/autodiff.h): the gradient
// scattered (added) back to the gathered positions.
namespace {

// Gather along axis a: move the gathered axis to the front, ScatterND-add
// the gradient rows at the (non-negative) indices, and move it back.
std::vector<Value*> gradGather(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Value *x = ctx.input(0), *idx = ctx.input(1), *g = ctx.outputGrad(0);
  int64_t r = rankOf(x), q = rankOf(idx);
  int64_t a = normalizeAxis(ctx.node().attrInt("axis"), r);
  const Dim& extent = (*x->type().shape)[size_t(a)];
  if (!extent.isStatic()) ctx.fail("the gradient of Gather needs a static extent along the axis");
  if (idx->dtype() != DType::I64) {
    Attributes to;
    to.set("to", std::string("i64"));
    idx = b.op(OpKind::Cast, {idx}, std::move(to));
  }
  Value* zero = b.scalar(0.0, DType::I64);
  idx = b.where(b.op(OpKind::Less, {idx, zero}), b.add(idx, b.scalar(double(extent.value()), DType::I64)), idx);
  std::vector<int64_t> gPerm, toFront{a}, back;
  for (int64_t i = a; i < a + q; ++i) gPerm.push_back(i);
  for (int64_t i = 0; i < a; ++i) gPerm.push_back(i);
  for (int64_t i = a + q; i < r + q - 1; ++i) gPerm.push_back(i);
  for (int64_t i = 0; i < r; ++i)
    if (i != a) toFront.push_back(i);
  Attributes add;
  add.set("reduction", std::string("add"));
  Value* zeros = b.transpose(zerosLike(b, x), toFront);
  Value* scattered = b.op(OpKind::ScatterND, {zeros, b.op(OpKind::Unsqueeze, {idx, b.ints({-1})}),
                                              b.transpose(g, gPerm)}, add);
  return {b.transpose(scattered, inversePermutation(toFront)), nullptr};
}

std::vector<Value*> gradGatherElements(GradContext& ctx) {
  GraphBuilder& b = ctx.builder();
  Attributes at;
  at.set("axis", ctx.node().attrInt("axis"));
  at.set("reduction", std::string("add"));
  return {b.op(OpKind::ScatterElements, {zerosLike(b, ctx.input(0)), ctx.input(1), ctx.outputGrad(0)}, at),
          nullptr};
}

}  // namespace

const OpDef kGatherDef{
    .name = "Gather", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp | kDifferentiable,
    .attrs = {{"axis", AttrKind::Int, int64_t(0)}},
    .infer = [](InferContext& ctx) {
      requireIndexDType(ctx, 1, "Gather indices");
      DType dtype = ctx.inputDType(0);
      const Shape* data = rankedShape(ctx, 0);
      const Shape* indices = rankedShape(ctx, 1);
      if (!data || !indices) return ctx.setOutput(0, TensorType::unranked(dtype));
      if (data->rank() == 0) ctx.fail("expected data of rank >= 1, found a scalar");
      int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), int64_t(data->rank()));
      std::vector<Dim> dims(data->dims().begin(), data->dims().begin() + axis);
      dims.insert(dims.end(), indices->dims().begin(), indices->dims().end());
      dims.insert(dims.end(), data->dims().begin() + axis + 1, data->dims().end());
      ctx.setOutput(0, TensorType(dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& data = ctx.input(0);
      const Tensor& indices = ctx.input(1);
      if (data.rank() == 0) ctx.fail("expected data of rank >= 1, found a scalar");
      size_t axis = size_t(normalizeAxis(ctx.node().attrInt("axis"), int64_t(data.rank())));
      std::vector<int64_t> outShape(data.shape().begin(), data.shape().begin() + axis);
      outShape.insert(outShape.end(), indices.shape().begin(), indices.shape().end());
      outShape.insert(outShape.end(), data.shape().begin() + axis + 1, data.shape().end());
      Tensor out(data.dtype(), outShape);
      int64_t outer = productOf(data.shape(), 0, axis);
      int64_t extent = data.dim(axis);
      int64_t inner = productOf(data.shape(), axis + 1, data.rank());
      std::vector<int64_t> idx = indices.toInts();
      for (int64_t& i : idx) i = wrapIndex(i, extent, "Gather index");
      int64_t n = int64_t(idx.size());
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < n; ++k)
          copyElements(out, (o * n + k) * inner, data, (o * extent + idx[size_t(k)]) * inner, inner);
      ctx.setOutput(0, std::move(out));
    },
    .grad = gradGather,
};

// GatherElements: output[i] = data[i with i[axis] replaced by indices[i]];
// the output has the shape of `indices`, which must have the rank of `data`.
const OpDef kGatherElementsDef{
    .name = "GatherElements", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp | kDifferentiable,
    .attrs = {{"axis", AttrKind::Int, int64_t(0)}},
    .infer = [](InferContext& ctx) {
      requireIndexDType(ctx, 1, "GatherElements indices");
      const Shape* data = rankedShape(ctx, 0);
      const Shape* indices = rankedShape(ctx, 1);
      if (data && indices) {
        if (data->rank() != indices->rank())
          ctx.fail("expected indices of the same rank as data ({}), found rank {}", data->rank(),
                   indices->rank());
        if (data->rank() == 0) ctx.fail("expected data of rank >= 1, found a scalar");
        normalizeAxis(ctx.node().attrInt("axis"), int64_t(data->rank()));
      }
      DType dtype = ctx.inputDType(0);
      ctx.setOutput(0, indices ? TensorType(dtype, *indices) : TensorType::unranked(dtype));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& data = ctx.input(0);
      const Tensor& indices = ctx.input(1);
      if (data.rank() != indices.rank() || data.rank() == 0)
        ctx.fail("expected data and indices of the same rank >= 1, found ranks {} and {}",
                 data.rank(), indices.rank());
      size_t axis = size_t(normalizeAxis(ctx.node().attrInt("axis"), int64_t(data.rank())));
      for (size_t d = 0; d < data.rank(); ++d)
        if (d != axis && indices.dim(d) > data.dim(d))
          ctx.fail("indices extent {} on axis {} exceeds the data extent {}", indices.dim(d), d,
                   data.dim(d));
      Tensor out(data.dtype(), indices.shape());
      std::vector<int64_t> strides = contiguousStrides(data.shape());
      int64_t k = 0;
      forEachIndex(indices.shape(), [&](const std::vector<int64_t>& i) {
        int64_t pos = wrapIndex(indices.getInt(k), data.dim(axis), "GatherElements index");
        int64_t src = offsetOf(i, strides) + (pos - i[axis]) * strides[axis];
        copyElements(out, k++, data, src, 1);
      });
      ctx.setOutput(0, std::move(out));
    },
    .grad = gradGatherElements,
};

// GatherND: the last dim of `indices` (k) indexes the first k dims of data
// after `batch_dims` leading batch dims shared by data and indices; output =
// indices.shape[:-1] + data.shape[batch_dims + k:].
static void checkGatherNDRanks(int64_t dataRank, int64_t indicesRank, int64_t batchDims,
                               int64_t k) {
  if (indicesRank < 1) throwUserError("expected indices of rank >= 1, found a scalar");
  if (batchDims < 0 || batchDims >= std::min(dataRank, indicesRank))
    throwUserError("batch_dims {} must be in [0, min(data rank {}, indices rank {}))", batchDims,
                   dataRank, indicesRank);
  if (k >= 0 && (k < 1 || k > dataRank - batchDims))
    throwUserError("indices last dim {} must be in [1, {}] (data rank {} - batch_dims {})", k,
                   dataRank - batchDims, dataRank, batchDims);
}

const OpDef kGatherNDDef{
    .name = "GatherND", .minInputs = 2, .maxInputs = 2, .traits = kShapeOp,
    .attrs = {{"batch_dims", AttrKind::Int, int64_t(0)}},
    .infer = [](InferContext& ctx) {
      if (ctx.inputDType(1) != DType::I64)
        ctx.fail("GatherND indices must be i64, found {}", dtypeName(ctx.inputDType(1)));
      DType dtype = ctx.inputDType(0);
      const Shape* data = rankedShape(ctx, 0);
      const Shape* indices = rankedShape(ctx, 1);
      if (!data || !indices) return ctx.setOutput(0, TensorType::unranked(dtype));
      int64_t batchDims = ctx.node().attrInt("batch_dims");
      const Dim& last = indices->rank() > 0 ? indices->dims().back() : Dim(0);
      checkGatherNDRanks(int64_t(data->rank()), int64_t(indices->rank()), batchDims,
                         last.isStatic() ? last.value() : -1);
      if (!last.isStatic()) return ctx.setOutput(0, TensorType::unranked(dtype));
      std::vector<Dim> dims(indices->dims().begin(), indices->dims().end() - 1);
      dims.insert(dims.end(), data->dims().begin() + batchDims + last.value(), data->dims().end());
      ctx.setOutput(0, TensorType(dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& data = ctx.input(0);
      const Tensor& indices = ctx.input(1);
      int64_t batchDims = ctx.node().attrInt("batch_dims");
      int64_t k = indices.rank() > 0 ? indices.shape().back() : 0;
      checkGatherNDRanks(int64_t(data.rank()), int64_t(indices.rank()), batchDims, k);
      size_t b = size_t(batchDims);
      for (size_t d = 0; d < b; ++d)
        if (data.dim(d) != indices.dim(d))
          ctx.fail("batch dim {} differs: data has {}, indices have {}", d, data.dim(d),
                   indices.dim(d));
      std::vector<int64_t> outShape(indices.shape().begin(), indices.shape().end() - 1);
      outShape.insert(outShape.end(), data.shape().begin() + int64_t(b) + k, data.shape().end());
      Tensor out(data.dtype(), outShape);
      int64_t batches = productOf(data.shape(), 0, b);
      int64_t tuplesPerBatch = productOf(indices.shape(), b, indices.rank() - 1);
      int64_t sliceSize = productOf(data.shape(), b + size_t(k), data.rank());
      int64_t batchStride = productOf(data.shape(), b, data.rank());
      std::vector<int64_t> strides = contiguousStrides(data.shape());
      std::vector<int64_t> idx = indices.toInts();
      for (int64_t batch = 0; batch < batches; ++batch)
        for (int64_t t = 0; t < tuplesPerBatch; ++t) {
          int64_t tuple = batch * tuplesPerBatch + t;
          int64_t src = batch * batchStride;
          for (int64_t j = 0; j < k; ++j) {
            size_t axis = b + size_t(j);
            src += wrapIndex(idx[size_t(tuple * k + j)], data.dim(axis), "GatherND index") *
                   strides[axis];
          }
          copyElements(out, tuple * sliceSize, data, src, sliceSize);
        }
      ctx.setOutput(0, std::move(out));
    },
};

}  // namespace dlc::ir
