// DFT and STFT. Complex values are stored as a trailing dim of 2 (real,
// imaginary); a trailing dim of 1 is a real signal. The transforms are
// direct O(n^2) sums in double: this is the reference, not a fast FFT.
#include <cmath>
#include <complex>
#include <numbers>

#include "ir/ops/op_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

using Complex = std::complex<double>;

Complex readComplex(const Tensor& t, int64_t base, bool isComplex) {
  return isComplex ? Complex(t.getDouble(base), t.getDouble(base + 1)) : Complex(t.getDouble(base), 0);
}

// out[k] = sum_n in[n] * exp(-+2 pi i k n / length), for k < count.
std::vector<Complex> transform(const std::vector<Complex>& in, int64_t length, int64_t count, bool inverse) {
  std::vector<Complex> out(static_cast<size_t>(count));
  double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < count; ++k) {
    Complex acc = 0;
    for (int64_t n = 0; n < int64_t(in.size()) && n < length; ++n)
      acc += in[size_t(n)] * std::polar(1.0, sign * 2 * std::numbers::pi * double(k * n % length) / double(length));
    out[size_t(k)] = inverse ? acc / double(length) : acc;
  }
  return out;
}

void checkSignal(const Tensor& x, const char* what) {
  if (x.rank() < 2 || (x.shape().back() != 1 && x.shape().back() != 2))
    throwUserError("{} must end in a dim of 1 (real) or 2 (complex), found shape [{}]", what, fmt::join(x.shape(), ","));
}

void evalDft(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  checkSignal(x, "DFT's input");
  int64_t rank = int64_t(x.rank());
  int64_t axis = ctx.hasInput(2) ? scalarInt(ctx.input(2), "DFT's axis") : -2;
  axis = normalizeAxis(axis, rank);
  if (axis == rank - 1) ctx.fail("axis {} is the complex dim", axis);
  bool inverse = ctx.node().attrInt("inverse") != 0;
  bool onesided = ctx.node().attrInt("onesided") != 0;
  bool isComplex = x.shape().back() == 2;
  int64_t inLength = x.dim(size_t(axis));
  int64_t length = ctx.hasInput(1) ? scalarInt(ctx.input(1), "dft_length") : (inverse && onesided ? 2 * (inLength - 1) : inLength);
  if (length <= 0) ctx.fail("dft_length must be positive, found {}", length);
  if (onesided && !inverse && isComplex) ctx.fail("a one-sided DFT needs a real input");
  int64_t outCount = (onesided && !inverse) ? length / 2 + 1 : length;
  std::vector<int64_t> outShape = x.shape();
  outShape[size_t(axis)] = outCount;
  outShape.back() = (onesided && inverse) ? 1 : 2;
  Tensor out(x.dtype(), outShape);
  auto inStrides = contiguousStrides(x.shape());
  auto outStrides = contiguousStrides(outShape);
  std::vector<int64_t> lineShape = x.shape();
  lineShape[size_t(axis)] = 1;
  lineShape.back() = 1;
  forEachIndex(lineShape, [&](const std::vector<int64_t>& idx) {
    int64_t inBase = offsetOf(idx, inStrides), outBase = offsetOf(idx, outStrides);
    std::vector<Complex> line;
    for (int64_t n = 0; n < inLength; ++n) line.push_back(readComplex(x, inBase + n * inStrides[size_t(axis)], isComplex));
    if (onesided && inverse) {
      // The input holds bins 0..length/2 of a Hermitian spectrum: rebuild the rest.
      std::vector<Complex> full(static_cast<size_t>(length));
      for (int64_t k = 0; k < length; ++k) {
        int64_t src = k <= length / 2 ? k : length - k;
        Complex v = src < inLength ? line[size_t(src)] : Complex(0);
        full[size_t(k)] = k <= length / 2 ? v : std::conj(v);
      }
      line = std::move(full);
    }
    std::vector<Complex> result = transform(line, length, outCount, inverse);
    for (int64_t k = 0; k < outCount; ++k) {
      int64_t o = outBase + k * outStrides[size_t(axis)];
      out.setDouble(o, result[size_t(k)].real());
      if (outShape.back() == 2) out.setDouble(o + 1, result[size_t(k)].imag());
    }
  });
  ctx.setOutput(0, std::move(out));
}

void inferDft(InferContext& ctx) {
  const TensorType& x = ctx.inputType(0);
  if (!x.shape) return ctx.setOutput(0, x);
  std::vector<Dim> dims = x.shape->dims();
  if (dims.size() < 2) ctx.fail("DFT's input must have rank >= 2, found {}", x.shape->str());
  int64_t axis = -2;
  if (ctx.hasInput(2)) {
    auto a = constantScalarInt(ctx, 2, "DFT's axis");
    if (!a) return ctx.setOutput(0, TensorType::unranked(x.dtype));
    axis = *a;
  }
  axis = normalizeAxis(axis, int64_t(dims.size()));
  bool inverse = ctx.node().attrInt("inverse") != 0, onesided = ctx.node().attrInt("onesided") != 0;
  std::optional<int64_t> length;
  if (ctx.hasInput(1)) {
    length = constantScalarInt(ctx, 1, "dft_length");
  } else if (dims[size_t(axis)].isStatic()) {
    int64_t n = dims[size_t(axis)].value();
    length = inverse && onesided ? 2 * (n - 1) : n;
  }
  if (!length) dims[size_t(axis)] = Dim::unknown();
  else dims[size_t(axis)] = Dim((onesided && !inverse) ? *length / 2 + 1 : *length);
  dims.back() = Dim((onesided && inverse) ? 1 : 2);
  ctx.setOutput(0, TensorType(x.dtype, Shape(dims)));
}

// STFT(signal [batch, length, 1|2], frame_step, window?, frame_length?) ->
// [batch, frames, bins, 2].
void evalStft(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  checkSignal(x, "STFT's signal");
  if (x.rank() != 3) ctx.fail("STFT's signal must be [batch, length, 1|2], found [{}]", fmt::join(x.shape(), ","));
  int64_t step = scalarInt(ctx.input(1), "frame_step");
  bool hasWindow = ctx.hasInput(2);
  if (hasWindow && ctx.input(2).rank() != 1)
    ctx.fail("the window must be 1-D, found shape [{}]", fmt::join(ctx.input(2).shape(), ","));
  int64_t frameLength = ctx.hasInput(3) ? scalarInt(ctx.input(3), "frame_length") : hasWindow ? ctx.input(2).numel() : x.dim(1);
  if (step <= 0 || frameLength <= 0 || frameLength > x.dim(1))
    ctx.fail("frame_step {} and frame_length {} do not fit a signal of length {}", step, frameLength, x.dim(1));
  if (hasWindow && ctx.input(2).numel() != frameLength)
    ctx.fail("the window has {} values but frame_length is {}", ctx.input(2).numel(), frameLength);
  bool onesided = ctx.node().attrInt("onesided") != 0;
  bool isComplex = x.dim(2) == 2;
  int64_t frames = 1 + (x.dim(1) - frameLength) / step;
  int64_t bins = onesided ? frameLength / 2 + 1 : frameLength;
  Tensor out(x.dtype(), {x.dim(0), frames, bins, 2});
  for (int64_t b = 0; b < x.dim(0); ++b)
    for (int64_t f = 0; f < frames; ++f) {
      std::vector<Complex> frame(static_cast<size_t>(frameLength));
      for (int64_t n = 0; n < frameLength; ++n) {
        double w = hasWindow ? ctx.input(2).getDouble(n) : 1.0;
        frame[size_t(n)] = w * readComplex(x, (b * x.dim(1) + f * step + n) * x.dim(2), isComplex);
      }
      std::vector<Complex> spectrum = transform(frame, frameLength, bins, false);
      for (int64_t k = 0; k < bins; ++k) {
        int64_t o = ((b * frames + f) * bins + k) * 2;
        out.setDouble(o, spectrum[size_t(k)].real());
        out.setDouble(o + 1, spectrum[size_t(k)].imag());
      }
    }
  ctx.setOutput(0, std::move(out));
}

void inferStft(InferContext& ctx) {
  const TensorType& x = ctx.inputType(0);
  if (!x.shape || x.shape->rank() != 3) return ctx.setOutput(0, TensorType::unranked(x.dtype));
  std::vector<Dim> dims = {(*x.shape)[0], Dim::unknown(), Dim::unknown(), Dim(2)};
  auto step = constantScalarInt(ctx, 1, "frame_step");
  const auto& window = ctx.hasInput(2) ? ctx.inputShape(2) : std::nullopt;
  if (window && window->rank() != 1) ctx.fail("the window must be 1-D, found {}", window->str());
  std::optional<int64_t> frameLength;
  if (ctx.hasInput(3)) {
    frameLength = constantScalarInt(ctx, 3, "frame_length");
  } else if (window && (*window)[0].isStatic()) {
    frameLength = (*window)[0].value();
  }
  const Dim& length = (*x.shape)[1];
  if (frameLength) {
    dims[2] = Dim(ctx.node().attrInt("onesided") ? *frameLength / 2 + 1 : *frameLength);
    if (step && length.isStatic() && *step > 0) dims[1] = Dim(1 + (length.value() - *frameLength) / *step);
  }
  ctx.setOutput(0, TensorType(x.dtype, Shape(dims)));
}

}  // namespace

const OpDef kDFTDef{
    .name = "DFT", .minInputs = 1, .maxInputs = 3,
    .attrs = {{"inverse", AttrKind::Int, int64_t(0)}, {"onesided", AttrKind::Int, int64_t(0)}},
    .infer = inferDft, .eval = evalDft,
};

const OpDef kSTFTDef{
    .name = "STFT", .minInputs = 2, .maxInputs = 4,
    .attrs = {{"onesided", AttrKind::Int, int64_t(1)}},
    .infer = inferStft, .eval = evalStft,
};

}  // namespace dlc::ir
