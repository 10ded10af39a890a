#include "ir/ops/nn_util.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dlc::ir::ops {

std::string extentsStr(const std::vector<int64_t>& v) { return fmt::format("[{}]", fmt::join(v, ",")); }

static std::vector<int64_t> listAttr(const Node& node, const char* name, size_t n, int64_t fill) {
  if (!node.def().findAttr(name) || !node.hasAttr(name)) return std::vector<int64_t>(n, fill);
  std::vector<int64_t> v = node.attrInts(name);
  if (v.empty()) return std::vector<int64_t>(n, fill);
  if (v.size() != n)
    throwUserError("{}: attribute '{}' must have {} entries, found {}", node.describe(), name, n, v.size());
  return v;
}

WindowAttrs readWindowAttrs(const Node& node, size_t spatialRank, std::vector<int64_t> kernel) {
  WindowAttrs w;
  if (kernel.size() != spatialRank)
    throwUserError("{}: kernel must have {} spatial dims, found {}", node.describe(), spatialRank,
                   extentsStr(kernel));
  for (int64_t k : kernel)
    if (k <= 0) throwUserError("{}: kernel extents must be positive, found {}", node.describe(), extentsStr(kernel));
  w.kernel = std::move(kernel);
  w.strides = listAttr(node, "strides", spatialRank, 1);
  w.dilations = listAttr(node, "dilations", spatialRank, 1);
  w.pads = listAttr(node, "pads", 2 * spatialRank, 0);
  for (int64_t s : w.strides)
    if (s <= 0) throwUserError("{}: strides must be positive, found {}", node.describe(), extentsStr(w.strides));
  for (int64_t d : w.dilations)
    if (d <= 0) throwUserError("{}: dilations must be positive, found {}", node.describe(), extentsStr(w.dilations));
  for (int64_t p : w.pads)
    if (p < 0) throwUserError("{}: pads must be non-negative, found {}", node.describe(), extentsStr(w.pads));
  if (node.def().findAttr("auto_pad")) w.autoPad = node.attrString("auto_pad");
  if (w.autoPad != "NOTSET" && w.autoPad != "SAME_UPPER" && w.autoPad != "SAME_LOWER" && w.autoPad != "VALID")
    throwUserError("{}: auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, found '{}'", node.describe(),
                   w.autoPad);
  if (node.def().findAttr("ceil_mode")) w.ceilMode = node.attrInt("ceil_mode") != 0;
  return w;
}

WindowDim windowDim(const WindowAttrs& w, size_t i, int64_t in) {
  // Every quantity below 2^40 keeps the arithmetic far from overflow (a
  // model may claim any extent or attribute).
  constexpr int64_t kMax = int64_t(1) << 40;
  size_t r0 = w.kernel.size();
  for (int64_t v : {in, w.kernel[i], w.dilations[i], w.strides[i], w.pads.size() > i ? w.pads[i] : 0,
                    w.pads.size() > i + r0 ? w.pads[i + r0] : 0})
    if (v < 0 || v > kMax)
      throwUserError("spatial dim {}: extent {}, kernel {}, dilation {} or stride {} (or a pad) is out of range "
                     "[0, 2^40]",
                     i, in, w.kernel[i], w.dilations[i], w.strides[i]);
  int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;  // the dilated kernel's extent
  int64_t s = w.strides[i];
  WindowDim r;
  if (w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER") {
    r.output = (in + s - 1) / s;
    int64_t total = std::max<int64_t>(0, (r.output - 1) * s + span - in);
    int64_t small = total / 2, large = total - small;
    r.padBegin = w.autoPad == "SAME_UPPER" ? small : large;
    r.padEnd = w.autoPad == "SAME_UPPER" ? large : small;
    return r;
  }
  if (w.autoPad == "NOTSET") {
    r.padBegin = w.pads[i];
    r.padEnd = w.pads[i + w.kernel.size()];
  }
  int64_t room = in + r.padBegin + r.padEnd - span;
  if (room < 0)
    throwUserError("spatial dim {} of extent {} (padded {}) is smaller than the dilated kernel extent {}", i, in,
                   in + r.padBegin + r.padEnd, span);
  r.output = (w.ceilMode ? (room + s - 1) / s : room / s) + 1;
  // With ceil_mode the last window must still start inside the input or the begin pad.
  if (w.ceilMode && (r.output - 1) * s >= in + r.padBegin) --r.output;
  return r;
}

std::vector<Dim> windowOutputDims(const WindowAttrs& w, const Shape& inShape) {
  std::vector<Dim> dims;
  for (size_t i = 0; i < w.kernel.size(); ++i) {
    const Dim& d = inShape[i + 2];
    if (d.isStatic()) {
      dims.push_back(windowDim(w, i, d.value()).output);
      continue;
    }
    // A stride-1 window that keeps the extent (SAME padding, or a 1-wide
    // kernel without pads) keeps a symbolic dim too.
    bool same = w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER";
    bool pointwise = w.kernel[i] == 1 && (w.autoPad != "NOTSET" || (w.pads[i] == 0 && w.pads[i + w.kernel.size()] == 0));
    dims.push_back(w.strides[i] == 1 && (same || pointwise) ? d : Dim::unknown());
  }
  return dims;
}

Window3 windowOver(const WindowAttrs& w, const std::vector<int64_t>& in) {
  std::vector<int64_t> out, padBegin, padEnd;
  for (size_t i = 0; i < in.size(); ++i) {
    WindowDim d = windowDim(w, i, in[i]);
    out.push_back(d.output);
    padBegin.push_back(d.padBegin);
    padEnd.push_back(d.padEnd);
  }
  return makeWindow3(in, out, w, padBegin, padEnd);
}

Window3 makeWindow3(const std::vector<int64_t>& in, const std::vector<int64_t>& out, const WindowAttrs& w,
                    const std::vector<int64_t>& padBegin, const std::vector<int64_t>& padEnd) {
  size_t n = in.size();
  if (n == 0 || n > 3)
    throw UnsupportedError(fmt::format("window ops support 1 to 3 spatial dims, found {}", n));
  Window3 g;
  size_t off = 3 - n;
  for (size_t i = 0; i < n; ++i) {
    g.in[off + i] = in[i];
    g.out[off + i] = out[i];
    g.kernel[off + i] = w.kernel[i];
    g.stride[off + i] = w.strides[i];
    g.dilation[off + i] = w.dilations[i];
    g.padBegin[off + i] = padBegin[i];
    g.padEnd[off + i] = padEnd[i];
  }
  return g;
}

void requireFloatInput(const InferContext& ctx, size_t i, const char* what) {
  DType t = ctx.inputDType(i);
  if (!isFloat(t)) ctx.fail("{} must be a floating-point tensor, found {}", what, dtypeName(t));
}

const Shape* rankedAtLeast(const InferContext& ctx, size_t i, size_t minRank, const char* what) {
  const auto& s = ctx.inputShape(i);
  if (!s) return nullptr;
  if (s->rank() < minRank) ctx.fail("{} must have rank >= {}, found {}", what, minRank, s->str());
  return &*s;
}

}  // namespace dlc::ir::ops
