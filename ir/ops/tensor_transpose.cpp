// Transpose and the two block rearrangements DepthToSpace / SpaceToDepth,
// which are reshape-transpose-reshape sequences done as one strided copy.
#include "ir/ops/tensor_util.h"
#include "ir/ops/grad_util.h"

namespace dlc::ir {
using namespace ops;

// The permutation of a Transpose node for an input of `rank` (reversed axes
// by default); fails unless it is a permutation of 0..rank-1.
static std::vector<int64_t> transposePerm(const Node& node, size_t rank) {
  std::vector<int64_t> perm;
  if (node.hasAttr("perm")) {
    perm = node.attrInts("perm");
  } else {
    for (size_t i = rank; i-- > 0;) perm.push_back(int64_t(i));
  }
  if (perm.size() != rank)
    throwUserError("perm [{}] has {} entries, expected one per input axis ({})", fmt::join(perm, ","),
                   perm.size(), rank);
  std::vector<bool> used(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(rank) || used[size_t(p)])
      throwUserError("perm [{}] is not a permutation of 0..{}", fmt::join(perm, ","), int64_t(rank) - 1);
    used[size_t(p)] = true;
  }
  return perm;
}

// Gradient rule: the gradient transposed by the inverse permutation.
static std::vector<Value*> gradTranspose(GradContext& ctx) {
  std::vector<int64_t> perm = transposePerm(ctx.node(), size_t(rankOf(ctx.input(0))));
  return {ctx.builder().transpose(ctx.outputGrad(0), inversePermutation(perm))};
}

const OpDef kTransposeDef{
    .name = "Transpose", .minInputs = 1, .maxInputs = 1, .traits = kShapeOp | kDifferentiable,
    .attrs = {{"perm", AttrKind::Ints, std::nullopt, true}},
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      if (!in.shape) return ctx.setOutput(0, TensorType::unranked(in.dtype));
      std::vector<Dim> dims;
      for (int64_t p : transposePerm(ctx.node(), in.shape->rank())) dims.push_back((*in.shape)[size_t(p)]);
      ctx.setOutput(0, TensorType(in.dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      std::vector<int64_t> perm = transposePerm(ctx.node(), in.rank());
      std::vector<int64_t> inStrides = contiguousStrides(in.shape());
      std::vector<int64_t> shape, strides;
      for (int64_t p : perm) {
        shape.push_back(in.dim(size_t(p)));
        strides.push_back(inStrides[size_t(p)]);
      }
      ctx.setOutput(0, stridedGather(in, shape, 0, strides));
    },
    .grad = gradTranspose,
};


static int64_t blockSize(const Node& node) {
  int64_t b = node.attrInt("blocksize");
  // blocksize^2 must fit in int64 (a larger block cannot match any real tensor).
  if (b < 1 || b > 3037000499) throwUserError("blocksize must be in [1, 3037000499], found {}", b);
  return b;
}

static const Shape& requireRank4(const InferContext& ctx) {
  const Shape& s = *ctx.inputShape(0);
  if (s.rank() != 4) ctx.fail("expected a rank-4 [N,C,H,W] input, found {}", s.str());
  return s;
}

// Multiplies a dim by a block size (symbolic dims become unknown).
static Dim scaled(const Dim& d, int64_t factor) {
  if (factor == 1) return d;
  return d.isStatic() ? Dim(d.value() * factor) : Dim::unknown();
}

// Divides a dim by a block size, failing if a static extent is not divisible.
static Dim divided(const Dim& d, int64_t factor, const char* what) {
  if (factor == 1) return d;
  if (!d.isStatic()) return Dim::unknown();
  if (d.value() % factor != 0)
    throwUserError("{} {} is not divisible by the block size {}", what, d.value(), factor);
  return Dim(d.value() / factor);
}

const OpDef kDepthToSpaceDef{
    .name = "DepthToSpace", .minInputs = 1, .maxInputs = 1, .traits = kShapeOp,
    .attrs = {{"blocksize", AttrKind::Int, std::nullopt}, {"mode", AttrKind::String, std::string("DCR")}},
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      int64_t b = blockSize(ctx.node());
      const std::string& mode = ctx.node().attrString("mode");
      if (mode != "DCR" && mode != "CRD") ctx.fail("mode must be DCR or CRD, found '{}'", mode);
      if (!in.shape) return ctx.setOutput(0, TensorType::unranked(in.dtype));
      const Shape& s = requireRank4(ctx);
      ctx.setOutput(0, TensorType(in.dtype, Shape(std::vector<Dim>{s[0], divided(s[1], b * b, "channel count"),
                                                   scaled(s[2], b), scaled(s[3], b)})));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      int64_t b = blockSize(ctx.node());
      const std::string& mode = ctx.node().attrString("mode");
      if (mode != "DCR" && mode != "CRD") ctx.fail("mode must be DCR or CRD, found '{}'", mode);
      if (in.rank() != 4) ctx.fail("expected a rank-4 [N,C,H,W] input, found [{}]", fmt::join(in.shape(), ","));
      int64_t n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
      if (c % (b * b) != 0) ctx.fail("channel count {} is not divisible by blocksize^2 = {}", c, b * b);
      int64_t outC = c / (b * b);
      auto st = contiguousStrides(in.shape());
      // The output [N, C', H*b, W*b] read as [N, C', H, b, W, b]; the source
      // channel of (c, bh, bw) is (bh*b + bw)*C' + c (DCR) or c*b*b + bh*b + bw (CRD).
      std::vector<int64_t> strides = mode == "DCR"
          ? std::vector<int64_t>{st[0], st[1], st[2], b * outC * st[1], st[3], outC * st[1]}
          : std::vector<int64_t>{st[0], b * b * st[1], st[2], b * st[1], st[3], st[1]};
      Tensor out = stridedGather(in, {n, outC, h, b, w, b}, 0, strides);
      ctx.setOutput(0, out.reshaped({n, outC, h * b, w * b}));
    },
};

const OpDef kSpaceToDepthDef{
    .name = "SpaceToDepth", .minInputs = 1, .maxInputs = 1, .traits = kShapeOp,
    .attrs = {{"blocksize", AttrKind::Int, std::nullopt}},
    .infer = [](InferContext& ctx) {
      const TensorType& in = ctx.inputType(0);
      int64_t b = blockSize(ctx.node());
      if (!in.shape) return ctx.setOutput(0, TensorType::unranked(in.dtype));
      const Shape& s = requireRank4(ctx);
      ctx.setOutput(0, TensorType(in.dtype, Shape(std::vector<Dim>{s[0], scaled(s[1], b * b), divided(s[2], b, "height"),
                                                   divided(s[3], b, "width")})));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& in = ctx.input(0);
      int64_t b = blockSize(ctx.node());
      if (in.rank() != 4) ctx.fail("expected a rank-4 [N,C,H,W] input, found [{}]", fmt::join(in.shape(), ","));
      int64_t n = in.dim(0), c = in.dim(1), h = in.dim(2), w = in.dim(3);
      if (h % b != 0 || w % b != 0)
        ctx.fail("height {} and width {} must be divisible by the block size {}", h, w, b);
      auto st = contiguousStrides(in.shape());
      // The output [N, b*b*C, H/b, W/b] read as [N, b, b, C, H/b, W/b]:
      // output channel (bh*b + bw)*C + c takes input (c, h*b + bh, w*b + bw).
      Tensor out = stridedGather(in, {n, b, b, c, h / b, w / b}, 0,
                                 {st[0], st[2], st[3], st[1], b * st[2], b * st[3]});
      ctx.setOutput(0, out.reshaped({n, b * b * c, h / b, w / b}));
    },
};

}  // namespace dlc::ir
