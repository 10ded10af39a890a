// Building blocks for elementwise op definitions: a unary or binary op is
// described by its scalar function; these helpers supply inference (with
// broadcasting) and the reference kernel.
#pragma once

#include "ir/ops/op_util.h"

namespace dlc::ir::ops {

// Which input dtypes an op accepts.
enum class TypeSet { Float, Numeric, SignedNumeric, Integer, Bool, Any };
bool inTypeSet(DType t, TypeSet set);

// Applies out[i] = f(in[i]) (computed in double for floats, in the integer
// type for integers) to input 0.
void evalUnaryDouble(EvalContext& ctx, double (*f)(double));
void inferUnary(InferContext& ctx, TypeSet accepted);

// Applies out = f(a, b) with broadcasting, where f is a generic lambda taking
// ComputeType<T> arguments; the result has the input's dtype, or bool when
// `outType` is Bool (comparisons).
template <typename F>
void evalBinary(EvalContext& ctx, F f, DType outType = DType::Undefined) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    ctx.fail("operands have different dtypes {} and {}", dtypeName(a.dtype()),
             dtypeName(b.dtype()));
  std::vector<int64_t> shape = broadcastExtents(a.shape(), b.shape());
  DType resultType = outType == DType::Undefined ? a.dtype() : outType;
  Tensor out(resultType, shape);
  std::vector<int64_t> sa = broadcastStrides(a.shape(), shape);
  std::vector<int64_t> sb = broadcastStrides(b.shape(), shape);
  dispatchDType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto pa = a.data<T>();
    auto pb = b.data<T>();
    auto run = [&](auto otag) {
      using O = decltype(otag);
      auto po = out.data<O>();
      int64_t k = 0;
      forEachIndex(shape, [&](const std::vector<int64_t>& idx) {
        auto r = f(toCompute(pa[offsetOf(idx, sa)]), toCompute(pb[offsetOf(idx, sb)]));
        po[k++] = fromCompute<O>(static_cast<ComputeType<O>>(r));
      });
    };
    if (resultType == DType::Bool) run(bool{});
    else run(T{});
  });
  ctx.setOutput(0, std::move(out));
}

// Inference for a broadcasting binary op whose inputs share one dtype from
// `accepted`; the result has `outType` (Undefined: the input dtype).
void inferBinary(InferContext& ctx, TypeSet accepted, DType outType = DType::Undefined);

}  // namespace dlc::ir::ops
