// Small helpers shared by the CPU backend's lowerings: static extents of a
// value, products of extents, kernel-IR shorthands, and binding a value to a
// kernel buffer once.
#pragma once

#include <cstdint>
#include <vector>

#include "codegen/cpu/elementwise_lowering.h"
#include "codegen/kernel/kernel_ir.h"
#include "ir/graph.h"

namespace dlc::codegen {

// Ops whose result is operand 0's bytes under a new shape (no copy, no kernel).
inline bool isViewNode(const ir::Node& n) {
  switch (n.op()) {
    case ir::OpKind::Reshape:
    case ir::OpKind::Flatten:
    case ir::OpKind::Squeeze:
    case ir::OpKind::Unsqueeze:
    case ir::OpKind::Identity: return true;
    case ir::OpKind::Dropout: return isInferenceDropout(n);
    default: return false;
  }
}

inline std::vector<int64_t> extentsOf(const ir::Value* v) { return v->type().shape->extents(); }

// Product of v[from, to).
inline int64_t product(const std::vector<int64_t>& v, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= v[i];
  return p;
}

namespace kx {  // kernel-IR expression shorthands
inline kir::Expr i64(int64_t v) { return kir::intConstant(v); }
inline kir::Expr f32(double v) { return kir::constant(ir::DType::F32, v); }
inline kir::Expr add(kir::Expr a, kir::Expr b) { return kir::binary(kir::BinaryOp::Add, std::move(a), std::move(b)); }
inline kir::Expr sub(kir::Expr a, kir::Expr b) { return kir::binary(kir::BinaryOp::Sub, std::move(a), std::move(b)); }
inline kir::Expr mul(kir::Expr a, kir::Expr b) { return kir::binary(kir::BinaryOp::Mul, std::move(a), std::move(b)); }
inline kir::Expr div(kir::Expr a, kir::Expr b) { return kir::binary(kir::BinaryOp::Div, std::move(a), std::move(b)); }
inline kir::Expr rem(kir::Expr a, kir::Expr b) { return kir::binary(kir::BinaryOp::Rem, std::move(a), std::move(b)); }
}  // namespace kx

// The kernel buffer bound to `v`, added (and recorded in `values`) on first
// use; a buffer first bound read-only becomes written when asked.
inline int bindBuffer(kir::Kernel& k, std::vector<const ir::Value*>& values, const ir::Value* v, bool written) {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] == v) {
      if (written) k.buffers[i].written = true;
      return int(i);
    }
  values.push_back(v);
  return kir::addBuffer(k, v->name(), v->dtype(), v->type().shape->numElements().value_or(0), written);
}

// A one-element non-Bool constant as an immediate in its compute type (it
// broadcasts everywhere, so kernels need no buffer for it); nullptr for any
// other value.
inline kir::Expr scalarImmediate(const ir::Value* v) {
  if (!v->isConstant() || v->constant().numel() != 1 || v->dtype() == ir::DType::Bool) return nullptr;
  const ir::Tensor& t = v->constant();
  ir::DType ct = computeType(v->dtype());
  return ct == ir::DType::F32 || ct == ir::DType::F64 ? kir::constant(ct, t.getDouble(0))
                                                      : kir::cast(ct, kir::intConstant(t.getInt(0)));
}

// if (conditions[0]) branches[0] else if (conditions[1]) ... else branches.back():
// the last branch needs no test. Empty when there are no branches.
inline kir::Block ifChain(const std::vector<kir::Expr>& conditions, const std::vector<kir::Block>& branches) {
  if (branches.empty()) return {};
  kir::Block chain = branches.back();
  for (size_t i = branches.size() - 1; i-- > 0;) chain = {kir::ifThen(conditions[i], branches[i], chain)};
  return chain;
}

}  // namespace dlc::codegen
