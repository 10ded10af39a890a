// LRN: local response normalisation across channels of an (N, C, ...) input.
#include "ir/ops/reduction_util.h"

namespace dlc::ir {
using namespace ops;

static void inferLrn(InferContext& ctx) {
  requireFloat(ctx, 0, "X");
  requireMinRank(ctx, 0, 2, "X");
  if (int64_t size = ctx.node().attrInt("size"); size <= 0) ctx.fail("size is {}, expected a positive number", size);
  ctx.setOutput(0, ctx.inputType(0));
}

static void evalLrn(EvalContext& ctx) {
  requireFloat(ctx, 0, "X");
  requireMinRank(ctx, 0, 2, "X");
  const Tensor& xt = ctx.input(0);
  int64_t size = ctx.node().attrInt("size");
  if (size <= 0) ctx.fail("size is {}, expected a positive number", size);
  double alpha = ctx.node().attrFloat("alpha");
  double beta = ctx.node().attrFloat("beta");
  double bias = ctx.node().attrFloat("bias");
  std::vector<double> x = toDoubles(xt);
  AxisSplit split = splitAtAxis(xt.shape(), 1);
  // The window of channel c is [c - floor((size-1)/2), c + ceil((size-1)/2)].
  int64_t before = (size - 1) / 2;
  int64_t after = size - 1 - before;
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < split.outer; ++n)
    for (int64_t c = 0; c < split.extent; ++c)
      for (int64_t j = 0; j < split.inner; ++j) {
        double squares = 0;
        for (int64_t k = std::max<int64_t>(0, c - before); k <= std::min(split.extent - 1, c + after); ++k) {
          double v = x[size_t(split.offset(n, k, j))];
          squares += v * v;
        }
        size_t at = size_t(split.offset(n, c, j));
        y[at] = x[at] / std::pow(bias + alpha / double(size) * squares, beta);
      }
  ctx.setOutput(0, fromDoubles(xt.dtype(), xt.shape(), y));
}

const OpDef kLRNDef{
    .name = "LRN", .minInputs = 1, .maxInputs = 1,
    .attrs = {{"size", AttrKind::Int, std::nullopt},
              {"alpha", AttrKind::Float, 1e-4},
              {"beta", AttrKind::Float, 0.75},
              {"bias", AttrKind::Float, 1.0}},
    .infer = inferLrn, .eval = evalLrn,
};

}  // namespace dlc::ir
