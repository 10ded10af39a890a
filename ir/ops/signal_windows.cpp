// Window functions and the mel filter bank: generators whose output length
// comes from a scalar input. `output_datatype` holds a dtype name ("f32").
#include <cmath>
#include <numbers>

#include "ir/ops/op_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

DType outputDType(const Node& node) {
  const std::string& name = node.attrString("output_datatype");
  auto t = parseDType(name);
  if (!t) throwUserError("output_datatype '{}' is not a dtype", name);
  return *t;
}

void inferWindow(InferContext& ctx) {
  Dim length = Dim::unknown();
  if (auto size = constantInts(ctx, 0); size && size->size() == 1) length = Dim((*size)[0]);
  ctx.setOutput(0, TensorType(outputDType(ctx.node()), Shape(std::vector<Dim>{length})));
}

// Fills a window of the input's length from w(n, denominator).
void evalWindow(EvalContext& ctx, double (*w)(double n, double denominator)) {
  int64_t size = scalarInt(ctx.input(0), "the window size");
  if (size < 0) ctx.fail("window size {} is negative", size);
  bool periodic = ctx.node().attrInt("periodic") != 0;
  double denominator = double(periodic ? size : size - 1);
  Tensor out(outputDType(ctx.node()), {size});
  for (int64_t n = 0; n < size; ++n) out.setDouble(n, w(double(n), denominator));
  ctx.setOutput(0, std::move(out));
}

std::vector<AttrSpec> windowAttrs() {
  return {{"output_datatype", AttrKind::String, std::string("f32")}, {"periodic", AttrKind::Int, int64_t(1)}};
}

constexpr double kPi = std::numbers::pi;

}  // namespace

const OpDef kHannWindowDef{
    .name = "HannWindow", .minInputs = 1, .maxInputs = 1, .attrs = windowAttrs(), .infer = inferWindow,
    .eval = [](EvalContext& ctx) {
      evalWindow(ctx, [](double n, double d) { return std::pow(std::sin(kPi * n / d), 2); });
    },
};

const OpDef kHammingWindowDef{
    .name = "HammingWindow", .minInputs = 1, .maxInputs = 1, .attrs = windowAttrs(), .infer = inferWindow,
    .eval = [](EvalContext& ctx) {
      evalWindow(ctx, [](double n, double d) {
        constexpr double alpha = 25.0 / 46.0;
        return alpha - (1 - alpha) * std::cos(2 * kPi * n / d);
      });
    },
};

const OpDef kBlackmanWindowDef{
    .name = "BlackmanWindow", .minInputs = 1, .maxInputs = 1, .attrs = windowAttrs(), .infer = inferWindow,
    .eval = [](EvalContext& ctx) {
      evalWindow(ctx, [](double n, double d) {
        return 0.42 - 0.5 * std::cos(2 * kPi * n / d) + 0.08 * std::cos(4 * kPi * n / d);
      });
    },
};

// Triangular filters evenly spaced on the mel scale, mapping the
// dft_length/2+1 spectrogram bins to num_mel_bins.
const OpDef kMelWeightMatrixDef{
    .name = "MelWeightMatrix", .minInputs = 5, .maxInputs = 5,
    .attrs = {{"output_datatype", AttrKind::String, std::string("f32")}},
    .infer = [](InferContext& ctx) {
      Dim bins = Dim::unknown(), mels = Dim::unknown();
      if (auto n = constantInts(ctx, 0); n && n->size() == 1) mels = Dim((*n)[0]);
      if (auto d = constantInts(ctx, 1); d && d->size() == 1) bins = Dim((*d)[0] / 2 + 1);
      ctx.setOutput(0, TensorType(outputDType(ctx.node()), Shape(std::vector<Dim>{bins, mels})));
    },
    .eval = [](EvalContext& ctx) {
      int64_t numMel = scalarInt(ctx.input(0), "num_mel_bins");
      int64_t dftLength = scalarInt(ctx.input(1), "dft_length");
      int64_t sampleRate = scalarInt(ctx.input(2), "sample_rate");
      double lower = scalarDouble(ctx.input(3), "lower_edge_hertz"), upper = scalarDouble(ctx.input(4), "upper_edge_hertz");
      if (numMel <= 0 || dftLength <= 0 || sampleRate <= 0)
        ctx.fail("num_mel_bins, dft_length and sample_rate must be positive, found {}, {}, {}", numMel, dftLength,
                 sampleRate);
      int64_t numBins = dftLength / 2 + 1;
      auto toMel = [](double hz) { return 2595 * std::log1p(hz / 700) / std::log(10.0); };
      double lowMel = toMel(lower), highMel = toMel(upper);
      double step = (highMel - lowMel) / double(numMel + 2);
      std::vector<int64_t> edges(size_t(numMel + 2));
      for (int64_t i = 0; i < numMel + 2; ++i) {
        double hz = 700 * std::expm1((double(i) * step + lowMel) / 2595 * std::log(10.0));
        edges[size_t(i)] = int64_t(std::floor(double(dftLength + 1) * hz / double(sampleRate)));
      }
      Tensor out(outputDType(ctx.node()), {numBins, numMel});
      auto set = [&](int64_t bin, int64_t mel, double v) {
        if (bin < 0 || bin >= numBins) throwUserError("mel filter edge {} is outside the {} spectrogram bins", bin, numBins);
        out.setDouble(bin * numMel + mel, v);
      };
      for (int64_t m = 0; m < numMel; ++m) {
        int64_t left = edges[size_t(m)], center = edges[size_t(m) + 1], right = edges[size_t(m) + 2];
        if (center == left) set(center, m, 1);
        else
          for (int64_t j = left; j <= center; ++j) set(j, m, double(j - left) / double(center - left));
        if (right > center)
          for (int64_t j = center; j < right; ++j) set(j, m, double(right - j) / double(right - center));
      }
      ctx.setOutput(0, std::move(out));
    },
};

}  // namespace dlc::ir
