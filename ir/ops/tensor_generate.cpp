// Ops that make tensors from shapes and scalars: ConstantOfShape, Range,
// EyeLike, and the triangle mask Trilu.
#include "ir/ops/tensor_util.h"

#include <cmath>
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

// ---- ConstantOfShape(shape) value=tensor ----

// The fill value: the `value` attribute's single element, or f32 0.
static Tensor fillValue(const Node& node) {
  if (!node.hasAttr("value")) return Tensor::scalar<float>(0.0f);
  const Tensor& v = node.attrTensor("value");
  if (v.numel() != 1) throwUserError("value must hold exactly one element, found {}", v.numel());
  return v.reshaped({});
}

const OpDef kConstantOfShapeDef{
    .name = "ConstantOfShape", .minInputs = 1, .maxInputs = 1,
    .attrs = {{"value", AttrKind::Tensor, std::nullopt, true}},
    .infer = [](InferContext& ctx) {
      DType dtype = fillValue(ctx.node()).dtype();
      if (auto extents = constantInts(ctx, 0)) {
        for (int64_t e : *extents)
          if (e < 0) ctx.fail("shape [{}] has a negative extent", fmt::join(*extents, ","));
        return ctx.setOutput(0, TensorType(dtype, Shape::fromExtents(*extents)));
      }
      const auto& s = ctx.inputShape(0);
      if (s && s->rank() == 1 && (*s)[0].isStatic())
        return ctx.setOutput(0, TensorType(dtype, Shape(std::vector<Dim>(size_t((*s)[0].value())))));
      ctx.setOutput(0, TensorType::unranked(dtype));
    },
    .eval = [](EvalContext& ctx) {
      Tensor value = fillValue(ctx.node());
      std::vector<int64_t> extents = intsOperand(ctx.input(0), "shape");
      for (int64_t e : extents)
        if (e < 0) ctx.fail("shape [{}] has a negative extent", fmt::join(extents, ","));
      ctx.setOutput(0, gatherByIndex(value, extents, [](const std::vector<int64_t>&) { return int64_t(0); }));
    },
};

// ---- Range(start, limit, delta) ----

// Number of elements: max(ceil((limit - start) / delta), 0). Integers are
// counted exactly (in 128 bits, so no intermediate overflows).
static int64_t rangeCount(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  for (const Tensor* t : {&start, &limit, &delta})
    if (t->numel() != 1) throwUserError("start, limit and delta must be scalars, found shape [{}]", fmt::join(t->shape(), ","));
  if (isFloat(start.dtype())) {
    double s = start.getDouble(0), l = limit.getDouble(0), d = delta.getDouble(0);
    if (d == 0) throwUserError("delta must not be 0");
    double n = std::ceil((l - s) / d);
    if (!std::isfinite(n) || n > double(int64_t(1) << 40))
      throwUserError("range from {} to {} by {} has too many elements", s, l, d);
    return n > 0 ? int64_t(n) : 0;
  }
  __int128 s = start.getInt(0), l = limit.getInt(0), d = delta.getInt(0);
  if (d == 0) throwUserError("delta must not be 0");
  __int128 span = l - s;
  if ((span > 0) != (d > 0) || span == 0) return 0;
  __int128 n = (span + d + (d > 0 ? -1 : 1)) / d;  // ceil for same-sign span and delta
  if (n > (__int128(1) << 40)) throwUserError("range has too many elements ({} or more)", int64_t(1) << 40);
  return int64_t(n);
}

static void checkRangeTypes(DType a, DType b, DType c) {
  if (a != b || a != c)
    throwUserError("start, limit and delta must share a dtype, found {}, {} and {}", dtypeName(a), dtypeName(b),
                   dtypeName(c));
  if (a == DType::Bool) throwUserError("Range needs a numeric dtype, found bool");
}

const OpDef kRangeDef{
    .name = "Range", .minInputs = 3, .maxInputs = 3,
    .infer = [](InferContext& ctx) {
      checkRangeTypes(ctx.inputDType(0), ctx.inputDType(1), ctx.inputDType(2));
      DType dtype = ctx.inputDType(0);
      const Tensor* s = ctx.constantInput(0);
      const Tensor* l = ctx.constantInput(1);
      const Tensor* d = ctx.constantInput(2);
      if (s && l && d) return ctx.setOutput(0, TensorType(dtype, Shape{rangeCount(*s, *l, *d)}));
      ctx.setOutput(0, TensorType(dtype, Shape(std::vector<Dim>(1))));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& s = ctx.input(0);
      const Tensor& l = ctx.input(1);
      const Tensor& d = ctx.input(2);
      checkRangeTypes(s.dtype(), l.dtype(), d.dtype());
      int64_t n = rangeCount(s, l, d);
      Tensor out(s.dtype(), {n});
      if (isFloat(s.dtype())) {
        double start = s.getDouble(0), delta = d.getDouble(0);
        for (int64_t i = 0; i < n; ++i) out.setDouble(i, start + double(i) * delta);
      } else {
        int64_t start = s.getInt(0), delta = d.getInt(0);
        for (int64_t i = 0; i < n; ++i) out.setInt(i, start + i * delta);  // stays within [start, limit)
      }
      ctx.setOutput(0, out);
    },
};

// ---- EyeLike(input) dtype=<IR dtype name>, k ----

static DType eyeDType(const Node& node, DType inputDType) {
  if (!node.hasAttr("dtype")) return inputDType;
  const std::string& name = node.attrString("dtype");
  auto dtype = parseDType(name);
  if (!dtype) throwUserError("dtype '{}' is not a known dtype name", name);
  return *dtype;
}

const OpDef kEyeLikeDef{
    .name = "EyeLike", .minInputs = 1, .maxInputs = 1,
    .attrs = {{"dtype", AttrKind::String, std::nullopt, true}, {"k", AttrKind::Int, int64_t(0)}},
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      DType dtype = eyeDType(ctx.node(), in.dtype);
      if (in.shape && in.shape->rank() != 2) ctx.fail("expected a 2-D input, found {}", in.shape->str());
      ctx.setOutput(0, TensorType(dtype, in.shape ? *in.shape : Shape(std::vector<Dim>(2))));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      if (in.rank() != 2) ctx.fail("expected a 2-D input, found [{}]", fmt::join(in.shape(), ","));
      Tensor out(eyeDType(ctx.node(), in.dtype()), in.shape());
      int64_t k = ctx.node().attrInt("k");
      int64_t rows = in.dim(0), cols = in.dim(1);
      for (int64_t i = 0; i < rows; ++i)
        if (k > -cols && k < cols && i + k >= 0 && i + k < cols) out.setDouble(i * cols + i + k, 1.0);
      ctx.setOutput(0, out);
    },
};

// ---- Trilu(input, k?) upper ----


// Gradient rule: the same triangle of the gradient.
static std::vector<Value*> gradTrilu(GradContext& ctx) {
  return {ctx.builder().op(OpKind::Trilu, {ctx.outputGrad(0), ctx.input(1)}, ctx.node().attrs()), nullptr};
}

const OpDef kTriluDef{
    .name = "Trilu", .minInputs = 1, .maxInputs = 2, .traits = kDifferentiable,
    .attrs = {{"upper", AttrKind::Int, int64_t(1)}},
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      if (in.shape && in.shape->rank() < 2) ctx.fail("expected rank >= 2, found {}", in.shape->str());
      if (ctx.hasInput(1) && !isInteger(ctx.inputDType(1)))
        ctx.fail("k must be an integer, found {}", dtypeName(ctx.inputDType(1)));
      ctx.setOutput(0, in);
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      if (in.rank() < 2) ctx.fail("expected rank >= 2, found [{}]", fmt::join(in.shape(), ","));
      int64_t k = 0;
      if (ctx.hasInput(1)) {
        const Tensor& kt = ctx.input(1);
        if (kt.numel() != 1 || !isInteger(kt.dtype())) ctx.fail("k must be an integer scalar");
        k = kt.getInt(0);
      }
      bool upper = ctx.node().attrInt("upper") != 0;
      int64_t rows = in.dim(in.rank() - 2), cols = in.dim(in.rank() - 1);
      Tensor out = in.clone();
      const size_t elemSize = dtypeSize(in.dtype());
      std::byte* data = out.rawData();
      // Zero (all-zero bytes for every dtype) the elements outside the
      // triangle: below diagonal k for upper, above it for lower.
      for (int64_t e = 0; e < out.numel(); ++e) {
        int64_t j = e % cols, i = (e / cols) % rows;
        bool keep = upper ? j - i >= k : j - i <= k;
        if (!keep) std::memset(data + size_t(e) * elemSize, 0, elemSize);
      }
      ctx.setOutput(0, out);
    },
    .grad = gradTrilu,
};

}  // namespace dlc::ir
