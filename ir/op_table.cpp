// The op table, generated from ir/ops.def.
#include <array>
#include <string_view>

#include "ir/op_def.h"

namespace dlc::ir {

namespace {
const std::array<const OpDef*, kNumOps> kOpTable = {
#define DLC_OP(Name) &k##Name##Def,
#include "ir/ops.def"
#undef DLC_OP
};
}  // namespace

const OpDef& opDef(OpKind op) { return *kOpTable[size_t(op)]; }

std::string_view opName(OpKind op) {
  static constexpr std::array<std::string_view, kNumOps> kNames = {
#define DLC_OP(Name) #Name,
#include "ir/ops.def"
#undef DLC_OP
  };
  return kNames[size_t(op)];
}

std::optional<OpKind> findOp(std::string_view name) {
  for (size_t i = 0; i < kNumOps; ++i)
    if (opName(OpKind(i)) == name) return OpKind(i);
  return std::nullopt;
}

const AttrSpec* OpDef::findAttr(const std::string& attrName) const {
  for (const AttrSpec& a : attrs)
    if (a.name == attrName) return &a;
  return nullptr;
}

}  // namespace dlc::ir
