// Import handlers for the reduction op family (older opsets, multi-op lowerings).
// The IR ops take the newest ONNX form; these handlers convert older forms:
// axes/k attributes become constant inputs, the pre-13 softmax family's 2-D
// coercion becomes Reshape around the op, older BatchNormalization and
// GroupNormalization attributes and parameter layouts are rewritten, and
// RMSNormalization and LpNormalization are lowered to elementwise ops around
// a reduction.
#include <onnx/onnx_pb.h>

#include "frontend/onnx/node_importer.h"
#include "ir/ops/elementwise.h"
#include "ir/ops/op_util.h"
#include "ir/ops/reduction_util.h"

namespace dlc::frontend::onnx {

using namespace ir;

namespace {

// Emits `op` with `numOutputs` results named like the ONNX node's outputs
// and binds them as the node's outputs.
void emitBound(NodeImporter& ni, OpKind op, std::vector<Value*> inputs, Attributes attrs, size_t numOutputs) {
  const auto& names = ni.proto().output();
  std::vector<std::string> outputNames(names.begin(), names.begin() + int(std::min(numOutputs, size_t(names.size()))));
  Node* n = ni.emit(op, std::move(inputs), std::move(attrs), numOutputs, outputNames);
  ni.setOutputs(n->outputs());
}

int64_t intAttr(NodeImporter& ni, const std::string& name, int64_t fallback) {
  const AttrValue* v = ni.attrs().find(name);
  if (!v) return fallback;
  const auto* i = std::get_if<int64_t>(v);
  if (!i) ni.fail("attribute '{}' must be an int, found {}", name, attrKindName(attrKindOf(*v)));
  return *i;
}

// Reduce* before opset 18 (ReduceSum before 13): `axes` was an attribute.
// An absent or empty list reduces all axes, which the input form expresses
// by omitting the input.
ImportHandler axesAttributeToInput(OpKind op) {
  return [op](NodeImporter& ni) {
    Attributes attrs = ni.attrs();
    std::vector<Value*> inputs{ni.input(0)};
    if (const AttrValue* a = attrs.find("axes")) {
      const auto* axes = std::get_if<std::vector<int64_t>>(a);
      if (!axes) ni.fail("attribute 'axes' must be a list of ints, found {}", attrKindName(attrKindOf(*a)));
      if (!axes->empty()) inputs.push_back(ni.constantInts(*axes));
      attrs.erase("axes");
    }
    emitBound(ni, op, std::move(inputs), std::move(attrs), 1);
  };
}

// Softmax, LogSoftmax and Hardmax before opset 13 flatten the input to 2-D
// as [prod(dims[:axis]), prod(dims[axis:])] and work along the second
// dimension. When the trailing dims after `axis` hold one element this is
// the opset-13 op along `axis`; otherwise it becomes Reshape, op, Reshape
// back, which needs the shape known up to one non-static dim.
ImportHandler coercedTo2D(OpKind op) {
  return [op](NodeImporter& ni) {
    Value* x = ni.input(0);
    if (!x) throwUserError("{} needs an input", ni.opType());
    const TensorType& type = x->type();
    if (!type.shape) ni.unsupported("{} before opset 13 needs the input's rank to be known", ni.opType());
    const Shape& shape = *type.shape;
    int64_t rank = int64_t(shape.rank());
    int64_t axis = ops::normalizeAxis(intAttr(ni, "axis", 1), rank);
    bool trailingIsOne = true;
    for (int64_t i = axis + 1; i < rank; ++i)
      trailingIsOne = trailingIsOne && shape[size_t(i)].isStatic() && shape[size_t(i)].value() == 1;
    Attributes attrs;
    if (trailingIsOne) {
      attrs.set("axis", axis);
      return emitBound(ni, op, {x}, attrs, 1);
    }
    // -1 stands for the one non-static dim (if any) in both reshapes.
    int64_t nonStatic = 0, leading = 1, trailing = 1;
    bool leadingStatic = true;
    std::vector<int64_t> original;
    for (int64_t i = 0; i < rank; ++i) {
      const Dim& d = shape[size_t(i)];
      if (!d.isStatic()) {
        ++nonStatic;
        leadingStatic = leadingStatic && i >= axis;
        original.push_back(-1);
        continue;
      }
      (i < axis ? leading : trailing) *= d.value();
      original.push_back(d.value());
    }
    if (nonStatic > 1)
      ni.unsupported("{} before opset 13 with axis {} on shape {}: coercing to 2-D needs at most one non-static dim",
                     ni.opType(), axis, shape.str());
    std::vector<int64_t> flat = {leading, trailing};
    if (nonStatic == 1) flat[leadingStatic ? 1 : 0] = -1;
    Attributes reshapeAttrs;
    reshapeAttrs.set("allowzero", int64_t(1));  // our shapes hold real extents, never "copy" zeros
    Value* x2d = ni.emit1(OpKind::Reshape, {x, ni.constantInts(flat)}, reshapeAttrs);
    attrs.set("axis", int64_t(1));
    Value* y2d = ni.emit1(op, {x2d}, attrs);
    ni.setOutputs({ni.emit1(OpKind::Reshape, {y2d, ni.constantInts(original)}, reshapeAttrs)});
  };
}

// TopK before opset 10: k was an attribute.
void importTopKAttribute(NodeImporter& ni) {
  Attributes attrs = ni.attrs();
  int64_t k = intAttr(ni, "k", -1);
  if (k < 0) ni.fail("attribute 'k' is missing or negative ({})", k);
  attrs.erase("k");
  emitBound(ni, OpKind::TopK, {ni.input(0), ni.constantInts({k})}, std::move(attrs), 2);
}

// BatchNormalization opsets 6-13: is_test (6) and spatial (7-8) attributes;
// from 7 on, asking for the running statistics outputs means training mode.
// The saved_mean/saved_var outputs (4 and 5) have no opset-15 equivalent.
void importOldBatchNorm(NodeImporter& ni) {
  Attributes attrs = ni.attrs();
  bool training = false;
  if (attrs.has("is_test")) {
    training = intAttr(ni, "is_test", 0) == 0;
    attrs.erase("is_test");
  }
  if (attrs.has("spatial")) {
    if (intAttr(ni, "spatial", 1) != 1) ni.unsupported("BatchNormalization with spatial=0 is not supported");
    attrs.erase("spatial");
  }
  const auto& outs = ni.proto().output();
  for (int i = 3; i < outs.size(); ++i)
    if (!outs[i].empty()) ni.unsupported("output {} (saved_mean/saved_var) of BatchNormalization opset {} is not supported", i, ni.opset());
  size_t numOutputs = std::min<size_t>(ni.numOutputs(), 3);
  if (ni.opset() >= 7) training = numOutputs > 1;
  if (training) attrs.set("training_mode", int64_t(1));
  std::vector<Value*> inputs(ni.inputs().begin(), ni.inputs().end());
  emitBound(ni, OpKind::BatchNormalization, std::move(inputs), std::move(attrs), numOutputs);
}

// InstanceNormalization opset 1 had a legacy consumed_inputs attribute.
void importOldInstanceNorm(NodeImporter& ni) {
  Attributes attrs = ni.attrs();
  attrs.erase("consumed_inputs");
  std::vector<Value*> inputs(ni.inputs().begin(), ni.inputs().end());
  emitBound(ni, OpKind::InstanceNormalization, std::move(inputs), std::move(attrs), 1);
}

// GroupNormalization opsets 18-20 take scale and bias per group; opset 21
// per channel. Constant parameters are repeated per channel here.
void importGroupNormPerGroup(NodeImporter& ni) {
  int64_t groups = intAttr(ni, "num_groups", 0);
  const TensorType& xType = ni.requiredInput(0, "X")->type();
  if (groups <= 0) ni.fail("attribute num_groups is {}, expected a positive number", groups);
  if (!xType.shape || xType.shape->rank() < 2 || !(*xType.shape)[1].isStatic())
    ni.unsupported("GroupNormalization opset {} needs X's channel dim to be static", ni.opset());
  int64_t channels = (*xType.shape)[1].value();
  if (channels % groups != 0)
    ni.fail("X has {} channels, expected a multiple of num_groups ({})", channels, groups);
  std::vector<Value*> inputs{ni.input(0)};
  for (size_t i = 1; i < 3; ++i) {
    Value* v = ni.input(i);
    if (!v || !v->isConstant())
      ni.unsupported("GroupNormalization opset {} with a non-constant per-group scale or bias", ni.opset());
    const Tensor& perGroup = v->constant();
    if (perGroup.rank() != 1 || perGroup.dim(0) != groups)
      ni.fail("{} has shape {}, expected [{}] (one value per group)", i == 1 ? "scale" : "bias",
              perGroup.type().str(), groups);
    Tensor perChannel(perGroup.dtype(), {channels});
    for (int64_t c = 0; c < channels; ++c) perChannel.setDouble(c, perGroup.getDouble(c / (channels / groups)));
    inputs.push_back(ni.constant(perChannel, i == 1 ? "scale" : "bias"));
  }
  Attributes attrs = ni.attrs();
  emitBound(ni, OpKind::GroupNormalization, std::move(inputs), std::move(attrs), 1);
}

// RMSNormalization-23: X / sqrt(mean(X^2 over axes [axis, rank)) + epsilon)
// * scale, in stash_type's precision, as the op's function body computes it
// (Cast, Mul, ReduceMean, Add, Sqrt, Div, Cast back, Mul).
void importRmsNormalization(NodeImporter& ni) {
  ni.checkAttributes({"axis", "epsilon", "stash_type"});
  Value* x = ni.requiredInput(0, "X");
  Value* scale = ni.requiredInput(1, "scale");
  if (!isFloat(x->dtype()) || !isFloat(scale->dtype()))
    ni.fail("X and scale must be float tensors, found {} and {}", dtypeName(x->dtype()), dtypeName(scale->dtype()));
  if (!x->type().shape) ni.unsupported("RMSNormalization needs X's rank to be known");
  int64_t rank = int64_t(x->type().shape->rank());
  int64_t axis = ops::normalizeAxis(intAttr(ni, "axis", -1), rank);
  DType stash = ops::dtypeFromOnnxCode(intAttr(ni, "stash_type", 1));
  const double* epsilonAttr = ni.attrAs<double>("epsilon");
  std::vector<int64_t> axes;
  for (int64_t a = axis; a < rank; ++a) axes.push_back(a);
  Value* xs = x->dtype() == stash ? x : ni.emit1(OpKind::Cast, {x}, ops::castAttrs(stash));
  Value* meanSquare = ni.emit1(OpKind::ReduceMean, {ni.emit1(OpKind::Mul, {xs, xs}), ni.constantInts(axes)});
  // epsilon is a float attribute, cast to stash_type (the function body's Cast).
  Tensor epsilon(stash, {});
  epsilon.setDouble(0, double(float(epsilonAttr ? *epsilonAttr : 1e-5)));
  Value* rms = ni.emit1(OpKind::Sqrt, {ni.emit1(OpKind::Add, {meanSquare, ni.constant(std::move(epsilon), "epsilon")})});
  Value* normalized = ni.emit1(OpKind::Div, {xs, rms});
  if (normalized->dtype() != scale->dtype()) normalized = ni.emit1(OpKind::Cast, {normalized}, ops::castAttrs(scale->dtype()));
  emitBound(ni, OpKind::Mul, {normalized, scale}, {}, 1);
}

// LpNormalization: x / norm_p(x along axis) for p 1 or 2 (the only values
// the spec allows), 0 where the norm is 0 (the spec's rule against 0/0).
void importLpNormalization(NodeImporter& ni) {
  ni.checkAttributes({"axis", "p"});
  Value* x = ni.requiredInput(0, "input");
  if (!isFloat(x->dtype())) ni.fail("LpNormalization needs a float input, found {}", dtypeName(x->dtype()));
  int64_t p = intAttr(ni, "p", 2);
  if (p != 1 && p != 2) ni.fail("p must be 1 or 2, found {}", p);
  Attributes keep;
  keep.set("keepdims", int64_t(1));
  Value* norm = ni.emit1(p == 1 ? OpKind::ReduceL1 : OpKind::ReduceL2, {x, ni.constantInts({intAttr(ni, "axis", -1)})}, keep);
  Tensor zero(x->dtype(), {});
  Value* zeroValue = ni.constant(std::move(zero), "zero");
  Value* isZero = ni.emit1(OpKind::Equal, {norm, zeroValue});
  emitBound(ni, OpKind::Where, {isZero, zeroValue, ni.emit1(OpKind::Div, {x, norm})}, {}, 1);
}

ImportHandler sameAsOnnx(OpKind op) {
  return [op](NodeImporter& ni) { ni.emitSameAsOnnx(op); };
}

}  // namespace

void addReductionImporters(ImporterTable& table) {
  table.add("ReduceSum", 1, 12, axesAttributeToInput(OpKind::ReduceSum));
  table.add("ReduceSum", 13, kMaxOpset, sameAsOnnx(OpKind::ReduceSum));
  const std::pair<const char*, OpKind> axesUntil17[] = {
      {"ReduceMean", OpKind::ReduceMean},     {"ReduceMax", OpKind::ReduceMax},
      {"ReduceMin", OpKind::ReduceMin},       {"ReduceProd", OpKind::ReduceProd},
      {"ReduceL1", OpKind::ReduceL1},         {"ReduceL2", OpKind::ReduceL2},
      {"ReduceLogSum", OpKind::ReduceLogSum}, {"ReduceLogSumExp", OpKind::ReduceLogSumExp},
      {"ReduceSumSquare", OpKind::ReduceSumSquare}};
  for (const auto& [name, op] : axesUntil17) {
    table.add(name, 1, 17, axesAttributeToInput(op));
    table.add(name, 18, kMaxOpset, sameAsOnnx(op));
  }
  const std::pair<const char*, OpKind> softmaxFamily[] = {
      {"Softmax", OpKind::Softmax}, {"LogSoftmax", OpKind::LogSoftmax}, {"Hardmax", OpKind::Hardmax}};
  for (const auto& [name, op] : softmaxFamily) {
    table.add(name, 1, 12, coercedTo2D(op));
    table.add(name, 13, kMaxOpset, sameAsOnnx(op));
  }
  table.add("TopK", 1, 9, importTopKAttribute);
  table.add("TopK", 10, kMaxOpset, sameAsOnnx(OpKind::TopK));
  table.add("BatchNormalization", 6, 13, importOldBatchNorm);
  table.add("BatchNormalization", 14, kMaxOpset, sameAsOnnx(OpKind::BatchNormalization));
  table.add("InstanceNormalization", 1, 5, importOldInstanceNorm);
  table.add("InstanceNormalization", 6, kMaxOpset, sameAsOnnx(OpKind::InstanceNormalization));
  table.add("GroupNormalization", 18, 20, importGroupNormPerGroup);
  table.add("GroupNormalization", 21, kMaxOpset, sameAsOnnx(OpKind::GroupNormalization));
  table.add("RMSNormalization", 23, kMaxOpset, importRmsNormalization);
  table.add("LpNormalization", 1, kMaxOpset, importLpNormalization);
}

}  // namespace dlc::frontend::onnx
