// Resize (ONNX opset 19 form): separable nearest / linear / cubic resampling
// along the resized axes, with every coordinate_transformation_mode, the
// nearest_mode variants, antialiasing, exclude_outside, tf_crop_and_resize
// extrapolation, an `axes` subset and keep_aspect_ratio_policy for sizes.
// Also accepts the opset-11 coordinate mode "tf_half_pixel_for_nn" so that
// older models import unchanged. Arithmetic is in double, one axis at a time
// (the ONNX reference does the same, so rounding follows it closely).
#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/ops/index_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

enum class Mode { Nearest, Linear, Cubic };

Mode parseMode(const std::string& s) {
  if (s == "nearest") return Mode::Nearest;
  if (s == "linear") return Mode::Linear;
  if (s == "cubic") return Mode::Cubic;
  throwUserError("expected mode nearest, linear or cubic, found '{}'", s);
}

void checkCoordinateMode(const std::string& s) {
  static const char* const kModes[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                       "align_corners", "asymmetric", "tf_crop_and_resize",
                                       "tf_half_pixel_for_nn"};
  for (const char* m : kModes)
    if (s == m) return;
  throwUserError("unknown coordinate_transformation_mode '{}'", s);
}

void checkNearestMode(const std::string& s) {
  if (s != "round_prefer_floor" && s != "round_prefer_ceil" && s != "floor" && s != "ceil")
    throwUserError("expected nearest_mode round_prefer_floor, round_prefer_ceil, floor or ceil, found '{}'", s);
}

void checkPolicy(const std::string& s) {
  if (s != "stretch" && s != "not_larger" && s != "not_smaller")
    throwUserError("expected keep_aspect_ratio_policy stretch, not_larger or not_smaller, found '{}'", s);
}

// The resized axes: the `axes` attribute (normalised, distinct) or all axes.
std::vector<size_t> resizedAxes(const Node& node, size_t rank) {
  std::vector<size_t> axes;
  if (!node.hasAttr("axes")) {
    for (size_t i = 0; i < rank; ++i) axes.push_back(i);
    return axes;
  }
  for (int64_t a : node.attrInts("axes")) {
    size_t axis = size_t(normalizeAxis(a, int64_t(rank), "Resize axis"));
    if (std::find(axes.begin(), axes.end(), axis) != axes.end())
      throwUserError("Resize axis {} is listed twice", a);
    axes.push_back(axis);
  }
  return axes;
}

// A present, non-empty optional input (older models pass empty tensors for
// "absent").
const Tensor* presentInput(const EvalContext& ctx, size_t i) {
  if (!ctx.hasInput(i) || ctx.input(i).numel() == 0) return nullptr;
  return &ctx.input(i);
}

bool inputMaybePresent(const InferContext& ctx, size_t i) {
  if (!ctx.hasInput(i)) return false;
  const Shape* s = rankedShape(ctx, i);
  return !(s && s->numElements() == std::optional<int64_t>(0));
}

struct AxisGeometry {
  double scale = 1.0;
  int64_t outSize = 0;
  double roiStart = 0.0, roiEnd = 1.0;
  bool hasRoi = false;
};

// Output sizes and scales per axis from scales or sizes (one of them).
std::vector<AxisGeometry> resolveGeometry(const Node& node, const std::vector<int64_t>& inShape,
                                          const Tensor* roi, const Tensor* scales,
                                          const Tensor* sizes) {
  size_t rank = inShape.size();
  std::vector<size_t> axes = resizedAxes(node, rank);
  std::vector<AxisGeometry> geo(rank);
  for (size_t d = 0; d < rank; ++d) geo[d].outSize = inShape[d];
  if ((scales != nullptr) == (sizes != nullptr))
    throwUserError("expected exactly one of scales and sizes, found {}",
                   scales ? "both" : "neither");
  const Tensor& given = scales ? *scales : *sizes;
  if (given.rank() != 1 || size_t(given.numel()) != axes.size())
    throwUserError("expected {} of length {} (one per resized axis), found shape [{}]",
                   scales ? "scales" : "sizes", axes.size(), fmt::join(given.shape(), ","));
  if (roi) {
    if (size_t(roi->numel()) != 2 * axes.size())
      throwUserError("expected roi of length {}, found {}", 2 * axes.size(), roi->numel());
    for (size_t i = 0; i < axes.size(); ++i) {
      geo[axes[i]].roiStart = roi->getDouble(int64_t(i));
      geo[axes[i]].roiEnd = roi->getDouble(int64_t(axes.size() + i));
      geo[axes[i]].hasRoi = true;
    }
  }
  if (scales) {
    for (size_t i = 0; i < axes.size(); ++i) {
      double s = scales->getDouble(int64_t(i));
      if (!(s > 0) || !std::isfinite(s)) throwUserError("expected positive scales, found {}", s);
      double out = std::floor(s * double(inShape[axes[i]]));
      if (out > double(int64_t(1) << 40)) throwUserError("scale {} gives an output too large", s);
      geo[axes[i]].scale = s;
      geo[axes[i]].outSize = int64_t(out);
    }
    return geo;
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t size = sizes->getInt(int64_t(i));
    if (size < 0) throwUserError("expected non-negative sizes, found {}", size);
    if (inShape[axes[i]] == 0) throwUserError("cannot resize axis {} of extent 0 to {}", axes[i], size);
    geo[axes[i]].outSize = size;
    geo[axes[i]].scale = double(size) / double(inShape[axes[i]]);
  }
  const std::string& policy = node.attrString("keep_aspect_ratio_policy");
  checkPolicy(policy);
  if (policy != "stretch" && !axes.empty()) {
    double scale = geo[axes[0]].scale;
    for (size_t a : axes)
      scale = policy == "not_larger" ? std::min(scale, geo[a].scale) : std::max(scale, geo[a].scale);
    for (size_t a : axes) {
      geo[a].scale = scale;
      geo[a].outSize = int64_t(scale * double(inShape[a]) + 0.5);  // round half up
    }
  }
  return geo;
}

struct ResizeOptions {
  Mode mode;
  std::string coordinateMode, nearestMode;
  double cubicA, extrapolation;
  bool excludeOutside, antialias;
};

// Source coordinate of output position y along one axis; sets `outside` for
// tf_crop_and_resize positions outside the input.
double sourceCoordinate(const ResizeOptions& o, const AxisGeometry& g, int64_t inSize, double y,
                        bool& outside) {
  double in = double(inSize);
  double outF = g.scale * in;  // the fractional output extent, as ONNX defines it
  const std::string& m = o.coordinateMode;
  outside = false;
  if (m == "align_corners") return outF == 1 ? 0.0 : y * (in - 1) / (outF - 1);
  if (m == "asymmetric") return y / g.scale;
  if (m == "tf_half_pixel_for_nn") return (y + 0.5) / g.scale;
  if (m == "pytorch_half_pixel") return outF == 1 ? -0.5 : (y + 0.5) / g.scale - 0.5;
  if (m == "half_pixel") return (y + 0.5) / g.scale - 0.5;
  if (m == "half_pixel_symmetric") {
    double adjustment = double(g.outSize) / outF;
    double offset = in / 2 * (1 - adjustment);
    return offset + (y + 0.5) / g.scale - 0.5;
  }
  // tf_crop_and_resize
  double start = g.hasRoi ? g.roiStart : 0.0, end = g.hasRoi ? g.roiEnd : 1.0;
  double x = outF == 1 ? (end - start) * (in - 1) / 2 : y * (end - start) * (in - 1) / (outF - 1);
  x += start * (in - 1);
  outside = !(x >= 0 && x <= in - 1);  // NaN (from a NaN roi) counts as outside
  return x;
}

// Interpolation weights for fractional offset `ratio` in (0, 1]; weight k
// applies to neighbour floor-ish(x) - n/2 + 1 + k (see neighbour choice below).
std::vector<double> coefficients(const ResizeOptions& o, double ratio, double scale) {
  switch (o.mode) {
    case Mode::Nearest: {
      if (ratio == 1.0) return {0, 1};
      const std::string& m = o.nearestMode;
      bool up = m == "ceil" || (m == "round_prefer_floor" && ratio > 0.5) ||
                (m == "round_prefer_ceil" && ratio >= 0.5);
      return {up ? 0.0 : 1.0, up ? 1.0 : 0.0};
    }
    case Mode::Linear: {
      if (!o.antialias) return {1 - ratio, ratio};
      double s = std::min(scale, 1.0);
      int64_t start = int64_t(std::floor(-1 / s)) + 1;
      int64_t footprint = 2 - 2 * start;
      std::vector<double> c;
      double sum = 0;
      for (int64_t k = 0; k < footprint; ++k) {
        double arg = (double(start + k) - ratio) * s;
        c.push_back(std::clamp(1 - std::abs(arg), 0.0, 1.0));
        sum += c.back();
      }
      for (double& v : c) v /= sum;
      return c;
    }
    case Mode::Cubic: {
      double a = o.cubicA;
      auto kernel = [a](double x) {
        x = std::abs(x);
        if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0.0;
      };
      if (!o.antialias) return {kernel(ratio + 1), kernel(ratio), kernel(1 - ratio), kernel(2 - ratio)};
      double s = std::min(scale, 1.0);
      int64_t start = int64_t(std::floor(-2 / s)) + 1;
      std::vector<double> c;
      double sum = 0;
      for (int64_t i = start; i < 2 - start; ++i) {
        c.push_back(kernel(s * (double(i) - ratio)));
        sum += c.back();
      }
      for (double& v : c) v /= sum;
      return c;
    }
  }
  return {};
}

struct Tap {
  int64_t source;
  double weight;
};

// For each output position along one axis: its taps, or none with
// `extrapolate` set for tf_crop_and_resize positions outside the input.
struct AxisPlan {
  std::vector<std::vector<Tap>> taps;
  std::vector<bool> extrapolate;
};

AxisPlan planAxis(const ResizeOptions& o, const AxisGeometry& g, int64_t inSize) {
  AxisPlan plan;
  plan.taps.resize(size_t(g.outSize));
  plan.extrapolate.resize(size_t(g.outSize), false);
  for (int64_t y = 0; y < g.outSize; ++y) {
    bool outside = false;
    double x = sourceCoordinate(o, g, inSize, double(y), outside);
    if (outside) {
      plan.extrapolate[size_t(y)] = true;
      continue;
    }
    double base = std::floor(x);
    bool integral = x == base;
    // The taps prefer the side left of x: at an integer x the window ends at x.
    double ratio = integral ? 1.0 : x - base;
    std::vector<double> c = coefficients(o, ratio, g.scale);
    int64_t n = int64_t(c.size());
    int64_t first = int64_t(base) - (integral ? n / 2 : n / 2 - 1);
    if (o.excludeOutside) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        int64_t src = first + k;
        if (src < 0 || src >= inSize) c[size_t(k)] = 0;
        sum += c[size_t(k)];
      }
      if (sum != 0)
        for (double& v : c) v /= sum;
    }
    for (int64_t k = 0; k < n; ++k)
      if (c[size_t(k)] != 0)
        plan.taps[size_t(y)].push_back({std::clamp<int64_t>(first + k, 0, inSize - 1), c[size_t(k)]});
  }
  return plan;
}

// Resamples `data` (row-major, `shape`) along `axis` with the plan.
std::vector<double> applyAxis(const std::vector<double>& data, std::vector<int64_t>& shape,
                              size_t axis, const AxisPlan& plan, double extrapolation) {
  int64_t outer = productOf(shape, 0, axis);
  int64_t inExtent = shape[axis];
  int64_t inner = productOf(shape, axis + 1, shape.size());
  int64_t outExtent = int64_t(plan.taps.size());
  std::vector<double> out(size_t(outer * outExtent * inner), 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t y = 0; y < outExtent; ++y) {
      double* dst = &out[size_t((o * outExtent + y) * inner)];
      if (plan.extrapolate[size_t(y)]) {
        std::fill(dst, dst + inner, extrapolation);
        continue;
      }
      for (const Tap& t : plan.taps[size_t(y)]) {
        const double* src = &data[size_t((o * inExtent + t.source) * inner)];
        for (int64_t i = 0; i < inner; ++i) dst[i] += t.weight * src[i];
      }
    }
  shape[axis] = outExtent;
  return out;
}

bool isClose(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b)); }

ResizeOptions readOptions(const Node& node) {
  ResizeOptions o{parseMode(node.attrString("mode")), node.attrString("coordinate_transformation_mode"),
                  node.attrString("nearest_mode"), node.attrFloat("cubic_coeff_a"),
                  node.attrFloat("extrapolation_value"), node.attrInt("exclude_outside") != 0,
                  node.attrInt("antialias") != 0};
  checkCoordinateMode(o.coordinateMode);
  checkNearestMode(o.nearestMode);
  checkPolicy(node.attrString("keep_aspect_ratio_policy"));
  if (o.antialias && o.mode == Mode::Nearest)
    throwUserError("antialias is only defined for linear and cubic modes, found mode nearest");
  return o;
}

// Stores double results into a tensor of `dtype`: integers round half to
// even and saturate, as the ONNX reference does.
Tensor storeAs(DType dtype, const std::vector<int64_t>& shape, const std::vector<double>& values) {
  Tensor out(dtype, shape);
  dispatchDType(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto dst = out.data<T>();
    for (size_t i = 0; i < values.size(); ++i) {
      if constexpr (kIsFloatStorage<T>) {
        dst[i] = fromCompute<T>(ComputeType<T>(values[i]));
      } else {
        double v = std::nearbyint(values[i]);
        double lo = double(std::numeric_limits<T>::lowest()), hi = double(std::numeric_limits<T>::max());
        dst[i] = std::isnan(v) ? T{} : (v <= lo ? std::numeric_limits<T>::lowest()
                                                : (v >= hi ? std::numeric_limits<T>::max() : T(v)));
      }
    }
  });
  return out;
}

}  // namespace

const OpDef kResizeDef{
    .name = "Resize", .minInputs = 1, .maxInputs = 4,
    .attrs = {{"antialias", AttrKind::Int, int64_t(0)},
              {"axes", AttrKind::Ints, std::nullopt, true},
              {"coordinate_transformation_mode", AttrKind::String, std::string("half_pixel")},
              {"cubic_coeff_a", AttrKind::Float, -0.75},
              {"exclude_outside", AttrKind::Int, int64_t(0)},
              {"extrapolation_value", AttrKind::Float, 0.0},
              {"keep_aspect_ratio_policy", AttrKind::String, std::string("stretch")},
              {"mode", AttrKind::String, std::string("nearest")},
              {"nearest_mode", AttrKind::String, std::string("round_prefer_floor")}},
    .infer = [](InferContext& ctx) {
      readOptions(ctx.node());
      DType dtype = ctx.inputDType(0);
      if (dtype == DType::Bool) ctx.fail("expected a numeric input, found bool");
      bool hasScales = inputMaybePresent(ctx, 2), hasSizes = inputMaybePresent(ctx, 3);
      if (!hasScales && !hasSizes) ctx.fail("expected scales or sizes, found neither");
      if (hasScales && !isFloat(ctx.inputDType(2)))
        ctx.fail("expected float scales, found {}", dtypeName(ctx.inputDType(2)));
      if (hasSizes && ctx.inputDType(3) != DType::I64)
        ctx.fail("expected i64 sizes, found {}", dtypeName(ctx.inputDType(3)));
      const Shape* in = rankedShape(ctx, 0);
      if (!in) return ctx.setOutput(0, TensorType::unranked(dtype));
      std::vector<Dim> dims(in->rank(), Dim::unknown());
      const Tensor* scales = hasScales ? ctx.constantInput(2) : nullptr;
      const Tensor* sizes = hasSizes ? ctx.constantInput(3) : nullptr;
      if (scales && scales->numel() == 0) scales = nullptr;
      if (sizes && sizes->numel() == 0) sizes = nullptr;
      std::vector<size_t> axes = resizedAxes(ctx.node(), in->rank());
      if (in->isStatic() && (scales || sizes) && !(hasScales && !scales) && !(hasSizes && !sizes)) {
        const Tensor* roi = ctx.hasInput(1) ? ctx.constantInput(1) : nullptr;
        if (roi && roi->numel() == 0) roi = nullptr;
        auto geo = resolveGeometry(ctx.node(), in->extents(), roi, scales, sizes);
        for (size_t d = 0; d < dims.size(); ++d) dims[d] = Dim(geo[d].outSize);
      } else {
        // Unresized axes keep their dims (symbolic ones included), as do
        // axes with scale 1; static dims with a known scale, and sizes under
        // stretch, give static dims.
        for (size_t d = 0; d < dims.size(); ++d)
          if (std::find(axes.begin(), axes.end(), d) == axes.end()) dims[d] = (*in)[d];
        bool stretch = ctx.node().attrString("keep_aspect_ratio_policy") == "stretch";
        for (size_t i = 0; i < axes.size(); ++i) {
          const Dim& inDim = (*in)[axes[i]];
          if (scales && i < size_t(scales->numel())) {
            double s = scales->getDouble(int64_t(i));
            if (s == 1.0) dims[axes[i]] = inDim;
            else if (inDim.isStatic() && s > 0 && std::isfinite(s))
              dims[axes[i]] = Dim(int64_t(std::floor(s * double(inDim.value()))));
          }
          if (sizes && stretch && i < size_t(sizes->numel())) dims[axes[i]] = Dim(sizes->getInt(int64_t(i)));
        }
      }
      ctx.setOutput(0, TensorType(dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& x = ctx.input(0);
      ResizeOptions o = readOptions(ctx.node());
      std::vector<int64_t> shape = x.shape();
      auto geo = resolveGeometry(ctx.node(), shape, presentInput(ctx, 1), presentInput(ctx, 2),
                                 presentInput(ctx, 3));
      // Refuse absurd output sizes before allocating any buffer.
      std::vector<int64_t> finalShape;
      for (const AxisGeometry& g : geo) finalShape.push_back(g.outSize);
      if (checkedNumElements(finalShape) > kDefaultMaxTensorBytes / int64_t(sizeof(double)))
        ctx.fail("output shape [{}] is too large", fmt::join(finalShape, ","));
      std::vector<double> data(static_cast<size_t>(x.numel()));
      for (int64_t i = 0; i < x.numel(); ++i) data[size_t(i)] = x.getDouble(i);
      for (size_t axis : resizedAxes(ctx.node(), shape.size())) {
        const AxisGeometry& g = geo[axis];
        bool identityRoi = !g.hasRoi || (isClose(g.roiStart, 0.0) && isClose(g.roiEnd, 1.0));
        if (isClose(g.scale, 1.0) && g.outSize == shape[axis] && identityRoi) continue;
        if (shape[axis] == 0 && g.outSize > 0)
          ctx.fail("cannot resize axis {} of extent 0 to {}", axis, g.outSize);
        data = applyAxis(data, shape, axis, planAxis(o, g, shape[axis]), o.extrapolation);
      }
      ctx.setOutput(0, storeAs(x.dtype(), shape, data));
    },
};

}  // namespace dlc::ir
