// Det: the determinant of each square matrix in the last two dims, by LU
// decomposition with partial pivoting in double.
#include <cmath>

#include "ir/ops/nn_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

void inferDet(InferContext& ctx) {
  requireFloatInput(ctx, 0, "X");
  DType t = ctx.inputDType(0);
  const Shape* s = rankedAtLeast(ctx, 0, 2, "X");
  if (!s) return ctx.setOutput(0, TensorType::unranked(t));
  const Dim& rows = (*s)[s->rank() - 2];
  const Dim& cols = (*s)[s->rank() - 1];
  if (rows.isStatic() && cols.isStatic() && rows.value() != cols.value())
    ctx.fail("X must hold square matrices, found {}", s->str());
  ctx.setOutput(0, TensorType(t, Shape(std::vector<Dim>(s->dims().begin(), s->dims().end() - 2))));
}

double determinant(std::vector<double>& a, int64_t n) {
  double det = 1.0;
  for (int64_t col = 0; col < n; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < n; ++r)
      if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
    if (a[pivot * n + col] == 0.0) return 0.0;
    if (pivot != col) {
      for (int64_t c = 0; c < n; ++c) std::swap(a[col * n + c], a[pivot * n + c]);
      det = -det;
    }
    double p = a[col * n + col];
    det *= p;
    for (int64_t r = col + 1; r < n; ++r) {
      double f = a[r * n + col] / p;
      for (int64_t c = col; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
    }
  }
  return det;
}

void evalDet(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2))
    ctx.fail("X must hold square matrices in its last two dims, found {}", extentsStr(x.shape()));
  int64_t n = x.dim(x.rank() - 1);
  std::vector<int64_t> outShape(x.shape().begin(), x.shape().end() - 2);
  std::vector<double> xd = toDoubles(x);
  std::vector<double> dets;
  int64_t count = checkedNumElements(outShape);
  for (int64_t m = 0; m < count; ++m) {
    std::vector<double> a(xd.begin() + m * n * n, xd.begin() + (m + 1) * n * n);
    dets.push_back(determinant(a, n));
  }
  ctx.setOutput(0, fromDoubles(x.dtype(), outShape, dets));
}

}  // namespace

const OpDef kDetDef{
    .name = "Det", .minInputs = 1, .maxInputs = 1,
    .infer = inferDet,
    .eval = evalDet,
};

}  // namespace dlc::ir
