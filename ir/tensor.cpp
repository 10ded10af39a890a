#include "ir/tensor.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "support/error.h"

namespace dlc::ir {

int64_t checkedNumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throwUserError("tensor shape {} has a negative extent", fmt::join(shape, "x"));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throwUserError("tensor shape [{}] has too many elements", fmt::join(shape, ","));
    n *= d;
  }
  return n;
}

std::vector<int64_t> contiguousStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

void checkTensorBytes(DType dtype, const std::vector<int64_t>& shape, int64_t maxBytes, const std::string& what) {
  int64_t numel = checkedNumElements(shape);
  int64_t elem = int64_t(dtypeSize(dtype));
  if (numel > maxBytes / elem)
    throwUserError("{} of shape [{}] and dtype {} needs {} elements of {} bytes, over the limit of {} bytes",
                   what, fmt::join(shape, ","), dtypeName(dtype), numel, elem, maxBytes);
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  DLC_CHECK(dtype != DType::Undefined, "tensor of undefined dtype");
  checkTensorBytes(dtype, shape_, kDefaultMaxTensorBytes, "tensor");
  numel_ = checkedNumElements(shape_);
  storage_ = std::make_shared<Storage>(size_t(numel_) * dtypeSize(dtype), std::byte{0});
}

Tensor Tensor::uninitialized(DType dtype, std::vector<int64_t> shape) {
  Tensor t;
  DLC_CHECK(dtype != DType::Undefined, "tensor of undefined dtype");
  checkTensorBytes(dtype, shape, kDefaultMaxTensorBytes, "tensor");
  t.dtype_ = dtype;
  t.numel_ = checkedNumElements(shape);
  t.shape_ = std::move(shape);
  t.storage_ = std::make_shared<Storage>(size_t(t.numel_) * dtypeSize(dtype));
  return t;
}

void Tensor::checkType(DType requested) const {
  DLC_CHECK(requested == dtype_, "tensor of dtype {} accessed as {}", dtypeName(dtype_),
            dtypeName(requested));
}

void Tensor::checkIndex(int64_t i) const {
  DLC_CHECK(i >= 0 && i < numel_, "element {} of a tensor of shape [{}] ({} elements)", i, fmt::join(shape_, ","),
            numel_);
}

void Tensor::checkSize(const Tensor& t, size_t n) {
  DLC_CHECK(size_t(t.numel()) == n, "{} values given for a tensor of {} elements", n, t.numel());
}


double Tensor::getDouble(int64_t i) const {
  checkIndex(i);
  const std::byte* p = rawData();
  return dispatchDType(dtype_, [&](auto tag) -> double {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    if constexpr (std::is_same_v<T, Half>) return halfToFloat(v.bits);
    else if constexpr (std::is_same_v<T, BFloat16>) return bf16ToFloat(v.bits);
    else return double(v);
  });
}

int64_t Tensor::getInt(int64_t i) const {
  checkIndex(i);
  const std::byte* p = rawData();
  return dispatchDType(dtype_, [&](auto tag) -> int64_t {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    if constexpr (std::is_same_v<T, Half>) return int64_t(halfToFloat(v.bits));
    else if constexpr (std::is_same_v<T, BFloat16>) return int64_t(bf16ToFloat(v.bits));
    else return int64_t(v);
  });
}

// Out-of-range values saturate and NaN becomes 0: converting them directly
// is undefined behaviour (UBSan: Clip's default bound -FLT_MAX into int8).
template <typename T>
static T saturatingCast(double x) {
  if (std::isnan(x)) return T(0);
  if (x <= double(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (x >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return T(x);
}

void Tensor::setDouble(int64_t i, double x) {
  checkIndex(i);
  std::byte* p = rawData();
  dispatchDType(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T v;
    if constexpr (std::is_same_v<T, Half>) v.bits = floatToHalf(float(x));
    else if constexpr (std::is_same_v<T, BFloat16>) v.bits = floatToBf16(float(x));
    else if constexpr (std::is_same_v<T, bool>) v = x != 0;
    else if constexpr (std::is_integral_v<T>) v = saturatingCast<T>(x);
    else v = T(x);
    std::memcpy(p + i * sizeof(T), &v, sizeof(T));
  });
}

void Tensor::setInt(int64_t i, int64_t x) {
  checkIndex(i);
  std::byte* p = rawData();
  dispatchDType(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T v;
    if constexpr (std::is_same_v<T, Half>) v.bits = floatToHalf(float(x));
    else if constexpr (std::is_same_v<T, BFloat16>) v.bits = floatToBf16(float(x));
    else if constexpr (std::is_same_v<T, bool>) v = x != 0;
    else v = T(x);
    std::memcpy(p + i * sizeof(T), &v, sizeof(T));
  });
}

std::vector<int64_t> Tensor::toInts() const {
  std::vector<int64_t> out(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) out[size_t(i)] = getInt(i);
  return out;
}

Tensor Tensor::clone() const {
  Tensor t;
  t.dtype_ = dtype_;
  t.shape_ = shape_;
  t.numel_ = numel_;
  if (storage_) t.storage_ = std::make_shared<Storage>(*storage_);
  return t;
}

Tensor Tensor::reshaped(std::vector<int64_t> shape) const {
  DLC_CHECK(checkedNumElements(shape) == numel_, "reshape of {} elements to [{}]", numel_,
            fmt::join(shape, ","));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

std::string Tensor::summary(size_t maxValues) const {
  std::string s = fmt::format("{}[{}]", dtypeName(dtype_), fmt::join(shape_, ","));
  if (!defined()) return s;
  s += " {";
  for (int64_t i = 0; i < numel_ && size_t(i) < maxValues; ++i) {
    if (i) s += ", ";
    if (isFloat(dtype_)) s += fmt::format("{:.6g}", getDouble(i));
    else s += std::to_string(getInt(i));
  }
  if (size_t(numel_) > maxValues) s += ", ...";
  s += "}";
  if (isFloat(dtype_) && numel_ > 0) {
    double lo = getDouble(0), hi = lo, sum = 0;
    for (int64_t i = 0; i < numel_; ++i) {
      double v = getDouble(i);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
    }
    s += fmt::format(" min={:.6g} max={:.6g} mean={:.6g}", lo, hi, sum / double(numel_));
  }
  return s;
}

}  // namespace dlc::ir
