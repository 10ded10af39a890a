#include "ir/tensor_compare.h"

#include <fmt/format.h>

#include <cmath>

namespace dlc::ir {

std::optional<std::string> compareTensors(const Tensor& actual, const Tensor& expected, Tolerance tol) {
  if (actual.dtype() != expected.dtype())
    return fmt::format("dtype {} differs from expected {}", dtypeName(actual.dtype()), dtypeName(expected.dtype()));
  if (actual.shape() != expected.shape())
    return fmt::format("shape [{}] differs from expected [{}]", fmt::join(actual.shape(), ","),
                       fmt::join(expected.shape(), ","));
  int64_t bad = 0, worst = -1;
  double worstExcess = 0;
  bool floats = isFloat(actual.dtype());
  for (int64_t i = 0; i < actual.numel(); ++i) {
    if (!floats) {
      if (actual.getInt(i) != expected.getInt(i)) {
        if (bad++ == 0) worst = i;
      }
      continue;
    }
    double a = actual.getDouble(i), e = expected.getDouble(i);
    if (std::isnan(a) || std::isnan(e)) {
      if (std::isnan(a) != std::isnan(e) && bad++ == 0) worst = i;
      continue;
    }
    if (std::isinf(a) || std::isinf(e)) {
      if (a != e && bad++ == 0) worst = i;
      continue;
    }
    double excess = std::abs(a - e) - (tol.atol + tol.rtol * std::abs(e));
    if (excess > 0) {
      ++bad;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad == 0) return std::nullopt;
  std::string av = floats ? fmt::format("{:.9g}", actual.getDouble(worst)) : std::to_string(actual.getInt(worst));
  std::string ev = floats ? fmt::format("{:.9g}", expected.getDouble(worst)) : std::to_string(expected.getInt(worst));
  return fmt::format("{} of {} elements differ; worst at flat index {}: got {}, expected {}", bad,
                     actual.numel(), worst, av, ev);
}

}  // namespace dlc::ir
