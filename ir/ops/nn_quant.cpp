// Linear quantization: QuantizeLinear, DequantizeLinear (per tensor, per axis
// and blocked), DynamicQuantizeLinear, and the integer / quantized forms of
// MatMul and Conv. Integer products are exact in double (|v| < 2^53).
#include <cmath>
#include <limits>

#include "ir/ops/nn_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// The saturation range of a quantized integer type.
std::pair<double, double> quantRange(DType t) {
  switch (t) {
    case DType::U8: return {0, 255};
    case DType::I8: return {-128, 127};
    case DType::U16: return {0, 65535};
    case DType::I16: return {-32768, 32767};
    case DType::I32: return {double(std::numeric_limits<int32_t>::min()), double(std::numeric_limits<int32_t>::max())};
    default: break;
  }
  throw UnsupportedError(fmt::format("quantized type {} is not supported (expected u8, i8, u16 or i16)", dtypeName(t)));
}

bool isQuantType(DType t) { return t == DType::U8 || t == DType::I8 || t == DType::U16 || t == DType::I16; }

// The IR dtype for an ONNX TensorProto data type code (output_dtype).
DType dtypeFromOnnxCode(int64_t code) {
  switch (code) {
    case 2: return DType::U8;
    case 3: return DType::I8;
    case 4: return DType::U16;
    case 5: return DType::I16;
    default: break;
  }
  throw UnsupportedError(fmt::format("output_dtype {} is not supported (float8 and 4-bit types are out of scope)", code));
}

// Maps each element of x (by flat index) to its entry in a scale or
// zero-point tensor: per tensor (one element), per axis (1-D along `axis`)
// or blocked (x's rank, `axis` divided into blocks of blockSize).
class QuantParamIndex {
 public:
  QuantParamIndex(const std::vector<int64_t>& xShape, const std::vector<int64_t>& pShape, int64_t axis,
                  int64_t blockSize, const char* what)
      : xShape_(xShape) {
    int64_t count = checkedNumElements(pShape);
    if (pShape.size() <= 1 && count == 1 && blockSize == 0) return;  // per tensor
    if (xShape.empty()) throwUserError("{} must be a scalar for a scalar input, found {}", what, extentsStr(pShape));
    axis_ = normalizeAxis(axis, int64_t(xShape.size()));
    if (blockSize == 0) {
      if (pShape.size() != 1 || pShape[0] != xShape[size_t(axis_)])
        throwUserError("{} must be a scalar or have shape [{}] (axis {}), found {}", what, xShape[size_t(axis_)],
                       axis_, extentsStr(pShape));
      mode_ = Mode::Axis;
      inner_ = 1;
      for (size_t d = size_t(axis_) + 1; d < xShape.size(); ++d) inner_ *= xShape[d];
      extent_ = pShape[0];
      return;
    }
    if (blockSize < 0) throwUserError("block_size must be non-negative, found {}", blockSize);
    std::vector<int64_t> want = xShape;
    want[size_t(axis_)] = (xShape[size_t(axis_)] + blockSize - 1) / blockSize;
    if (pShape != want)
      throwUserError("{} must have shape {} for block_size {}, found {}", what, extentsStr(want), blockSize,
                     extentsStr(pShape));
    mode_ = Mode::Block;
    block_ = blockSize;
    pStrides_ = contiguousStrides(pShape);
  }

  int64_t operator()(int64_t flat) const {
    if (mode_ == Mode::Tensor) return 0;
    if (mode_ == Mode::Axis) return (flat / inner_) % extent_;
    int64_t offset = 0;
    for (size_t d = xShape_.size(); d-- > 0;) {
      int64_t c = flat % xShape_[d];
      flat /= xShape_[d];
      offset += (int64_t(d) == axis_ ? c / block_ : c) * pStrides_[d];
    }
    return offset;
  }

 private:
  enum class Mode { Tensor, Axis, Block };
  Mode mode_ = Mode::Tensor;
  std::vector<int64_t> xShape_, pStrides_;
  int64_t axis_ = 0, inner_ = 1, extent_ = 1, block_ = 1;
};

// ---- QuantizeLinear ----

DType quantizeOutputType(const Node& node, std::optional<DType> zeroPointType) {
  if (zeroPointType) return *zeroPointType;
  int64_t code = node.attrInt("output_dtype");
  return code == 0 ? DType::U8 : dtypeFromOnnxCode(code);
}

void inferQuantize(InferContext& ctx) {
  DType xt = ctx.inputDType(0);
  if (!isFloat(xt) && xt != DType::I32) ctx.fail("x must be a float or i32 tensor, found {}", dtypeName(xt));
  requireFloatInput(ctx, 1, "y_scale");
  std::optional<DType> zpType;
  if (ctx.hasInput(2)) zpType = ctx.inputDType(2);
  DType out = quantizeOutputType(ctx.node(), zpType);
  if (!isQuantType(out)) ctx.fail("the quantized type must be u8, i8, u16 or i16, found {}", dtypeName(out));
  if (ctx.node().attrInt("output_dtype") != 0 && zpType && dtypeFromOnnxCode(ctx.node().attrInt("output_dtype")) != *zpType)
    ctx.fail("output_dtype differs from y_zero_point's dtype {}", dtypeName(*zpType));
  const auto& s = ctx.inputShape(0);
  ctx.setOutput(0, s ? TensorType(out, *s) : TensorType::unranked(out));
}

void evalQuantize(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  DType out = quantizeOutputType(ctx.node(), zp ? std::optional<DType>(zp->dtype()) : std::nullopt);
  auto [lo, hi] = quantRange(out);
  int64_t axis = ctx.node().attrInt("axis"), block = ctx.node().attrInt("block_size");
  QuantParamIndex scaleAt(x.shape(), scale.shape(), axis, block, "y_scale");
  std::optional<QuantParamIndex> zpAt;
  if (zp) zpAt.emplace(x.shape(), zp->shape(), axis, block, "y_zero_point");
  Tensor y(out, x.shape());
  // Divide in x's precision, as numpy does: a half quotient is rounded to
  // half before it is rounded to an integer.
  bool singlePrecision = x.dtype() != DType::F64;
  auto inXPrecision = [&](float q) -> double {
    if (x.dtype() == DType::F16) return halfToFloat(floatToHalf(q));
    if (x.dtype() == DType::BF16) return bf16ToFloat(floatToBf16(q));
    return q;
  };
  for (int64_t i = 0; i < x.numel(); ++i) {
    double s = scale.getDouble(scaleAt(i));
    if (s == 0) ctx.fail("y_scale must be non-zero");
    double q = singlePrecision ? inXPrecision(float(x.getDouble(i)) / float(s)) : x.getDouble(i) / s;
    q = std::nearbyint(q) + (zp ? zp->getDouble((*zpAt)(i)) : 0.0);
    y.setDouble(i, std::clamp(q, lo, hi));
  }
  ctx.setOutput(0, std::move(y));
}

// ---- DequantizeLinear ----

void inferDequantize(InferContext& ctx) {
  DType xt = ctx.inputDType(0);
  if (!isQuantType(xt) && xt != DType::I32) ctx.fail("x must be u8, i8, u16, i16 or i32, found {}", dtypeName(xt));
  requireFloatInput(ctx, 1, "x_scale");
  if (ctx.hasInput(2) && ctx.inputDType(2) != xt)
    ctx.fail("x_zero_point must have x's dtype {}, found {}", dtypeName(xt), dtypeName(ctx.inputDType(2)));
  DType out = ctx.inputDType(1);
  const auto& s = ctx.inputShape(0);
  ctx.setOutput(0, s ? TensorType(out, *s) : TensorType::unranked(out));
}

void evalDequantize(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  int64_t axis = ctx.node().attrInt("axis"), block = ctx.node().attrInt("block_size");
  QuantParamIndex scaleAt(x.shape(), scale.shape(), axis, block, "x_scale");
  std::optional<QuantParamIndex> zpAt;
  if (zp) zpAt.emplace(x.shape(), zp->shape(), axis, block, "x_zero_point");
  Tensor y(scale.dtype(), x.shape());
  bool singlePrecision = scale.dtype() != DType::F64;
  for (int64_t i = 0; i < x.numel(); ++i) {
    double v = x.getDouble(i) - (zp ? zp->getDouble((*zpAt)(i)) : 0.0);
    double s = scale.getDouble(scaleAt(i));
    y.setDouble(i, singlePrecision ? double(float(v) * float(s)) : v * s);
  }
  ctx.setOutput(0, std::move(y));
}

// ---- DynamicQuantizeLinear ----

void inferDynamicQuantize(InferContext& ctx) {
  if (ctx.inputDType(0) != DType::F32) ctx.fail("x must be f32, found {}", dtypeName(ctx.inputDType(0)));
  const auto& s = ctx.inputShape(0);
  ctx.setOutput(0, s ? TensorType(DType::U8, *s) : TensorType::unranked(DType::U8));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, TensorType(DType::F32, Shape()));
  if (ctx.numOutputs() > 2) ctx.setOutput(2, TensorType(DType::U8, Shape()));
}

void evalDynamicQuantize(EvalContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::F32) ctx.fail("x must be f32, found {}", dtypeName(x.dtype()));
  auto px = x.data<float>();
  // The range always includes zero so that zero is exactly representable.
  float lo = 0, hi = 0;
  for (float v : px) {
    if (std::isnan(v)) ctx.fail("x contains NaN");
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
  float zeroPoint = std::nearbyint(std::clamp(0.0f - lo / scale, 0.0f, 255.0f));
  Tensor y(DType::U8, x.shape());
  auto py = y.data<uint8_t>();
  for (size_t i = 0; i < px.size(); ++i)
    py[i] = uint8_t(std::clamp(std::nearbyint(px[i] / scale) + zeroPoint, 0.0f, 255.0f));
  ctx.setOutput(0, std::move(y));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, Tensor::scalar<float>(scale));
  if (ctx.numOutputs() > 2) ctx.setOutput(2, Tensor::scalar<uint8_t>(uint8_t(zeroPoint)));
}

// ---- integer MatMul / Conv helpers ----

void requireInt8(const InferContext& ctx, size_t i, const char* what) {
  DType t = ctx.inputDType(i);
  if (t != DType::U8 && t != DType::I8) ctx.fail("{} must be u8 or i8, found {}", what, dtypeName(t));
}

// Values of t minus its zero point: zp is a scalar / one element, or a 1-D
// tensor indexed by (flat / inner) % extent (per row, column or channel).
Tensor minusZeroPoint(const Tensor& t, const Tensor* zp, int64_t inner, int64_t extent, const char* what) {
  if (zp && zp->dtype() != t.dtype())
    throwUserError("{} must have dtype {}, found {}", what, dtypeName(t.dtype()), dtypeName(zp->dtype()));
  bool perTensor = !zp || zp->numel() == 1;
  if (!perTensor && (zp->rank() != 1 || zp->dim(0) != extent))
    throwUserError("{} must be a scalar or have shape [{}], found {}", what, extent, extentsStr(zp->shape()));
  Tensor out(DType::F64, t.shape());
  auto po = out.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    po[i] = t.getDouble(i) - (zp ? zp->getDouble(perTensor ? 0 : (i / inner) % extent) : 0.0);
  return out;
}

// A and B of a MatMul with zero points subtracted: A's per row (the second to
// last dim), B's per column (the last dim).
Tensor integerMatMul(const Tensor& a, const Tensor* azp, const Tensor& b, const Tensor* bzp) {
  int64_t rows = a.rank() >= 2 ? a.dim(a.rank() - 2) : 1, cols = b.rank() >= 2 ? b.dim(b.rank() - 1) : 1;
  int64_t k = a.rank() ? a.dim(a.rank() - 1) : 1;
  return matMulTensors(minusZeroPoint(a, azp, k, rows, "a_zero_point"), minusZeroPoint(b, bzp, 1, cols, "b_zero_point"));
}

void inferMatMulInteger(InferContext& ctx) {
  requireInt8(ctx, 0, "A");
  requireInt8(ctx, 1, "B");
  auto shape = matMulShape(ctx, 0, 1);
  ctx.setOutput(0, shape ? TensorType(DType::I32, *shape) : TensorType::unranked(DType::I32));
}

void evalMatMulInteger(EvalContext& ctx) {
  const Tensor* azp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  const Tensor* bzp = ctx.numInputs() > 3 && ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  Tensor prod = integerMatMul(ctx.input(0), azp, ctx.input(1), bzp);
  ctx.setOutput(0, fromDoubles(DType::I32, prod.shape(), toDoubles(prod), true));
}

double scalarParam(const EvalContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1) ctx.fail("{} must be a scalar, found shape {}", what, extentsStr(t.shape()));
  return t.getDouble(0);
}

void inferQLinearMatMul(InferContext& ctx) {
  requireInt8(ctx, 0, "a");
  requireInt8(ctx, 3, "b");
  requireInt8(ctx, 7, "y_zero_point");
  auto shape = matMulShape(ctx, 0, 3);
  DType out = ctx.inputDType(7);
  ctx.setOutput(0, shape ? TensorType(out, *shape) : TensorType::unranked(out));
}

void evalQLinearMatMul(EvalContext& ctx) {
  // Scales combine in f32, as the reference implementations do.
  float multiplier = float(scalarParam(ctx, 1, "a_scale")) * float(scalarParam(ctx, 4, "b_scale")) /
                     float(scalarParam(ctx, 6, "y_scale"));
  Tensor acc = integerMatMul(ctx.input(0), &ctx.input(2), ctx.input(3), &ctx.input(5));
  const Tensor& yzp = ctx.input(7);
  double zeroPoint = scalarParam(ctx, 7, "y_zero_point");
  auto [lo, hi] = quantRange(yzp.dtype());
  std::vector<double> v = toDoubles(acc);
  for (double& e : v) e = std::clamp(std::nearbyint(e * double(multiplier) + zeroPoint), lo, hi);
  ctx.setOutput(0, fromDoubles(yzp.dtype(), acc.shape(), v, true));
}

void inferConvInteger(InferContext& ctx) {
  requireInt8(ctx, 0, "x");
  requireInt8(ctx, 1, "w");
  auto shape = convShape(ctx, 0, 1);
  ctx.setOutput(0, shape ? TensorType(DType::I32, *shape) : TensorType::unranked(DType::I32));
}

// Convolution of (x - x_zero_point) with (w - w_zero_point[oc]) in double.
std::vector<double> integerConv(const EvalContext& ctx, const Tensor& x, const Tensor* xzp, const Tensor& w,
                                const Tensor* wzp, const double* bias, std::vector<int64_t>& yShape) {
  if (xzp && xzp->numel() != 1) ctx.fail("x_zero_point must be a scalar, found {}", extentsStr(xzp->shape()));
  if (w.rank() < 3) ctx.fail("w must have rank >= 3, found {}", extentsStr(w.shape()));
  int64_t perChannel = w.numel() / w.dim(0);
  Tensor xs = minusZeroPoint(x, xzp, 1, 1, "x_zero_point");
  Tensor ws = minusZeroPoint(w, wzp, perChannel, w.dim(0), "w_zero_point");
  return convolve(ctx.node(), toDoubles(xs), x.shape(), toDoubles(ws), w.shape(), bias, yShape);
}

void evalConvInteger(EvalContext& ctx) {
  const Tensor* xzp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  const Tensor* wzp = ctx.numInputs() > 3 && ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  std::vector<int64_t> yShape;
  std::vector<double> y = integerConv(ctx, ctx.input(0), xzp, ctx.input(1), wzp, nullptr, yShape);
  ctx.setOutput(0, fromDoubles(DType::I32, yShape, y, true));
}

void inferQLinearConv(InferContext& ctx) {
  requireInt8(ctx, 0, "x");
  requireInt8(ctx, 3, "w");
  requireInt8(ctx, 7, "y_zero_point");
  if (ctx.numInputs() > 8 && ctx.hasInput(8) && ctx.inputDType(8) != DType::I32)
    ctx.fail("B must be i32, found {}", dtypeName(ctx.inputDType(8)));
  auto shape = convShape(ctx, 0, 3);
  DType out = ctx.inputDType(7);
  ctx.setOutput(0, shape ? TensorType(out, *shape) : TensorType::unranked(out));
}

void evalQLinearConv(EvalContext& ctx) {
  const Tensor& w = ctx.input(3);
  if (w.rank() < 3) ctx.fail("w must have rank >= 3, found {}", extentsStr(w.shape()));
  int64_t outChannels = w.dim(0);
  const Tensor& wScale = ctx.input(4);
  if (wScale.numel() != 1 && (wScale.rank() != 1 || wScale.dim(0) != outChannels))
    ctx.fail("w_scale must be a scalar or have shape [{}], found {}", outChannels, extentsStr(wScale.shape()));
  std::vector<double> bias;
  if (ctx.numInputs() > 8 && ctx.hasInput(8)) {
    const Tensor& b = ctx.input(8);
    if (b.rank() != 1 || b.dim(0) != outChannels)
      ctx.fail("B must have shape [{}], found {}", outChannels, extentsStr(b.shape()));
    bias = toDoubles(b);
  }
  std::vector<int64_t> yShape;
  std::vector<double> acc = integerConv(ctx, ctx.input(0), &ctx.input(2), w, &ctx.input(5),
                                        bias.empty() ? nullptr : bias.data(), yShape);
  float xScale = float(scalarParam(ctx, 1, "x_scale")), yScale = float(scalarParam(ctx, 6, "y_scale"));
  const Tensor& yzp = ctx.input(7);
  double zeroPoint = scalarParam(ctx, 7, "y_zero_point");
  auto [lo, hi] = quantRange(yzp.dtype());
  int64_t plane = 1;
  for (size_t d = 2; d < yShape.size(); ++d) plane *= yShape[d];
  for (size_t i = 0; i < acc.size(); ++i) {
    int64_t oc = (int64_t(i) / plane) % outChannels;
    float multiplier = xScale * float(wScale.getDouble(wScale.numel() == 1 ? 0 : oc)) / yScale;
    acc[i] = std::nearbyint(std::clamp(acc[i] * double(multiplier) + zeroPoint, lo, hi));
  }
  ctx.setOutput(0, fromDoubles(yzp.dtype(), yShape, acc, true));
}

std::vector<AttrSpec> convLikeAttrs() {
  return {{"auto_pad", AttrKind::String, std::string("NOTSET")},
          {"dilations", AttrKind::Ints, std::nullopt, true},
          {"group", AttrKind::Int, int64_t(1)},
          {"kernel_shape", AttrKind::Ints, std::nullopt, true},
          {"pads", AttrKind::Ints, std::nullopt, true},
          {"strides", AttrKind::Ints, std::nullopt, true}};
}

}  // namespace

const OpDef kQuantizeLinearDef{
    .name = "QuantizeLinear", .minInputs = 2, .maxInputs = 3,
    .attrs = {{"axis", AttrKind::Int, int64_t(1)},
              {"block_size", AttrKind::Int, int64_t(0)},
              {"output_dtype", AttrKind::Int, int64_t(0)},
              {"saturate", AttrKind::Int, int64_t(1)}},
    .infer = inferQuantize,
    .eval = evalQuantize,
};
const OpDef kDequantizeLinearDef{
    .name = "DequantizeLinear", .minInputs = 2, .maxInputs = 3,
    .attrs = {{"axis", AttrKind::Int, int64_t(1)}, {"block_size", AttrKind::Int, int64_t(0)}},
    .infer = inferDequantize,
    .eval = evalDequantize,
};
const OpDef kDynamicQuantizeLinearDef{
    .name = "DynamicQuantizeLinear", .minInputs = 1, .maxInputs = 1, .minOutputs = 1, .maxOutputs = 3,
    .infer = inferDynamicQuantize,
    .eval = evalDynamicQuantize,
};
const OpDef kMatMulIntegerDef{
    .name = "MatMulInteger", .minInputs = 2, .maxInputs = 4,
    .infer = inferMatMulInteger,
    .eval = evalMatMulInteger,
};
const OpDef kQLinearMatMulDef{
    .name = "QLinearMatMul", .minInputs = 8, .maxInputs = 8,
    .infer = inferQLinearMatMul,
    .eval = evalQLinearMatMul,
};
const OpDef kConvIntegerDef{
    .name = "ConvInteger", .minInputs = 2, .maxInputs = 4, .attrs = convLikeAttrs(),
    .infer = inferConvInteger,
    .eval = evalConvInteger,
};
const OpDef kQLinearConvDef{
    .name = "QLinearConv", .minInputs = 8, .maxInputs = 9, .attrs = convLikeAttrs(),
    .infer = inferQLinearConv,
    .eval = evalQLinearConv,
};

}  // namespace dlc::ir
