// Shapes with static and symbolic dimensions, and tensor types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace dlc::ir {

// One dimension: a known extent, a named symbol (e.g. batch "N"), or unknown.
class Dim {
 public:
  Dim() = default;  // unknown
  Dim(int64_t value) : value_(value) {}  // NOLINT: implicit from an extent is convenient
  static Dim symbol(std::string name) {
    Dim d;
    d.symbol_ = std::move(name);
    return d;
  }
  static Dim unknown() { return Dim(); }

  bool isStatic() const { return value_ >= 0; }
  bool isSymbolic() const { return value_ < 0 && !symbol_.empty(); }
  bool isUnknown() const { return value_ < 0 && symbol_.empty(); }
  int64_t value() const { return value_; }  // -1 unless static
  const std::string& symbolName() const { return symbol_; }
  std::string str() const;  // "3", "N" or "?"

  friend bool operator==(const Dim& a, const Dim& b) {
    return a.value_ == b.value_ && a.symbol_ == b.symbol_;
  }

 private:
  int64_t value_ = -1;
  std::string symbol_;
};

class Shape {
 public:
  Shape() = default;  // rank 0 (a scalar)
  Shape(std::vector<Dim> dims) : dims_(std::move(dims)) {}  // NOLINT
  Shape(std::initializer_list<int64_t> dims) {
    for (int64_t d : dims) dims_.emplace_back(d);
  }
  static Shape fromExtents(const std::vector<int64_t>& extents);

  size_t rank() const { return dims_.size(); }
  const Dim& operator[](size_t i) const { return dims_[i]; }
  Dim& operator[](size_t i) { return dims_[i]; }
  const std::vector<Dim>& dims() const { return dims_; }
  std::vector<Dim>& dims() { return dims_; }
  bool isStatic() const;
  // The extents of a static shape; throws InternalError if not static.
  std::vector<int64_t> extents() const;
  std::optional<int64_t> numElements() const;  // nullopt unless static and the count fits int64
  std::string str() const;                      // "[2,3,N]"

  friend bool operator==(const Shape& a, const Shape& b) { return a.dims_ == b.dims_; }

 private:
  std::vector<Dim> dims_;
};

// A value's type. `shape` is nullopt when even the rank is unknown.
struct TensorType {
  DType dtype = DType::Undefined;
  std::optional<Shape> shape;

  TensorType() = default;
  TensorType(DType t, Shape s) : dtype(t), shape(std::move(s)) {}
  static TensorType unranked(DType t) {
    TensorType r;
    r.dtype = t;
    return r;
  }
  bool isRanked() const { return shape.has_value(); }
  bool isStatic() const { return shape && shape->isStatic(); }
  std::string str() const;  // "f32[2,3]" or "f32[*]"

  friend bool operator==(const TensorType& a, const TensorType& b) {
    return a.dtype == b.dtype && a.shape == b.shape;
  }
};

}  // namespace dlc::ir
