#include "codegen/cpu/pointwise_kernel.h"

#include <unordered_map>

#include "codegen/cpu/elementwise_lowering.h"
#include "codegen/cpu/lowering_util.h"

namespace dlc::codegen {

using ir::DType;
using kir::BinaryOp;
using kir::Expr;

Expr broadcastIndex(const kir::Kernel& k, const std::vector<int64_t>& shape, int splitAxis,
                    const std::vector<int64_t>& valueShape) {
  const size_t rank = shape.size();
  const size_t split = splitAxis < 0 ? (rank == 0 ? 0 : rank - 1) : size_t(splitAxis);
  Expr v0 = kir::var(k.iter0), v1 = kir::var(k.iter1);
  if (valueShape == shape) {
    return kir::binary(BinaryOp::Add, kir::binary(BinaryOp::Mul, v0, kir::intConstant(product(shape, split, rank))), v1);
  }
  // Right-aligned broadcasting: dim d of `shape` matches dim d - offset of the value.
  const size_t offset = rank - valueShape.size();
  Expr index = kir::intConstant(0);
  int64_t stride = 1;
  for (size_t d = rank; d-- > offset;) {
    int64_t extent = valueShape[d - offset];
    if (extent != 1) {
      // coordinate d = (v / prod(shape[d+1 : end of its half])) % shape[d]
      bool inner = d >= split;
      Expr v = inner ? v1 : v0;
      int64_t below = product(shape, d + 1, inner ? rank : split);
      int64_t above = product(shape, inner ? split : 0, d);  // dims before d in the same half
      Expr coord = v;
      if (below != 1) coord = kir::binary(BinaryOp::Div, coord, kir::intConstant(below));
      if (above != 1) coord = kir::binary(BinaryOp::Rem, coord, kir::intConstant(shape[d]));
      Expr term = stride == 1 ? coord : kir::binary(BinaryOp::Mul, coord, kir::intConstant(stride));
      index = kir::binary(BinaryOp::Add, index, term);
    }
    stride *= extent;
  }
  return index;
}

PointwiseKernel buildPointwiseKernel(const std::string& name, const PointwiseGroup& group) {
  PointwiseKernel result;
  result.kernel.name = name;
  appendPointwise(result, group);
  return result;
}

void appendPointwise(PointwiseKernel& result, const PointwiseGroup& group) {
  kir::Kernel& k = result.kernel;
  const bool appending = !result.bufferValues.empty();
  const auto& shape = group.shape;
  const size_t rank = shape.size();
  const size_t split = group.splitAxis < 0 ? (rank == 0 ? 0 : rank - 1) : size_t(group.splitAxis);
  int64_t extent0 = product(shape, 0, split), extent1 = product(shape, split, rank);
  DLC_CHECK(!appending || (k.extent0 == extent0 && k.extent1 == extent1),
            "pointwise epilogue over {}x{} appended to a kernel over {}x{}", extent0, extent1, k.extent0, k.extent1);
  k.extent0 = extent0;
  k.extent1 = extent1;

  std::unordered_map<const ir::Value*, int> bufferOf;
  for (size_t i = 0; i < result.bufferValues.size(); ++i)
    if (result.bufferValues[i]) bufferOf[result.bufferValues[i]] = int(i);
  auto bufferFor = [&](const ir::Value* v, bool written) {
    auto it = bufferOf.find(v);
    if (it != bufferOf.end()) {
      if (written) k.buffers[size_t(it->second)].written = true;
      return it->second;
    }
    int64_t n = v->type().shape->numElements().value_or(0);
    int b = kir::addBuffer(k, v->name(), v->dtype(), n, written);
    bufferOf[v] = b;
    result.bufferValues.push_back(v);
    return b;
  };

  // Values computed at this point (as compute-type expressions).
  std::unordered_map<const ir::Value*, Expr> valueAt;
  auto read = [&](const ir::Value* v, const std::vector<int64_t>* shapeOverride = nullptr) -> Expr {
    auto it = valueAt.find(v);
    if (it != valueAt.end()) return it->second;
    if (Expr e = scalarImmediate(v)) {
      valueAt[v] = e;
      return e;
    }
    int b = bufferFor(v, false);
    bool stored = v == group.anchorResult && group.anchorResultStorage != ir::DType::Undefined;
    if (stored) k.buffers[size_t(b)].dtype = group.anchorResultStorage;
    Expr e = kir::load(k, b, broadcastIndex(k, shape, int(split), shapeOverride ? *shapeOverride : extentsOf(v)));
    if (stored) e = kir::cast(v->dtype(), e);  // the rounding a store in v's type would do
    if (computeType(v->dtype()) != v->dtype()) e = kir::cast(computeType(v->dtype()), e);
    // Bind loads once so that a value read by several ops is loaded once.
    kir::Var local = kir::newVar(k, e->dtype);
    k.body.push_back(kir::declare(local, e));
    Expr ref = kir::var(local);
    valueAt[v] = ref;
    return ref;
  };
  if (group.anchorResult) {
    Expr r = read(group.anchorResult);
    if (group.anchorScale != 1.0) r = kir::binary(BinaryOp::Mul, r, kir::constant(r->dtype, group.anchorScale));
    if (group.anchorAddend) {
      Expr addend = read(group.anchorAddend, &group.anchorAddendShape);
      if (group.anchorAddendScale != 1.0)
        addend = kir::binary(BinaryOp::Mul, addend, kir::constant(r->dtype, group.anchorAddendScale));
      r = kir::binary(BinaryOp::Add, r, addend);
    }
    if (r != valueAt[group.anchorResult]) {
      kir::Var local = kir::newVar(k, r->dtype);
      k.body.push_back(kir::declare(local, r));
      valueAt[group.anchorResult] = kir::var(local);
    }
  }

  for (const ir::Node* node : group.nodes) {
    std::vector<Expr> operands;
    for (const ir::Value* in : node->inputs()) operands.push_back(in ? read(in) : nullptr);
    Expr r = lowerElementwise(*node, operands);
    if (!r) {
      result.unsupported = node;
      if (!appending) {
        result.kernel = {};
        result.bufferValues.clear();
      }
      return;
    }
    kir::Var local = kir::newVar(k, r->dtype);
    k.body.push_back(kir::declare(local, r));
    valueAt[node->output(0)] = kir::var(local);
  }
  Expr linear = kir::binary(BinaryOp::Add, kir::binary(BinaryOp::Mul, kir::var(k.iter0), kir::intConstant(k.extent1)),
                            kir::var(k.iter1));
  for (const ir::Value* out : group.outputs) {
    Expr value = read(out);
    if (value->dtype != out->dtype()) value = kir::cast(out->dtype(), value);
    int b = bufferFor(out, true);
    k.body.push_back(kir::store(k, b, linear, value));
  }
}

}  // namespace dlc::codegen
