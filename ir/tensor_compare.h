// Comparing tensors the way numpy.testing.assert_allclose does:
// |actual - expected| <= atol + rtol * |expected|, NaN equal to NaN, the
// same dtype and shape.
#pragma once

#include <optional>
#include <string>

#include "ir/tensor.h"

namespace dlc::ir {

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

// nullopt when close; else what differs (dtype, shape, or the worst element
// with its index and both values, plus how many elements mismatch).
std::optional<std::string> compareTensors(const Tensor& actual, const Tensor& expected, Tolerance tol);

}  // namespace dlc::ir
