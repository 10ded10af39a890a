// Helpers for op unit tests: one-node graphs built and run through the
// reference interpreter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "ir/interpreter.h"

namespace dlc::ir::testing {

inline Attributes attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
  Attributes a;
  for (const auto& [name, value] : list) a.set(name, value);
  return a;
}

// Runs one `op` node; nullopt or an undefined Tensor is an absent operand.
// runOp feeds the operands as graph inputs, so that only the kernel sees
// their values; runOpOnConstants makes them constants, which inference sees.
std::vector<Tensor> runOp(OpKind op, const std::vector<std::optional<Tensor>>& operands, Attributes a = {},
                          size_t numOutputs = 1);
std::vector<Tensor> runOpOnConstants(OpKind op, const std::vector<std::optional<Tensor>>& operands,
                                     Attributes a = {}, size_t numOutputs = 1);
inline Tensor runOp1(OpKind op, const std::vector<std::optional<Tensor>>& operands, Attributes a = {}) {
  return runOp(op, operands, std::move(a)).at(0);
}

}  // namespace dlc::ir::testing
