// Sampling ops: GridSample (ONNX opset 20 form, any number of spatial dims)
// and RoiAlign (opset 16 form). Arithmetic in double.
#include <cmath>

#include "ir/ops/index_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// Reflects x into [lo, hi] by bouncing off the borders.
double reflect(double x, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0 || !std::isfinite(x)) return lo;
  if (x >= lo && x <= hi) return x;
  bool below = x < lo;
  double dx = below ? lo - x : x - hi;
  double n = std::floor(dx / range);
  double r = dx - n * range;
  bool even = std::fmod(n, 2.0) == 0;
  if (below) return even ? lo + r : hi - r;
  return even ? hi - r : lo + r;
}

double keysCubic(double x) {
  constexpr double a = -0.75;
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

struct Tap {
  int64_t index;  // -1: reads zero padding
  double weight;
};

enum class GridMode { Nearest, Linear, Cubic };
enum class Padding { Zeros, Border, Reflection };

GridMode parseGridMode(const std::string& s) {
  if (s == "nearest") return GridMode::Nearest;
  if (s == "linear") return GridMode::Linear;
  if (s == "cubic") return GridMode::Cubic;
  throwUserError("expected GridSample mode nearest, linear or cubic, found '{}'", s);
}

Padding parsePadding(const std::string& s) {
  if (s == "zeros") return Padding::Zeros;
  if (s == "border") return Padding::Border;
  if (s == "reflection") return Padding::Reflection;
  throwUserError("expected padding_mode zeros, border or reflection, found '{}'", s);
}

// Taps along one spatial dim of extent `size` for normalised coordinate g.
std::vector<Tap> gridTaps(double g, int64_t size, GridMode mode, Padding padding, bool alignCorners) {
  double n = double(size);
  double x = alignCorners ? (g + 1) / 2 * (n - 1) : ((g + 1) * n - 1) / 2;
  double lo = alignCorners ? 0.0 : -0.5, hi = alignCorners ? n - 1 : n - 0.5;
  // A NaN coordinate reads nothing (zero), whatever the padding.
  if (std::isnan(x)) return {{-1, 0.0}};
  if (mode == GridMode::Nearest) x = std::nearbyint(x);
  if (x < lo || x > hi) {
    if (padding == Padding::Border) x = std::clamp(x, 0.0, n - 1);
    else if (padding == Padding::Reflection) x = reflect(x, lo, hi);
  }
  // Far outside (zeros padding) every tap reads zero; clamping keeps the
  // integer conversions below defined for huge coordinates.
  x = std::clamp(x, -8.0, n + 8);
  auto pixel = [&](int64_t i) -> int64_t {
    if (padding == Padding::Zeros) return i >= 0 && i < size ? i : -1;
    if (padding == Padding::Border) return std::clamp<int64_t>(i, 0, size - 1);
    return std::clamp<int64_t>(int64_t(reflect(double(i), lo, hi)), 0, size - 1);
  };
  if (mode == GridMode::Nearest) return {{pixel(int64_t(x)), 1.0}};
  int64_t x0 = int64_t(std::floor(x));
  double t = x - double(x0);
  if (mode == GridMode::Linear) return {{pixel(x0), 1 - t}, {pixel(x0 + 1), t}};
  return {{pixel(x0 - 1), keysCubic(t + 1)}, {pixel(x0), keysCubic(t)},
          {pixel(x0 + 1), keysCubic(1 - t)}, {pixel(x0 + 2), keysCubic(2 - t)}};
}

}  // namespace

// GridSample: X [N, C, D1..Dr], grid [N, O1..Or, r] with normalised
// coordinates in [-1, 1], the last grid component indexing the last spatial
// dim (x is width); output [N, C, O1..Or].
const OpDef kGridSampleDef{
    .name = "GridSample", .minInputs = 2, .maxInputs = 2,
    .attrs = {{"align_corners", AttrKind::Int, int64_t(0)},
              {"mode", AttrKind::String, std::string("linear")},
              {"padding_mode", AttrKind::String, std::string("zeros")}},
    .infer = [](InferContext& ctx) {
      parseGridMode(ctx.node().attrString("mode"));
      parsePadding(ctx.node().attrString("padding_mode"));
      DType dtype = ctx.inputDType(0);
      if (!isFloat(dtype) || !isFloat(ctx.inputDType(1)))
        ctx.fail("expected float X and grid, found {} and {}", dtypeName(dtype),
                 dtypeName(ctx.inputDType(1)));
      const Shape* x = rankedShape(ctx, 0);
      const Shape* grid = rankedShape(ctx, 1);
      if (!x || !grid) return ctx.setOutput(0, TensorType::unranked(dtype));
      if (x->rank() < 3 || grid->rank() != x->rank())
        ctx.fail("expected X of rank >= 3 and grid of the same rank, found {} and {}", x->str(),
                 grid->str());
      const Dim& last = grid->dims().back();
      if (last.isStatic() && last.value() != int64_t(x->rank()) - 2)
        ctx.fail("expected grid's last dim to be {} (spatial rank), found {}", x->rank() - 2,
                 last.value());
      std::vector<Dim> dims = {(*x)[0], (*x)[1]};
      dims.insert(dims.end(), grid->dims().begin() + 1, grid->dims().end() - 1);
      ctx.setOutput(0, TensorType(dtype, Shape(dims)));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& grid = ctx.input(1);
      size_t r = x.rank() >= 2 ? x.rank() - 2 : 0;
      if (x.rank() < 3 || grid.rank() != x.rank() || grid.shape().back() != int64_t(r) ||
          grid.dim(0) != x.dim(0))
        ctx.fail("expected X [N,C,D1..Dr] and grid [N,O1..Or,r], found [{}] and [{}]",
                 fmt::join(x.shape(), ","), fmt::join(grid.shape(), ","));
      GridMode mode = parseGridMode(ctx.node().attrString("mode"));
      Padding padding = parsePadding(ctx.node().attrString("padding_mode"));
      bool alignCorners = ctx.node().attrInt("align_corners") != 0;
      std::vector<int64_t> spatialOut(grid.shape().begin() + 1, grid.shape().end() - 1);
      std::vector<int64_t> outShape = {x.dim(0), x.dim(1)};
      outShape.insert(outShape.end(), spatialOut.begin(), spatialOut.end());
      Tensor out(x.dtype(), outShape);
      int64_t batch = x.dim(0), channels = x.dim(1);
      std::vector<int64_t> spatialIn(x.shape().begin() + 2, x.shape().end());
      std::vector<int64_t> inStrides = contiguousStrides(spatialIn);
      int64_t inPlane = productOf(spatialIn, 0, r);
      int64_t outPlane = productOf(spatialOut, 0, r);
      std::vector<std::vector<Tap>> taps(r);
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t p = 0; p < outPlane; ++p) {
          int64_t g = (n * outPlane + p) * int64_t(r);
          // Grid components are (x, y, z...): component r-1-d indexes dim d.
          for (size_t d = 0; d < r; ++d)
            taps[d] = gridTaps(grid.getDouble(g + int64_t(r - 1 - d)), spatialIn[d], mode, padding,
                               alignCorners);
          for (int64_t c = 0; c < channels; ++c) {
            int64_t base = (n * channels + c) * inPlane;
            double sum = 0;
            // Sum over the cartesian product of the per-dim taps.
            std::vector<size_t> pick(r, 0);
            while (true) {
              double w = 1;
              int64_t offset = base;
              for (size_t d = 0; d < r && w != 0; ++d) {
                const Tap& t = taps[d][pick[d]];
                if (t.index < 0) w = 0;
                else {
                  w *= t.weight;
                  offset += t.index * inStrides[d];
                }
              }
              if (w != 0) sum += w * x.getDouble(offset);
              size_t d = r;
              while (d > 0 && ++pick[d - 1] == taps[d - 1].size()) pick[--d] = 0;
              if (d == 0) break;
            }
            out.setDouble((n * channels + c) * outPlane + p, sum);
          }
        }
      ctx.setOutput(0, std::move(out));
    },
};

// RoiAlign: for each region of interest (x1, y1, x2, y2 in input
// coordinates times spatial_scale), average (or max) bilinear samples on a
// sampling_ratio grid per output bin. X [N,C,H,W], rois [R,4],
// batch_indices [R] -> [R, C, output_height, output_width].
const OpDef kRoiAlignDef{
    .name = "RoiAlign", .minInputs = 3, .maxInputs = 3,
    .attrs = {{"coordinate_transformation_mode", AttrKind::String, std::string("half_pixel")},
              {"mode", AttrKind::String, std::string("avg")},
              {"output_height", AttrKind::Int, int64_t(1)},
              {"output_width", AttrKind::Int, int64_t(1)},
              {"sampling_ratio", AttrKind::Int, int64_t(0)},
              {"spatial_scale", AttrKind::Float, 1.0}},
    .infer = [](InferContext& ctx) {
      const Node& node = ctx.node();
      const std::string& ctm = node.attrString("coordinate_transformation_mode");
      if (ctm != "half_pixel" && ctm != "output_half_pixel")
        ctx.fail("expected coordinate_transformation_mode half_pixel or output_half_pixel, found '{}'", ctm);
      const std::string& mode = node.attrString("mode");
      if (mode != "avg" && mode != "max") ctx.fail("expected mode avg or max, found '{}'", mode);
      if (node.attrInt("output_height") < 1 || node.attrInt("output_width") < 1 ||
          node.attrInt("sampling_ratio") < 0)
        ctx.fail("expected positive output sizes and a non-negative sampling_ratio");
      DType dtype = ctx.inputDType(0);
      if (!isFloat(dtype)) ctx.fail("expected a float X, found {}", dtypeName(dtype));
      requireIndexDType(ctx, 2, "RoiAlign batch_indices");
      const Shape* x = rankedShape(ctx, 0);
      const Shape* rois = rankedShape(ctx, 1);
      if (x && x->rank() != 4) ctx.fail("expected X of rank 4, found {}", x->str());
      if (rois && (rois->rank() != 2 || ((*rois)[1].isStatic() && (*rois)[1].value() != 4)))
        ctx.fail("expected rois of shape [R, 4], found {}", rois->str());
      ctx.setOutput(0, TensorType(dtype, Shape({rois ? (*rois)[0] : Dim::unknown(),
                                                x ? (*x)[1] : Dim::unknown(),
                                                Dim(node.attrInt("output_height")),
                                                Dim(node.attrInt("output_width"))})));
    },
    .eval = [](EvalContext& ctx) {
      const Node& node = ctx.node();
      const Tensor& x = ctx.input(0);
      const Tensor& rois = ctx.input(1);
      std::vector<int64_t> batchIndices = ctx.input(2).toInts();
      if (x.rank() != 4 || rois.rank() != 2 || rois.dim(1) != 4 ||
          int64_t(batchIndices.size()) != rois.dim(0))
        ctx.fail("expected X [N,C,H,W], rois [R,4] and batch_indices [R], found [{}], [{}], [{}]",
                 fmt::join(x.shape(), ","), fmt::join(rois.shape(), ","), batchIndices.size());
      int64_t outH = node.attrInt("output_height"), outW = node.attrInt("output_width");
      int64_t samplingRatio = node.attrInt("sampling_ratio");
      if (outH < 1 || outW < 1 || samplingRatio < 0)
        ctx.fail("expected positive output sizes and a non-negative sampling_ratio");
      double scale = node.attrFloat("spatial_scale");
      bool halfPixel = node.attrString("coordinate_transformation_mode") == "half_pixel";
      bool maxMode = node.attrString("mode") == "max";
      int64_t channels = x.dim(1), height = x.dim(2), width = x.dim(3);
      int64_t numRois = rois.dim(0);
      Tensor out(x.dtype(), {numRois, channels, outH, outW});
      struct Sample {
        int64_t pos[4];
        double w[4];
      };
      for (int64_t r = 0; r < numRois; ++r) {
        int64_t b = batchIndices[size_t(r)];
        if (b < 0 || b >= x.dim(0))
          ctx.fail("batch index {} is out of range [0, {})", b, x.dim(0));
        double offset = halfPixel ? 0.5 : 0.0;
        double startW = rois.getDouble(r * 4 + 0) * scale - offset;
        double startH = rois.getDouble(r * 4 + 1) * scale - offset;
        double roiW = rois.getDouble(r * 4 + 2) * scale - offset - startW;
        double roiH = rois.getDouble(r * 4 + 3) * scale - offset - startH;
        if (!halfPixel) {
          roiW = std::max(roiW, 1.0);
          roiH = std::max(roiH, 1.0);
        }
        if (!std::isfinite(startH) || !std::isfinite(startW) || !std::isfinite(roiH) ||
            !std::isfinite(roiW) || std::abs(startH) > 1e9 || std::abs(startW) > 1e9 ||
            std::abs(roiH) > 1e9 || std::abs(roiW) > 1e9)
          ctx.fail("roi {} has non-finite or huge coordinates", r);
        double binH = roiH / double(outH), binW = roiW / double(outW);
        int64_t gridH = samplingRatio > 0 ? samplingRatio : int64_t(std::ceil(roiH / double(outH)));
        int64_t gridW = samplingRatio > 0 ? samplingRatio : int64_t(std::ceil(roiW / double(outW)));
        gridH = std::max<int64_t>(gridH, 0);
        gridW = std::max<int64_t>(gridW, 0);
        if (double(gridH) * double(gridW) * double(outH) * double(outW) > 1e8)
          ctx.fail("roi {} needs {}x{} samples per bin; too many", r, gridH, gridW);
        double count = double(std::max<int64_t>(gridH * gridW, 1));
        // Bilinear sample positions and weights, shared by all channels.
        std::vector<Sample> samples;
        samples.reserve(size_t(outH * outW * gridH * gridW));
        for (int64_t ph = 0; ph < outH; ++ph)
          for (int64_t pw = 0; pw < outW; ++pw)
            for (int64_t iy = 0; iy < gridH; ++iy) {
              double y0 = startH + double(ph) * binH + (double(iy) + 0.5) * binH / double(gridH);
              for (int64_t ix = 0; ix < gridW; ++ix) {
                double xx = startW + double(pw) * binW + (double(ix) + 0.5) * binW / double(gridW);
                double y = y0;
                if (y < -1.0 || y > double(height) || xx < -1.0 || xx > double(width)) {
                  samples.push_back({{0, 0, 0, 0}, {0, 0, 0, 0}});
                  continue;
                }
                y = std::max(y, 0.0);
                xx = std::max(xx, 0.0);
                int64_t yLow = int64_t(y), xLow = int64_t(xx), yHigh, xHigh;
                if (yLow >= height - 1) {
                  yHigh = yLow = height - 1;
                  y = double(yLow);
                } else {
                  yHigh = yLow + 1;
                }
                if (xLow >= width - 1) {
                  xHigh = xLow = width - 1;
                  xx = double(xLow);
                } else {
                  xHigh = xLow + 1;
                }
                double ly = y - double(yLow), lx = xx - double(xLow), hy = 1 - ly, hx = 1 - lx;
                samples.push_back({{yLow * width + xLow, yLow * width + xHigh, yHigh * width + xLow,
                                    yHigh * width + xHigh},
                                   {hy * hx, hy * lx, ly * hx, ly * lx}});
              }
            }
        int64_t perBin = gridH * gridW;
        for (int64_t c = 0; c < channels; ++c) {
          int64_t base = (b * channels + c) * height * width;
          for (int64_t bin = 0; bin < outH * outW; ++bin) {
            double acc = 0;
            for (int64_t s = 0; s < perBin; ++s) {
              const Sample& sm = samples[size_t(bin * perBin + s)];
              double v[4];
              for (int k = 0; k < 4; ++k) v[k] = sm.w[k] * x.getDouble(base + sm.pos[k]);
              // Max mode takes the largest weighted corner, as the ONNX reference does.
              if (maxMode) {
                double m = std::max({v[0], v[1], v[2], v[3]});
                acc = s == 0 ? m : std::max(acc, m);
              } else {
                acc += v[0] + v[1] + v[2] + v[3];
              }
            }
            out.setDouble((r * channels + c) * outH * outW + bin, maxMode ? acc : acc / count);
          }
        }
      }
      ctx.setOutput(0, std::move(out));
    },
};

}  // namespace dlc::ir
