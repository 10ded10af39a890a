// Kernel-IR lowerings of data movement (Concat, Slice, Pad, Gather, Expand,
// OneHot) and of reductions over any axes. Each output point computes the
// coordinates of its source element(s).
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <variant>

#include "codegen/cpu/anchor_kernels.h"
#include "codegen/cpu/elementwise_lowering.h"
#include "codegen/cpu/lowering_util.h"
#include "ir/ops/tensor_util.h"

namespace dlc::codegen {

using ir::DType;
using ir::OpKind;
using kir::BinaryOp;
using kir::Expr;

namespace {

using namespace kx;

LoweredKernel refuse(std::string why) {
  LoweredKernel r;
  r.unsupported = std::move(why);
  return r;
}

std::vector<int64_t> stridesOf(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

// A kernel over the output shape split at its last axis, with each output
// coordinate available as an expression.
struct OutputWalk {
  LoweredKernel out;
  kir::Kernel& k = out.kernel;
  std::vector<int64_t> shape;
  std::vector<Expr> coord;  // per output dim
  Expr linear;              // the output element's index

  explicit OutputWalk(std::vector<int64_t> s) : shape(std::move(s)) {
    size_t rank = shape.size();
    k.extent0 = 1;
    for (size_t d = 0; d + 1 < rank; ++d) k.extent0 *= shape[d];
    k.extent1 = rank ? shape.back() : 1;
    coord.resize(rank);
    if (rank) coord[rank - 1] = kir::var(k.iter1);
    int64_t below = 1;
    for (size_t d = rank - 1; rank && d-- > 0;) {
      Expr c = kir::var(k.iter0);
      if (below != 1) c = kir::binary(BinaryOp::Div, c, i64(below));
      if (d > 0) c = kir::binary(BinaryOp::Rem, c, i64(shape[d]));
      coord[d] = c;
      below *= shape[d];
    }
    linear = add(mul(kir::var(k.iter0), i64(k.extent1)), kir::var(k.iter1));
  }
  int buffer(const ir::Value* v, bool written) { return bindBuffer(k, out.bufferValues, v, written); }
  // Linear index of `coords` in a tensor of `shape`.
  static Expr index(const std::vector<Expr>& coords, const std::vector<int64_t>& shape) {
    std::vector<int64_t> strides = stridesOf(shape);
    Expr idx = i64(0);
    for (size_t d = 0; d < coords.size(); ++d)
      if (shape[d] != 1) idx = add(idx, strides[d] == 1 ? coords[d] : mul(coords[d], i64(strides[d])));
    return idx;
  }
};

LoweredKernel lowerConcat(const ir::Node& n) {
  std::vector<int64_t> ys = extentsOf(n.output(0));
  int64_t axis = n.attrInt("axis");
  if (axis < 0) axis += int64_t(ys.size());
  OutputWalk w(ys);
  int y = w.buffer(n.output(0), true);
  // if (c < end0) y = in0[..] else if (c < end1) y = in1[..] ...
  std::vector<Expr> conditions;
  std::vector<kir::Block> branches;
  int64_t begin = 0;
  for (const ir::Value* in : n.inputs()) {
    std::vector<int64_t> s = extentsOf(in);
    int64_t extent = s[size_t(axis)];
    if (extent == 0) continue;
    std::vector<Expr> c = w.coord;
    c[size_t(axis)] = kir::binary(BinaryOp::Sub, c[size_t(axis)], i64(begin));
    int b = w.buffer(in, false);
    conditions.push_back(kir::binary(BinaryOp::Lt, w.coord[size_t(axis)], i64(begin + extent)));
    branches.push_back({kir::store(w.k, y, w.linear, kir::load(w.k, b, OutputWalk::index(c, s)))});
    begin += extent;
  }
  w.k.body = ifChain(conditions, branches);
  return std::move(w.out);
}

// Split walks its input: each element goes to the output whose range along
// the axis holds it.
LoweredKernel lowerSplit(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0));
  int64_t axis = n.attrInt("axis");
  if (axis < 0) axis += int64_t(xs.size());
  OutputWalk w(xs);
  int x = w.buffer(n.input(0), false);
  std::vector<Expr> conditions;
  std::vector<kir::Block> branches;
  int64_t begin = 0;
  for (const ir::Value* out : n.outputs()) {
    std::vector<int64_t> s = extentsOf(out);
    int64_t extent = s[size_t(axis)];
    int b = w.buffer(out, true);
    if (extent == 0) continue;
    std::vector<Expr> c = w.coord;
    c[size_t(axis)] = kir::binary(BinaryOp::Sub, c[size_t(axis)], i64(begin));
    conditions.push_back(kir::binary(BinaryOp::Lt, w.coord[size_t(axis)], i64(begin + extent)));
    branches.push_back({kir::store(w.k, b, OutputWalk::index(c, s), kir::load(w.k, x, w.linear))});
    begin += extent;
  }
  if (begin != xs[size_t(axis)]) return refuse("split sizes do not cover the axis");
  w.k.body = ifChain(conditions, branches);
  return std::move(w.out);
}

std::optional<std::vector<int64_t>> constantInts(const ir::Node& n, size_t i) {
  const ir::Value* v = n.input(i);
  if (!v || !v->isConstant()) return std::nullopt;
  return v->constant().toInts();
}

// A Slice's first input index and step per axis (constant operands only).
struct SliceWalk {
  std::vector<int64_t> begin, step;
};
std::variant<SliceWalk, std::string> sliceWalk(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0));
  auto starts = constantInts(n, 1), ends = constantInts(n, 2);
  std::optional<std::vector<int64_t>> axes, steps;
  if (n.hasInput(3) && !(axes = constantInts(n, 3))) return "axes are not constant";
  if (n.hasInput(4) && !(steps = constantInts(n, 4))) return "steps are not constant";
  if (!starts || !ends) return "starts/ends are not constant";
  size_t rank = xs.size();
  SliceWalk walk{std::vector<int64_t>(rank, 0), std::vector<int64_t>(rank, 1)};
  std::vector<int64_t> ax;
  if (axes) ax = ir::ops::normalizeAxes(*axes, int64_t(rank), "axes");
  else
    for (size_t i = 0; i < starts->size(); ++i) ax.push_back(int64_t(i));
  for (size_t i = 0; i < ax.size(); ++i) {
    size_t a = size_t(ax[i]);
    int64_t s = (*starts)[i], e = (*ends)[i], st = steps ? (*steps)[i] : 1;
    if (st == 0) return "step 0";
    ir::ops::clampSlice(xs[a], s, e, st);
    walk.begin[a] = s;
    walk.step[a] = st;
  }
  return walk;
}

// The element offset of a strided box of extents ys starting at `begin` in
// a row-major xs, when the box is one contiguous run: every dim after the
// outermost one of extent > 1 is whole, walked forwards.
std::optional<int64_t> contiguousRunOffset(const std::vector<int64_t>& xs, const std::vector<int64_t>& ys,
                                           const std::vector<int64_t>& begin, const std::vector<int64_t>& step) {
  size_t first = 0;
  while (first < ys.size() && ys[first] == 1) ++first;
  for (size_t d = first; d < ys.size(); ++d) {
    if (ys[d] > 1 && step[d] != 1) return std::nullopt;
    if (d > first && ys[d] != xs[d]) return std::nullopt;
  }
  int64_t offset = 0, stride = 1;
  for (size_t d = xs.size(); d-- > 0;) {
    offset += begin[d] * stride;
    stride *= xs[d];
  }
  return offset;
}

}  // namespace

std::optional<int64_t> contiguousSliceByteOffset(const ir::Node& n) {
  const ir::Value* x = n.input(0);
  auto isStatic = [](const ir::Value* v) { return v->type().shape && v->type().shape->isStatic(); };
  if (!x || !isStatic(x) || !isStatic(n.output(0))) return std::nullopt;
  std::vector<int64_t> xs = extentsOf(x);
  std::vector<int64_t> begin(xs.size(), 0), step(xs.size(), 1), box = xs;
  if (n.op() == OpKind::Slice) {
    auto walk = sliceWalk(n);
    if (!std::holds_alternative<SliceWalk>(walk)) return std::nullopt;
    begin = std::get<SliceWalk>(walk).begin;
    step = std::get<SliceWalk>(walk).step;
    box = extentsOf(n.output(0));
  } else if (n.op() == OpKind::Gather) {
    auto index = constantInts(n, 1);
    if (!index || index->size() != 1 || n.input(1)->type().shape->rank() > 1) return std::nullopt;
    int64_t axis = n.attrInt("axis");
    if (axis < 0) axis += int64_t(xs.size());
    int64_t i = (*index)[0] < 0 ? (*index)[0] + xs[size_t(axis)] : (*index)[0];
    if (i < 0 || i >= xs[size_t(axis)]) return std::nullopt;
    begin[size_t(axis)] = i;
    box[size_t(axis)] = 1;
  } else {
    return std::nullopt;
  }
  auto offset = contiguousRunOffset(xs, box, begin, step);
  if (!offset) return std::nullopt;
  return *offset * int64_t(ir::dtypeSize(x->dtype()));
}

namespace {

LoweredKernel lowerSlice(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0)), ys = extentsOf(n.output(0));
  auto walk = sliceWalk(n);
  if (const auto* why = std::get_if<std::string>(&walk)) return refuse(*why);
  size_t rank = xs.size();
  const std::vector<int64_t>& begin = std::get<SliceWalk>(walk).begin;
  const std::vector<int64_t>& step = std::get<SliceWalk>(walk).step;
  OutputWalk w(ys);
  int x = w.buffer(n.input(0), false), y = w.buffer(n.output(0), true);
  std::vector<Expr> c(rank);
  for (size_t d = 0; d < rank; ++d) c[d] = add(i64(begin[d]), step[d] == 1 ? w.coord[d] : mul(w.coord[d], i64(step[d])));
  w.k.body.push_back(kir::store(w.k, y, w.linear, kir::load(w.k, x, OutputWalk::index(c, xs))));
  return std::move(w.out);
}

// Gather along `axis`; an index outside [-dim, dim) stops the program with an
// error (the kernel raises a status flag that the step checks).
// Pad in constant mode: each output point reads its source element where
// it has one, else the constant.
LoweredKernel lowerPad(const ir::Node& n) {
  if (n.attrString("mode") != "constant") return refuse("modes other than constant");
  std::vector<int64_t> xs = extentsOf(n.input(0)), ys = extentsOf(n.output(0));
  size_t rank = xs.size();
  auto pads = constantInts(n, 1);
  if (!pads) return refuse("pads are not constant");
  std::vector<int64_t> axes;
  if (n.hasInput(3)) {
    auto given = constantInts(n, 3);
    if (!given) return refuse("axes are not constant");
    axes = ir::ops::normalizeAxes(*given, int64_t(rank), "axes");
  } else {
    for (size_t d = 0; d < rank; ++d) axes.push_back(int64_t(d));
  }
  if (pads->size() != 2 * axes.size()) return refuse("pads that do not match the axes");
  std::vector<int64_t> begin(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) begin[size_t(axes[i])] = (*pads)[i];
  double value = 0;
  if (n.hasInput(2)) {
    if (!n.input(2)->isConstant() || n.input(2)->constant().numel() != 1) return refuse("a constant_value that is not constant");
    value = n.input(2)->constant().getDouble(0);
  }
  DType t = n.output(0)->dtype();
  if (t == DType::Bool || t == DType::F16 || t == DType::BF16) return refuse("bool and half tensors");
  OutputWalk w(ys);
  int x = w.buffer(n.input(0), false), y = w.buffer(n.output(0), true);
  Expr inside = kir::constant(DType::Bool, 1);
  std::vector<Expr> src(rank);
  for (size_t d = 0; d < rank; ++d) {
    src[d] = sub(w.coord[d], i64(begin[d]));
    if (ys[d] == xs[d] && begin[d] == 0) continue;
    Expr in = kir::binary(BinaryOp::And, kir::binary(BinaryOp::Ge, src[d], i64(0)),
                          kir::binary(BinaryOp::Lt, src[d], i64(xs[d])));
    inside = kir::binary(BinaryOp::And, inside, in);
    // Clamped so that the load stays inside X whatever the select picks.
    src[d] = kir::binary(BinaryOp::Min, kir::binary(BinaryOp::Max, src[d], i64(0)), i64(xs[d] - 1));
  }
  Expr loaded = kir::load(w.k, x, OutputWalk::index(src, xs));
  w.k.body.push_back(kir::store(w.k, y, w.linear, kir::select(inside, loaded, kir::constant(t, value))));
  return std::move(w.out);
}

LoweredKernel lowerGather(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0)), is = extentsOf(n.input(1)), ys = extentsOf(n.output(0));
  int64_t axis = n.attrInt("axis");
  if (axis < 0) axis += int64_t(xs.size());
  OutputWalk w(ys);
  int x = w.buffer(n.input(0), false), ind = w.buffer(n.input(1), false), y = w.buffer(n.output(0), true);
  size_t a = size_t(axis), ir = is.size();
  std::vector<Expr> ic(w.coord.begin() + ptrdiff_t(a), w.coord.begin() + ptrdiff_t(a + ir));
  Expr raw = kir::load(w.k, ind, OutputWalk::index(ic, is));
  if (raw->dtype != DType::I64) raw = kir::cast(DType::I64, raw);
  int64_t dim = xs[a];
  kir::Var idx = kir::newVar(w.k);
  w.k.body.push_back(kir::declare(idx, raw));
  w.k.body.push_back(kir::ifThen(kir::binary(BinaryOp::Lt, kir::var(idx), i64(0)),
                                 {kir::assign(idx, add(kir::var(idx), i64(dim)))}));
  std::vector<Expr> c;
  for (size_t d = 0; d < a; ++d) c.push_back(w.coord[d]);
  c.push_back(kir::var(idx));
  for (size_t d = a + ir; d < ys.size(); ++d) c.push_back(w.coord[d]);
  Expr ok = kir::binary(BinaryOp::And, kir::binary(BinaryOp::Ge, kir::var(idx), i64(0)),
                        kir::binary(BinaryOp::Lt, kir::var(idx), i64(dim)));
  int status = kir::addBuffer(w.k, "status", DType::I64, 1, true);
  w.out.bufferValues.push_back(nullptr);  // bound to the step's status word
  w.k.body.push_back(kir::ifThen(ok, {kir::store(w.k, y, w.linear, kir::load(w.k, x, OutputWalk::index(c, xs)))},
                                 {kir::store(w.k, status, i64(0), i64(1))}));
  w.out.statusMessage = fmt::format("{}: an index is outside [-{}, {}) (the size of axis {})", n.describe(), dim, dim, axis);
  return std::move(w.out);
}

LoweredKernel lowerExpand(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0)), ys = extentsOf(n.output(0));
  OutputWalk w(ys);
  int x = w.buffer(n.input(0), false), y = w.buffer(n.output(0), true);
  size_t offset = ys.size() - xs.size();
  std::vector<Expr> c;
  for (size_t d = 0; d < xs.size(); ++d) c.push_back(xs[d] == 1 ? i64(0) : w.coord[d + offset]);
  w.k.body.push_back(kir::store(w.k, y, w.linear, kir::load(w.k, x, OutputWalk::index(c, xs))));
  return std::move(w.out);
}

// What every Reduce* lowering shares: the accumulator's initial value, one
// update acc = combine(acc, f(x)) and the final transformation of acc over
// `count` reduced elements.
struct ReductionRule {
  double init = 0;
  BinaryOp combine = BinaryOp::Add;
  std::string unsupported;  // non-empty: no lowering for this op
  static ReductionRule of(OpKind op) {
    ReductionRule r;
    switch (op) {
      case OpKind::ReduceSum:
      case OpKind::ReduceMean:
      case OpKind::ReduceSumSquare:
      case OpKind::ReduceL2:
      case OpKind::ReduceL1: break;
      case OpKind::ReduceProd: r.init = 1, r.combine = BinaryOp::Mul; break;
      case OpKind::ReduceMax: r.init = -std::numeric_limits<double>::infinity(), r.combine = BinaryOp::Max; break;
      case OpKind::ReduceMin: r.init = std::numeric_limits<double>::infinity(), r.combine = BinaryOp::Min; break;
      default: r.unsupported = "no lowering for this reduction"; break;
    }
    return r;
  }
  // The term combined into the accumulator for input element `x`.
  static Expr term(OpKind op, Expr x) {
    switch (op) {
      case OpKind::ReduceSumSquare:
      case OpKind::ReduceL2: return kir::binary(BinaryOp::Mul, x, x);
      case OpKind::ReduceL1: return kir::unary(kir::UnaryOp::Abs, x);
      default: return x;
    }
  }
  static Expr finish(OpKind op, Expr acc, int64_t count) {
    if (op == OpKind::ReduceMean) return kir::binary(BinaryOp::Div, acc, kir::constant(acc->dtype, double(count)));
    if (op == OpKind::ReduceL2) return kir::unary(kir::UnaryOp::Sqrt, acc);
    return acc;
  }
};

// Declares the accumulator, adds the row loop over j in [0, count) that
// combines the element loaded by `element(j)` and returns the final value.
Expr reduceRow(kir::Kernel& k, OpKind op, DType t, int64_t count, const std::function<Expr(Expr)>& element) {
  ReductionRule rule = ReductionRule::of(op);
  kir::Var acc = kir::newVar(k, t);
  k.body.push_back(kir::declare(acc, kir::constant(t, rule.init)));
  kir::Var j = kir::newVar(k);
  Expr next = kir::binary(rule.combine, kir::var(acc), ReductionRule::term(op, element(kir::var(j))));
  k.body.push_back(kir::rowLoop(j, i64(0), i64(count), {kir::assign(acc, next)}, {{acc, rule.combine}}));
  return ReductionRule::finish(op, kir::var(acc), count);
}

// Reductions whose axes form one contiguous block: input viewed as
// [outer, reduced, inner]; one point per (outer, inner) output element.
LoweredKernel lowerContiguousReduce(const ir::Node& n, const std::vector<int64_t>& xs, const std::vector<int64_t>& axes) {
  DType t = n.input(0)->dtype();
  int64_t outer = 1, reduce = 1, inner = 1;
  for (size_t d = 0; d < xs.size(); ++d) {
    int64_t a = int64_t(d);
    (a < axes.front() ? outer : a > axes.back() ? inner : reduce) *= xs[d];
  }
  LoweredKernel out;
  kir::Kernel& k = out.kernel;
  auto buffer = [&](const ir::Value* v, bool written) { return bindBuffer(k, out.bufferValues, v, written); };
  int x = buffer(n.input(0), false), y = buffer(n.output(0), true);
  k.extent0 = outer;
  k.extent1 = inner;
  k.allowReassociation = true;
  Expr result = reduceRow(k, n.op(), t, reduce, [&](Expr j) {
    return kir::load(k, x, add(mul(add(mul(kir::var(k.iter0), i64(reduce)), j), i64(inner)), kir::var(k.iter1)));
  });
  k.body.push_back(kir::store(k, y, add(mul(kir::var(k.iter0), i64(inner)), kir::var(k.iter1)), result));
  return out;
}

// Reductions over any set of axes: one point per output element; the row
// loop walks the reduced elements, whose offset in the input comes from the
// reduced index split into runs of adjacent reduced axes.
LoweredKernel lowerGeneralReduce(const ir::Node& n, const std::vector<int64_t>& xs, const std::vector<int64_t>& axes) {
  DType t = n.input(0)->dtype();
  std::vector<int64_t> ys = extentsOf(n.output(0));
  bool keep = n.attrInt("keepdims") != 0;
  std::vector<int64_t> xStrides = stridesOf(xs);
  std::vector<bool> reduced(xs.size(), false);
  for (int64_t a : axes) reduced[size_t(a)] = true;
  OutputWalk w(ys);
  int x = w.buffer(n.input(0), false), y = w.buffer(n.output(0), true);
  w.k.allowReassociation = true;
  // The kept axes' part of the input offset.
  Expr base = i64(0);
  size_t outDim = 0;
  for (size_t d = 0; d < xs.size(); ++d) {
    if (reduced[d]) {
      if (keep) ++outDim;
      continue;
    }
    if (xs[d] != 1) base = add(base, xStrides[d] == 1 ? w.coord[outDim] : mul(w.coord[outDim], i64(xStrides[d])));
    ++outDim;
  }
  // Runs of adjacent reduced axes (extent, stride of the run's last axis),
  // innermost last.
  std::vector<std::pair<int64_t, int64_t>> runs;
  for (size_t d = 0; d < xs.size(); ++d) {
    if (!reduced[d]) continue;
    if (d > 0 && reduced[d - 1] && !runs.empty()) runs.back() = {runs.back().first * xs[d], xStrides[d]};
    else runs.emplace_back(xs[d], xStrides[d]);
  }
  int64_t count = 1;
  for (auto [extent, stride] : runs) count *= extent;
  Expr result = reduceRow(w.k, n.op(), t, count, [&](Expr j) {
    Expr offset = base;
    int64_t below = 1;
    for (size_t r = runs.size(); r-- > 0;) {
      auto [extent, stride] = runs[r];
      Expr c = below == 1 ? j : div(j, i64(below));
      if (r > 0) c = rem(c, i64(extent));
      if (extent != 1) offset = add(offset, stride == 1 ? c : mul(c, i64(stride)));
      below *= extent;
    }
    return kir::load(w.k, x, offset);
  });
  w.k.body.push_back(kir::store(w.k, y, w.linear, result));
  w.out.pointPerOutputElement = true;
  return std::move(w.out);
}

LoweredKernel lowerReduce(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0));
  DType t = n.input(0)->dtype();
  if (t != DType::F32 && t != DType::F64) return refuse("float reductions only");
  if (std::string why = ReductionRule::of(n.op()).unsupported; !why.empty()) return refuse(why);
  std::vector<int64_t> axes;
  if (n.hasInput(1)) {
    auto a = constantInts(n, 1);
    if (!a) return refuse("axes are not constant");
    axes = *a;
  }
  if (axes.empty()) {
    if (n.attrInt("noop_with_empty_axes") != 0) return refuse("no-op reduction");
    for (size_t d = 0; d < xs.size(); ++d) axes.push_back(int64_t(d));
  }
  axes = ir::ops::normalizeAxes(axes, int64_t(xs.size()), "axes");
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty()) return refuse("rank-0 input");
  bool contiguous = axes.back() - axes.front() + 1 == int64_t(axes.size());
  return contiguous ? lowerContiguousReduce(n, xs, axes) : lowerGeneralReduce(n, xs, axes);
}

// OneHot with a constant depth: each output point compares its coordinate on
// `axis` with its index (index + depth when negative); indices outside
// [-depth, depth) match no coordinate, so their row is all off.
LoweredKernel lowerOneHot(const ir::Node& n) {
  const ir::Value* indices = n.input(0);
  if (!isInteger(indices->dtype())) return refuse("indices that are not integers");
  if (indices->dtype() == DType::U64) return refuse("u64 indices");
  if (!n.input(1)->isConstant()) return refuse("depth is not constant");
  if (n.input(2)->type().shape->numElements() != 2) return refuse("values without exactly two elements");
  std::vector<int64_t> is = extentsOf(indices), ys = extentsOf(n.output(0));
  size_t axis = size_t(ir::ops::normalizeAxes({n.attrInt("axis")}, int64_t(ys.size()), "axis").front());
  int64_t depth = ys[axis];
  OutputWalk w(ys);
  int ind = w.buffer(indices, false), values = w.buffer(n.input(2), false), y = w.buffer(n.output(0), true);
  std::vector<Expr> ic;
  for (size_t d = 0; d < ys.size(); ++d)
    if (d != axis) ic.push_back(w.coord[d]);
  Expr idx = kir::load(w.k, ind, OutputWalk::index(ic, is));
  if (idx->dtype != DType::I64) idx = kir::cast(DType::I64, idx);
  kir::Var v = kir::newVar(w.k);
  w.k.body.push_back(kir::declare(v, idx));
  w.k.body.push_back(
      kir::ifThen(kir::binary(BinaryOp::Lt, kir::var(v), i64(0)), {kir::assign(v, add(kir::var(v), i64(depth)))}));
  Expr on = kir::binary(BinaryOp::Eq, kir::var(v), w.coord[axis]);
  w.k.body.push_back(kir::store(w.k, y, w.linear,
                                kir::select(on, kir::load(w.k, values, i64(1)), kir::load(w.k, values, i64(0)))));
  w.out.pointPerOutputElement = true;
  return std::move(w.out);
}

}  // namespace

bool hasDataLowering(const ir::Node& n) {
  switch (n.op()) {
    case OpKind::Concat:
    case OpKind::Split:
    case OpKind::Slice:
    case OpKind::Pad:
    case OpKind::Gather:
    case OpKind::Expand:
    case OpKind::OneHot:
    case OpKind::ScatterElements:
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax:
    case OpKind::ReduceMin:
    case OpKind::ReduceProd:
    case OpKind::ReduceSumSquare:
    case OpKind::ReduceL1:
    case OpKind::ReduceL2: return true;
    default: return false;
  }
}

LoweredKernel lowerDataOp(const ir::Node& n) {
  for (const ir::Value* v : n.outputs())
    if (v->dtype() == DType::Undefined) return refuse("untyped result");
  switch (n.op()) {
    case OpKind::Concat: return lowerConcat(n);
    case OpKind::Split: return lowerSplit(n);
    case OpKind::Slice: return lowerSlice(n);
    case OpKind::Pad: return lowerPad(n);
    case OpKind::Gather: return lowerGather(n);
    case OpKind::Expand: return lowerExpand(n);
    case OpKind::OneHot: return lowerOneHot(n);
    case OpKind::ScatterElements: return lowerMaxPoolGradientScatter(n);
    default: return lowerReduce(n);
  }
}

}  // namespace dlc::codegen
