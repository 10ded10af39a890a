// ArgMax and ArgMin: the index (i64) of the extreme element along one axis.
#include "ir/ops/reduce.h"

namespace dlc::ir {
using namespace ops;

static std::vector<AttrSpec> argAttrs() {
  return {{"axis", AttrKind::Int, int64_t(0)},
          {"keepdims", AttrKind::Int, int64_t(1)},
          {"select_last_index", AttrKind::Int, int64_t(0)}};
}

static void inferArg(InferContext& ctx) {
  requireNumeric(ctx, 0, "data");
  const auto& s = ctx.inputShape(0);
  if (!s) return ctx.setOutput(0, TensorType::unranked(DType::I64));
  int64_t rank = int64_t(s->rank());
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), rank);
  bool keep = ctx.node().attrInt("keepdims") != 0;
  std::vector<Dim> dims;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != axis) dims.push_back((*s)[size_t(i)]);
    else if (keep) dims.push_back(Dim(1));
  }
  ctx.setOutput(0, TensorType(DType::I64, Shape(dims)));
}

// `better(a, b)`: a should replace the current best b. Ties keep the first
// index unless select_last_index; NaN counts as the extreme (as numpy).
template <bool kMax>
static void evalArg(EvalContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.dtype() == DType::Bool) ctx.fail("data has dtype bool, expected a numeric type");
  int64_t rank = int64_t(in.rank());
  int64_t axis = normalizeAxis(ctx.node().attrInt("axis"), rank);
  bool keep = ctx.node().attrInt("keepdims") != 0;
  bool last = ctx.node().attrInt("select_last_index") != 0;
  AxisSplit split = splitAtAxis(in.shape(), axis);
  if (split.extent == 0 && split.outer * split.inner > 0)
    ctx.fail("cannot take {} along axis {} of extent 0", kMax ? "ArgMax" : "ArgMin", axis);
  std::vector<int64_t> outShape;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != axis) outShape.push_back(in.dim(size_t(i)));
    else if (keep) outShape.push_back(1);
  }
  Tensor out(DType::I64, outShape);
  auto po = out.data<int64_t>();
  dispatchDType(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto pi = in.data<T>();
    for (int64_t o = 0; o < split.outer; ++o)
      for (int64_t j = 0; j < split.inner; ++j) {
        int64_t best = 0;
        auto bestValue = toCompute(pi[size_t(split.offset(o, 0, j))]);
        for (int64_t i = 1; i < split.extent; ++i) {
          auto v = toCompute(pi[size_t(split.offset(o, i, j))]);
          bool replace;
          if constexpr (kIsFloatStorage<T>) {
            if (std::isnan(bestValue)) replace = last && std::isnan(v);
            else if (std::isnan(v)) replace = true;
            else replace = kMax ? (v > bestValue || (last && v == bestValue))
                                : (v < bestValue || (last && v == bestValue));
          } else {
            replace = kMax ? (v > bestValue || (last && v == bestValue))
                           : (v < bestValue || (last && v == bestValue));
          }
          if (replace) {
            best = i;
            bestValue = v;
          }
        }
        po[size_t(o * split.inner + j)] = best;
      }
  });
  ctx.setOutput(0, std::move(out));
}

const OpDef kArgMaxDef{
    .name = "ArgMax", .minInputs = 1, .maxInputs = 1, .traits = kReduction, .attrs = argAttrs(),
    .infer = inferArg, .eval = evalArg<true>,
};

const OpDef kArgMinDef{
    .name = "ArgMin", .minInputs = 1, .maxInputs = 1, .traits = kReduction, .attrs = argAttrs(),
    .infer = inferArg, .eval = evalArg<false>,
};

}  // namespace dlc::ir
