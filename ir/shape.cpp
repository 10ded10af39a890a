#include "ir/shape.h"

#include <fmt/format.h>

#include <limits>

#include "support/error.h"

namespace dlc::ir {

std::string Dim::str() const {
  if (isStatic()) return std::to_string(value_);
  if (isSymbolic()) return symbol_;
  return "?";
}

Shape Shape::fromExtents(const std::vector<int64_t>& extents) {
  std::vector<Dim> dims(extents.begin(), extents.end());
  return Shape(std::move(dims));
}

bool Shape::isStatic() const {
  for (const Dim& d : dims_)
    if (!d.isStatic()) return false;
  return true;
}

std::vector<int64_t> Shape::extents() const {
  std::vector<int64_t> out;
  out.reserve(dims_.size());
  for (const Dim& d : dims_) {
    DLC_CHECK(d.isStatic(), "shape {} is not static", str());
    out.push_back(d.value());
  }
  return out;
}

std::optional<int64_t> Shape::numElements() const {
  bool empty = false;
  for (const Dim& d : dims_) {
    if (!d.isStatic()) return std::nullopt;
    empty = empty || d.value() == 0;
  }
  if (empty) return 0;
  int64_t n = 1;
  for (const Dim& d : dims_) {
    if (n > std::numeric_limits<int64_t>::max() / d.value()) return std::nullopt;  // does not fit int64
    n *= d.value();
  }
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ",";
    s += dims_[i].str();
  }
  return s + "]";
}

std::string TensorType::str() const {
  return fmt::format("{}{}", dtypeName(dtype), shape ? shape->str() : "[*]");
}

}  // namespace dlc::ir
