#include "ir/attributes.h"

#include <cstring>

#include "support/error.h"

namespace dlc::ir {

std::string_view attrKindName(AttrKind k) {
  switch (k) {
    case AttrKind::Int: return "int";
    case AttrKind::Float: return "float";
    case AttrKind::String: return "string";
    case AttrKind::Ints: return "ints";
    case AttrKind::Floats: return "floats";
    case AttrKind::Strings: return "strings";
    case AttrKind::Tensor: return "tensor";
    case AttrKind::Graph: return "graph";
  }
  DLC_CHECK(false, "bad attribute kind");
}

AttrKind attrKindOf(const AttrValue& v) { return AttrKind(v.index()); }

static bool sameTensor(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.byteSize() == 0 || std::memcmp(a.rawData(), b.rawData(), a.byteSize()) == 0);
}

bool operator==(const Attributes& a, const Attributes& b) {
  if (a.map_.size() != b.map_.size()) return false;
  for (auto ia = a.map_.begin(), ib = b.map_.begin(); ia != a.map_.end(); ++ia, ++ib) {
    if (ia->first != ib->first || ia->second.index() != ib->second.index()) return false;
    bool same = std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          const T& y = std::get<T>(ib->second);
          if constexpr (std::is_same_v<T, Tensor>) return sameTensor(x, y);
          else return x == y;
        },
        ia->second);
    if (!same) return false;
  }
  return true;
}

}  // namespace dlc::ir
