// The enum of IR ops, generated from ir/ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dlc::ir {

enum class OpKind : uint16_t {
#define DLC_OP(Name) Name,
#include "ir/ops.def"
#undef DLC_OP
};

inline constexpr size_t kNumOps = 0
#define DLC_OP(Name) +1
#include "ir/ops.def"
#undef DLC_OP
    ;

struct OpDef;
const OpDef& opDef(OpKind op);
std::string_view opName(OpKind op);
std::optional<OpKind> findOp(std::string_view name);

}  // namespace dlc::ir
