// Node attributes: a small sorted map from name to a typed value.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "ir/tensor.h"

namespace dlc::ir {

class Graph;

enum class AttrKind { Int, Float, String, Ints, Floats, Strings, Tensor, Graph };
std::string_view attrKindName(AttrKind k);

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>,
                               std::vector<double>, std::vector<std::string>, Tensor,
                               std::shared_ptr<Graph>>;
AttrKind attrKindOf(const AttrValue& v);

class Attributes {
 public:
  void set(const std::string& name, AttrValue v) { map_[name] = std::move(v); }
  bool has(const std::string& name) const { return map_.count(name) != 0; }
  const AttrValue* find(const std::string& name) const {
    auto it = map_.find(name);
    return it == map_.end() ? nullptr : &it->second;
  }
  void erase(const std::string& name) { map_.erase(name); }
  const std::map<std::string, AttrValue>& all() const { return map_; }
  bool empty() const { return map_.empty(); }

  friend bool operator==(const Attributes& a, const Attributes& b);

 private:
  std::map<std::string, AttrValue> map_;
};

}  // namespace dlc::ir
