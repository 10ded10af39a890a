// The fused attention kernel: out = softmax(chain(Q Kt)) V for one query row
// per point, as three row loops (cooperative on CUDA, kernel_ir.h):
//   1. per key j: s = Q[i,:] . Kt[:,j], then the elementwise chain (scale,
//      mask); s stored in the workspace row, the row's max taken;
//   2. per key j: e = exp(s - max) over the workspace row, summed;
//   3. per output column d: sum_j e_j V[j,d], divided by the sum.
// The scores and probabilities live only in the workspace row of the point
// (one row per query, never a separate kernel's result), and the whole
// attention is one launch instead of GEMM, epilogue, softmax and GEMM.
#include <limits>

#include "codegen/cpu/anchor_kernels.h"
#include "codegen/cpu/lowering_util.h"

namespace dlc::codegen {

using ir::DType;
using kir::BinaryOp;
using kir::Expr;
using kir::UnaryOp;
using namespace kx;

LoweredKernel lowerAttention(const std::vector<const ir::Node*>& body) {
  LoweredKernel out;
  kir::Kernel& k = out.kernel;
  const ir::Node& scores = *body.front();
  const ir::Node& weighted = *body.back();  // MatMul(P, V)
  std::vector<int64_t> s = extentsOf(scores.output(0));
  size_t rank = s.size();
  int64_t sq = s[rank - 2], sk = s[rank - 1];
  int64_t depth = extentsOf(scores.input(0))[rank - 1];
  int64_t dv = extentsOf(weighted.output(0))[rank - 1];
  int64_t batch = product(s, 0, rank - 2);
  auto buffer = [&](const ir::Value* v, bool written) { return bindBuffer(k, out.bufferValues, v, written); };
  int q = buffer(scores.input(0), false), kt = buffer(scores.input(1), false), v = buffer(weighted.input(1), false);
  int y = buffer(weighted.output(0), true);
  out.workspaceBuffer = kir::addBuffer(k, "workspace", DType::F32, batch * sq * sk, true);
  out.bufferValues.push_back(nullptr);
  k.extent0 = batch * sq;  // point v0 = the query row (b * Sq + i)
  k.extent1 = 1;
  k.allowReassociation = true;
  Expr row = kir::var(k.iter0);
  auto local = [&](DType t, Expr init, kir::Block& into) {
    kir::Var x = kir::newVar(k, t);
    into.push_back(kir::declare(x, std::move(init)));
    return x;
  };
  kir::Var b = local(DType::I64, div(row, i64(sq)), k.body);
  kir::Var i = local(DType::I64, rem(row, i64(sq)), k.body);
  auto workspaceAt = [&](Expr j) { return add(mul(row, i64(sk)), std::move(j)); };

  // Index of the element of a chain operand of shape `vs` (broadcast to the
  // scores' shape) at batch b, query i, key j.
  auto broadcastAt = [&](const std::vector<int64_t>& vs, Expr j) {
    Expr index = i64(0);
    int64_t stride = 1, below = 1;  // below: product of the scores' batch extents after axis a
    size_t offset = rank - vs.size();
    for (size_t a = rank; a-- > 0;) {
      int64_t extent = a >= offset ? vs[a - offset] : 1;
      if (extent != 1) {
        Expr coord = a == rank - 1 ? j : a == rank - 2 ? kir::var(i) : kir::var(b);
        if (a + 2 < rank) {
          if (below != 1) coord = div(coord, i64(below));
          if (a > 0) coord = rem(coord, i64(s[a]));
        }
        index = add(index, mul(coord, i64(stride)));
      }
      stride *= extent;
      if (a + 2 < rank) below *= s[a];
    }
    return index;
  };

  // Pass 1: scores and their max.
  kir::Var max = local(DType::F32, f32(-std::numeric_limits<double>::infinity()), k.body);
  kir::Var j1 = kir::newVar(k);
  kir::Block pass1;
  kir::Var dot = local(DType::F32, f32(0), pass1);
  kir::Var d1 = kir::newVar(k);
  Expr qAt = add(mul(row, i64(depth)), kir::var(d1));
  Expr kAt = add(add(mul(kir::var(b), i64(depth * sk)), mul(kir::var(d1), i64(sk))), kir::var(j1));
  pass1.push_back(kir::forLoop(d1, i64(0), i64(depth),
                               {kir::assign(dot, add(kir::var(dot), mul(kir::load(k, q, qAt), kir::load(k, kt, kAt))))}));
  Expr value = kir::var(dot);
  const ir::Value* previous = scores.output(0);
  for (size_t n = 1; n + 2 < body.size(); ++n) {
    const ir::Node& node = *body[n];
    std::vector<Expr> operands;
    for (const ir::Value* in : node.inputs()) {
      if (!in) {
        operands.push_back(nullptr);
      } else if (in == previous) {
        operands.push_back(value);
      } else if (Expr immediate = scalarImmediate(in)) {
        operands.push_back(immediate);
      } else {
        Expr e = kir::load(k, buffer(in, false), broadcastAt(extentsOf(in), kir::var(j1)));
        if (computeType(in->dtype()) != in->dtype()) e = kir::cast(computeType(in->dtype()), e);
        operands.push_back(e);
      }
    }
    Expr r = lowerElementwise(node, operands);
    if (!r) {
      LoweredKernel refused;
      refused.unsupported = "no kernel lowering of " + std::string(node.opName()) + " in the attention scores";
      return refused;
    }
    kir::Var x = local(r->dtype, r, pass1);
    value = kir::var(x);
    previous = node.output(0);
  }
  pass1.push_back(kir::store(k, out.workspaceBuffer, workspaceAt(kir::var(j1)), value));
  pass1.push_back(kir::assign(max, kir::binary(BinaryOp::Max, kir::var(max), value)));
  k.body.push_back(kir::rowLoop(j1, i64(0), i64(sk), std::move(pass1), {{max, BinaryOp::Max}}));

  // Pass 2: exponentials and their sum.
  kir::Var sum = local(DType::F32, f32(0), k.body);
  kir::Var j2 = kir::newVar(k);
  kir::Block pass2;
  kir::Var e = local(DType::F32,
                     kir::unary(UnaryOp::Exp, sub(kir::load(k, out.workspaceBuffer, workspaceAt(kir::var(j2))),
                                                  kir::var(max))),
                     pass2);
  pass2.push_back(kir::store(k, out.workspaceBuffer, workspaceAt(kir::var(j2)), kir::var(e)));
  pass2.push_back(kir::assign(sum, add(kir::var(sum), kir::var(e))));
  k.body.push_back(kir::rowLoop(j2, i64(0), i64(sk), std::move(pass2), {{sum, BinaryOp::Add}}));

  // Pass 3: the probabilities times V.
  kir::Var inverse = local(DType::F32, kir::unary(UnaryOp::Reciprocal, kir::var(sum)), k.body);
  kir::Var d3 = kir::newVar(k);
  kir::Block pass3;
  kir::Var acc = local(DType::F32, f32(0), pass3);
  kir::Var j3 = kir::newVar(k);
  Expr vAt = add(add(mul(kir::var(b), i64(sk * dv)), mul(kir::var(j3), i64(dv))), kir::var(d3));
  pass3.push_back(kir::forLoop(
      j3, i64(0), i64(sk),
      {kir::assign(acc, add(kir::var(acc), mul(kir::load(k, out.workspaceBuffer, workspaceAt(kir::var(j3))),
                                               kir::load(k, v, vAt))))}));
  pass3.push_back(kir::store(k, y, add(mul(row, i64(dv)), kir::var(d3)), mul(kir::var(acc), kir::var(inverse))));
  k.body.push_back(kir::rowLoop(d3, i64(0), i64(dv), std::move(pass3)));
  return out;
}

}  // namespace dlc::codegen
