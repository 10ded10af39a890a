// A dense, row-major host tensor: constants in the IR and values in the
// reference interpreter. Storage is shared (copying a Tensor is cheap and
// aliases the data), so a weight is held once however often it is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "ir/dtype.h"
#include "ir/shape.h"

namespace dlc::ir {

// Refuse tensors larger than this many bytes before allocating (a model that
// claims a 2^40-element weight must not take the machine down).
inline constexpr int64_t kDefaultMaxTensorBytes = int64_t(16) << 30;

class Tensor {
 public:
  Tensor() = default;
  // Zero-initialised tensor. Throws UserError for negative extents or a size
  // over kDefaultMaxTensorBytes.
  Tensor(DType dtype, std::vector<int64_t> shape);
  // The same with its bytes left as they are: for results every element of
  // which is about to be written (a compiled program's outputs).
  static Tensor uninitialized(DType dtype, std::vector<int64_t> shape);

  template <typename T>
  static Tensor fromVector(std::vector<int64_t> shape, const std::vector<T>& values) {
    Tensor t(dtypeOf<T>(), std::move(shape));
    checkSize(t, values.size());
    auto out = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return t;
  }
  template <typename T>
  static Tensor scalar(T value) {
    return fromVector<T>({}, std::vector<T>{value});
  }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(size_t i) const { return shape_[i]; }
  int64_t numel() const { return numel_; }
  size_t byteSize() const { return size_t(numel_) * dtypeSize(dtype_); }
  TensorType type() const { return TensorType(dtype_, Shape::fromExtents(shape_)); }
  bool defined() const { return dtype_ != DType::Undefined; }

  std::byte* rawData() { return storage_ ? storage_->data() : nullptr; }
  const std::byte* rawData() const { return storage_ ? storage_->data() : nullptr; }
  template <typename T>
  std::span<T> data() {
    checkType(dtypeOf<T>());
    return {reinterpret_cast<T*>(rawData()), size_t(numel_)};
  }
  template <typename T>
  std::span<const T> data() const {
    checkType(dtypeOf<T>());
    return {reinterpret_cast<const T*>(rawData()), size_t(numel_)};
  }

  // Element access through double / int64, for any dtype (slow; for shape
  // arithmetic, tests and printing). An index outside [0, numel) is an
  // InternalError: kernels check their inputs' sizes first.
  double getDouble(int64_t i) const;
  int64_t getInt(int64_t i) const;
  void setDouble(int64_t i, double v);  // integers: saturating, NaN as 0
  void setInt(int64_t i, int64_t v);
  std::vector<int64_t> toInts() const;  // all elements as int64

  // A deep copy (independent storage).
  Tensor clone() const;
  // Same data, different shape (numel must match); shares storage.
  Tensor reshaped(std::vector<int64_t> shape) const;

  // Short human-readable summary: dtype, shape, a few values, and
  // min/max/mean for floats.
  std::string summary(size_t maxValues = 6) const;

 private:
  void checkType(DType requested) const;
  void checkIndex(int64_t i) const;
  static void checkSize(const Tensor& t, size_t n);

  DType dtype_ = DType::Undefined;
  std::vector<int64_t> shape_;
  int64_t numel_ = 0;
  // Bytes that resizing leaves uninitialised (uninitialized(); the
  // constructor zeroes them), 64-byte aligned: compiled kernels read
  // constants (weights) in place with full-width vector loads, and a load
  // that straddles two cache lines costs two.
  struct DefaultInit : std::allocator<std::byte> {
    static constexpr std::align_val_t kAlignment{64};
    template <typename U>
    struct rebind {
      using other = DefaultInit;
    };
    std::byte* allocate(size_t n) { return static_cast<std::byte*>(::operator new(n, kAlignment)); }
    void deallocate(std::byte* p, size_t n) { ::operator delete(p, n, kAlignment); }
    void construct(std::byte* p) { ::new (static_cast<void*>(p)) std::byte; }
    template <typename... Args>
    void construct(std::byte* p, Args&&... args) {
      ::new (static_cast<void*>(p)) std::byte(std::forward<Args>(args)...);
    }
  };
  using Storage = std::vector<std::byte, DefaultInit>;
  std::shared_ptr<Storage> storage_;
};

// Row-major strides (in elements) of a shape.
std::vector<int64_t> contiguousStrides(const std::vector<int64_t>& shape);
// Product of extents; throws UserError on negative extents or overflow.
int64_t checkedNumElements(const std::vector<int64_t>& shape);
// Throws UserError when a tensor of this dtype and shape would take more than
// maxBytes (checked before anything is allocated); `what` names the tensor.
void checkTensorBytes(DType dtype, const std::vector<int64_t>& shape, int64_t maxBytes, const std::string& what);

}  // namespace dlc::ir
