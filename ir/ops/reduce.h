// Shared machinery of the Reduce* ops (axes as input 1, opset-18 form) and
// of other ops that reduce over a set of axes (normalisations).
#pragma once

#include <span>

#include "ir/ops/reduction_util.h"

namespace dlc::ir::ops {

// The reduced axes of a node (sorted, normalised), from its constant `axes`
// input; nullopt when the axes are not known at inference time.
// An empty or absent axes list means all axes unless noop_with_empty_axes.
std::optional<std::vector<int64_t>> reduceAxes(const Node& node, const Tensor* axes, int64_t rank);

// The attributes every Reduce* op has.
std::vector<AttrSpec> reduceAttrs();

// Inference for a Reduce* op; `allowBool` for ReduceMax/ReduceMin.
void inferReduce(InferContext& ctx, bool allowBool = false);

// For an input shape and a set of reduced axes: the input elements that fold
// into each output element. Groups are numbered in row-major order of the
// kept shape (reduced dims set to 1).
class ReductionGroups {
 public:
  ReductionGroups(const std::vector<int64_t>& inShape, const std::vector<int64_t>& sortedAxes);
  int64_t numGroups() const { return int64_t(start_.size()) - 1; }
  // Flat input offsets of group g, in row-major order.
  std::span<const int64_t> members(int64_t g) const {
    return {members_.data() + start_[size_t(g)], size_t(start_[size_t(g) + 1] - start_[size_t(g)])};
  }
  // The group each input element belongs to.
  int64_t groupOf(int64_t inputOffset) const { return groupOf_[size_t(inputOffset)]; }
  const std::vector<int64_t>& keptShape() const { return keptShape_; }

 private:
  std::vector<int64_t> keptShape_;
  std::vector<int64_t> start_;    // numGroups + 1 prefix offsets into members_
  std::vector<int64_t> members_;  // input offsets grouped by output
  std::vector<int64_t> groupOf_;
};

enum class ReduceKind { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

// The reference kernel of every Reduce* op. Floats are accumulated in double;
// integer sums and products wrap modulo 2^64 and are then narrowed (the
// two's-complement result of the integer type); integer L2/LogSum/LogSumExp
// are computed in double and saturated.
void evalReduce(EvalContext& ctx, ReduceKind kind);

}  // namespace dlc::ir::ops
