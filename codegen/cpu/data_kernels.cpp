// Kernel-IR lowerings of data movement (Concat, Slice, Gather, Expand) and
// of reductions over a contiguous block of axes. Each output point computes
// the coordinates of its source element.
#include <fmt/format.h>

#include <limits>

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

LoweredKernel lowerSlice(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0)), ys = extentsOf(n.output(0));
  auto starts = constantInts(n, 1), ends = constantInts(n, 2);
  std::optional<std::vector<int64_t>> axes, steps;
  if (n.hasInput(3) && !(axes = constantInts(n, 3))) return refuse("axes are not constant");
  if (n.hasInput(4) && !(steps = constantInts(n, 4))) return refuse("steps are not constant");
  if (!starts || !ends) return refuse("starts/ends are not constant");
  size_t rank = xs.size();
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  std::vector<int64_t> ax;
  if (axes) ax = ir::ops::normalizeAxes(*axes, int64_t(rank), "axes");
  else
    for (size_t i = 0; i < starts->size(); ++i) ax.push_back(int64_t(i));
  for (size_t i = 0; i < ax.size(); ++i) {
    size_t a = size_t(ax[i]);
    int64_t s = (*starts)[i], e = (*ends)[i], st = steps ? (*steps)[i] : 1;
    if (st == 0) return refuse("step 0");
    ir::ops::clampSlice(xs[a], s, e, st);
    begin[a] = s;
    step[a] = st;
  }
  OutputWalk w(ys);
  int x = w.buffer(n.input(0), false), y = w.buffer(n.output(0), true);
  std::vector<Expr> c(rank);
  for (size_t d = 0; d < rank; ++d) c[d] = add(i64(begin[d]), step[d] == 1 ? w.coord[d] : mul(w.coord[d], i64(step[d])));
  w.k.body.push_back(kir::store(w.k, y, w.linear, kir::load(w.k, x, OutputWalk::index(c, xs))));
  return std::move(w.out);
}

// Gather along `axis`; an index outside [-dim, dim) stops the program with an
// error (the kernel raises a status flag that the step checks).
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

// Reductions whose axes form one contiguous block: input viewed as
// [outer, reduced, inner]; one output element per point, reduced by a row
// loop (cooperative on CUDA).
LoweredKernel lowerReduce(const ir::Node& n) {
  std::vector<int64_t> xs = extentsOf(n.input(0));
  DType t = n.input(0)->dtype();
  if (t != DType::F32 && t != DType::F64) return refuse("float reductions only");
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
  for (size_t i = 1; i < axes.size(); ++i)
    if (axes[i] != axes[i - 1] + 1) return refuse("axes that are not contiguous");
  if (axes.empty()) return refuse("rank-0 input");
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
  auto c = [&](double v) { return kir::constant(t, v); };
  double init = 0;
  switch (n.op()) {
    case OpKind::ReduceMax: init = -std::numeric_limits<double>::infinity(); break;
    case OpKind::ReduceMin: init = std::numeric_limits<double>::infinity(); break;
    case OpKind::ReduceProd: init = 1; break;
    default: break;
  }
  kir::Var acc = kir::newVar(k, t);
  k.body.push_back(kir::declare(acc, c(init)));
  kir::Var j = kir::newVar(k);
  Expr xv = kir::load(k, x, add(mul(add(mul(kir::var(k.iter0), i64(reduce)), kir::var(j)), i64(inner)), kir::var(k.iter1)));
  Expr a = kir::var(acc), next;
  switch (n.op()) {
    case OpKind::ReduceSum:
    case OpKind::ReduceMean: next = kir::binary(BinaryOp::Add, a, xv); break;
    case OpKind::ReduceSumSquare:
    case OpKind::ReduceL2: next = kir::binary(BinaryOp::Add, a, kir::binary(BinaryOp::Mul, xv, xv)); break;
    case OpKind::ReduceL1: next = kir::binary(BinaryOp::Add, a, kir::unary(kir::UnaryOp::Abs, xv)); break;
    case OpKind::ReduceProd: next = kir::binary(BinaryOp::Mul, a, xv); break;
    case OpKind::ReduceMax: next = kir::binary(BinaryOp::Max, a, xv); break;
    case OpKind::ReduceMin: next = kir::binary(BinaryOp::Min, a, xv); break;
    default: return refuse("no lowering for this reduction");
  }
  BinaryOp combine = std::get<kir::BinaryExpr>(next->kind).op;
  k.body.push_back(kir::rowLoop(j, i64(0), i64(reduce), {kir::assign(acc, next)}, {{acc, combine}}));
  Expr result = kir::var(acc);
  if (n.op() == OpKind::ReduceMean) result = kir::binary(BinaryOp::Div, result, c(double(reduce)));
  if (n.op() == OpKind::ReduceL2) result = kir::unary(kir::UnaryOp::Sqrt, result);
  k.body.push_back(kir::store(k, y, add(mul(kir::var(k.iter0), i64(inner)), kir::var(k.iter1)), result));
  return out;
}

}  // namespace

bool hasDataLowering(const ir::Node& n) {
  switch (n.op()) {
    case OpKind::Concat:
    case OpKind::Split:
    case OpKind::Slice:
    case OpKind::Gather:
    case OpKind::Expand:
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
    case OpKind::Gather: return lowerGather(n);
    case OpKind::Expand: return lowerExpand(n);
    default: return lowerReduce(n);
  }
}

}  // namespace dlc::codegen
