// Channel-blocked layout (NCHWc) for the CPU's convolutions.
//
// With PassContext::channelBlock = B (the CPU's floats per vector register),
// 2-D f32 convolutions with constant weights become BlockedConv nodes over
// tensors [N, C/B, H, W, B] (ir/ops/nn_conv_blocked.cpp), whose kernels keep
// B output channels of a pixel in one register and need no im2col, and the
// layout propagates through what can run on it unchanged, so that it is
// converted back only where something else reads it:
//  - Conv with group 1 (dense) or group = channels (depthwise): weights and
//    bias are re-laid out here (zero past the channel count); the bias is an
//    Add after the BlockedConv, which fusion turns into its epilogue. A dense
//    conv whose input is not blocked reads it as plain NCHW (no conversion,
//    no padded input lanes: the first conv of a network); a depthwise one
//    converts its input.
//  - Elementwise ops whose operands are blocked values, constants or other
//    tensors broadcasting per channel or over channels (re-laid out as
//    needed); MaxPool/AveragePool (a 3-D window of extent 1 over the lanes);
//    GlobalAveragePool (a ReduceMean over H and W); Concat over channels of
//    blocked values whose channel counts are multiples of B.
//  - Anything else reads the plain tensor again: Transpose back, Reshape,
//    and a Slice of the real channels (one conversion per value, shared).
// Padding lanes (channels past a count that is no multiple of B) are zero
// when a conv makes them; an elementwise op keeps a value with padding lanes
// blocked only if it maps zero lanes to zero (checked by evaluating it on
// zeros), so that padding never carries NaN or infinity into a conv (whose
// zero weights would not cancel them).
// Pre: a valid, type-inferred graph. Post: the same results; converted nodes
// are left unread for DCE; nodes topologically ordered. Off when
// channelBlock <= 1 (the reference and CUDA targets).
#include <algorithm>
#include <unordered_map>

#include "ir/builder.h"
#include "ir/infer.h"
#include "ir/interpreter.h"
#include "ir/ops/nn_util.h"
#include "passes/graph_util.h"
#include "passes/pass.h"

namespace dlc::passes {

namespace {

using ir::OpKind;
using ir::Value;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::vector<int64_t> extents(const Value* v) { return v->type().shape->extents(); }

bool staticF32(const Value* v, size_t rank) {
  return v && v->dtype() == ir::DType::F32 && isStatic(v) && v->type().shape->rank() == rank;
}

// A blocked value [N, Cb, H, W, B] and the channel count it holds.
struct Blocked {
  Value* value = nullptr;
  int64_t channels = 0;
};

class Blocker {
 public:
  Blocker(ir::Graph& g, int64_t lanes) : g_(g), b_(g), lanes_(lanes) {}

  bool run() {
    bool changed = false;
    for (ir::Node* n : g_.nodes()) {
      if (convertConv(*n) || convertElementwise(*n) || convertPool(*n) || convertGlobalAveragePool(*n) ||
          convertConcat(*n)) {
        changed = true;
        continue;
      }
      for (size_t i = 0; i < n->inputs().size(); ++i)
        if (n->input(i) && computed_.count(n->input(i))) n->setInput(i, plain(n->input(i)));
    }
    std::vector<Value*> outputs = g_.outputs();
    for (Value* out : outputs)
      if (computed_.count(out)) replaceKeepingName(g_, out, plain(out));
    if (changed) sortTopologically(g_);
    return changed;
  }

 private:
  // ---- conversions between the layouts (one per value, shared by its readers)

  // The plain [N, C, H, W] form of a value computed blocked.
  Value* plain(Value* original) {
    auto cached = plain_.find(original);
    if (cached != plain_.end()) return cached->second;
    const Blocked& f = computed_.at(original);
    std::vector<int64_t> s = extents(f.value);  // [N, Cb, H, W, B]
    from(original->producer());
    // In sequence: names (and so the printed IR) must not depend on the
    // compiler's order of evaluating arguments.
    Value* transposed = made(b_.transpose(f.value, {0, 1, 4, 2, 3}));
    Value* r = made(b_.reshape(transposed, b_.ints({s[0], s[1] * s[4], s[2], s[3]})));
    if (s[1] * s[4] != f.channels)
      r = made(b_.op(OpKind::Slice, {r, b_.ints({0}), b_.ints({f.channels}), b_.ints({1})}));
    plain_[original] = r;
    return r;
  }

  // The blocked form of an f32 [N, C, H, W] value: computed so, or converted.
  Blocked block(Value* v) {
    if (auto found = computed_.find(v); found != computed_.end()) return found->second;
    if (auto found = converted_.find(v); found != converted_.end()) return found->second;
    std::vector<int64_t> s = extents(v);
    int64_t cb = ceilDiv(s[1], lanes_);
    Value* x = v;
    if (cb * lanes_ != s[1]) x = made(b_.op(OpKind::Pad, {x, b_.ints({0, 0, 0, 0, 0, cb * lanes_ - s[1], 0, 0})}));
    Value* r = made(b_.reshape(x, b_.ints({s[0], cb, lanes_, s[2], s[3]})));
    Blocked f{made(b_.transpose(r, {0, 1, 3, 4, 2})), s[1]};
    converted_[v] = f;
    return f;
  }

  // A constant [n, C, h, w] laid out as [n, Cb, h, w, B], zero past C.
  Value* blockConstant(const ir::Tensor& t, const std::string& name) {
    std::vector<int64_t> s = t.shape();
    int64_t cb = ceilDiv(s[1], lanes_), plane = s[2] * s[3];
    ir::Tensor out(t.dtype(), {s[0], cb, s[2], s[3], lanes_});
    for (int64_t n = 0; n < s[0]; ++n)
      for (int64_t c = 0; c < s[1]; ++c)
        for (int64_t p = 0; p < plane; ++p)
          out.setDouble(((n * cb + c / lanes_) * plane + p) * lanes_ + c % lanes_, t.getDouble((n * s[1] + c) * plane + p));
    return g_.addConstant(g_.uniqueName(name + ".blocked"), std::move(out));
  }

  // ---- nodes that run blocked

  bool convertConv(ir::Node& n) {
    if (n.op() != OpKind::Conv || n.outputs().size() != 1 || !staticF32(n.input(0), 4) ||
        !staticF32(n.output(0), 4) || !n.input(1)->isConstant() || n.input(1)->type().shape->rank() != 4 ||
        (n.hasInput(2) && !n.input(2)->isConstant()))
      return false;
    std::vector<int64_t> xs = extents(n.input(0)), ws = extents(n.input(1)), ys = extents(n.output(0));
    const int64_t group = n.attrInt("group"), inChannels = xs[1], outChannels = ws[0];
    const bool depthwise = group > 1 && group == inChannels && outChannels == inChannels && ws[1] == 1;
    if (group != 1 && !depthwise) return false;
    ir::ops::WindowAttrs wa = ir::ops::readWindowAttrs(n, 2, {ws[2], ws[3]});
    ir::ops::WindowDim dh = ir::ops::windowDim(wa, 0, xs[2]), dw = ir::ops::windowDim(wa, 1, xs[3]);
    if (dh.output != ys[2] || dw.output != ys[3]) return false;
    // The blocked conv wants a tap inside the input for its last output row
    // and column (end pads past the kernel's reach leave whole rows outside).
    for (size_t i : {size_t(0), size_t(1)}) {
      const int64_t in = xs[2 + i], out = ys[2 + i], pad = i == 0 ? dh.padBegin : dw.padBegin;
      if ((out - 1) * wa.strides[i] - pad > in - 1 + (wa.kernel[i] - 1) * wa.dilations[i]) return false;
    }

    from(&n);
    Value* x = n.input(0);
    const bool blockedInput = depthwise || computed_.count(x);
    Value* xv = blockedInput ? block(x).value : x;
    const ir::Tensor& w = n.input(1)->constant();
    const int64_t L = lanes_, ocb = ceilDiv(outChannels, L), area = ws[2] * ws[3];
    ir::Tensor wb;
    if (depthwise) {
      wb = ir::Tensor(ir::DType::F32, {ocb, ws[2], ws[3], L});
      for (int64_t c = 0; c < outChannels; ++c)
        for (int64_t k = 0; k < area; ++k) wb.setDouble(((c / L) * area + k) * L + c % L, w.getDouble(c * area + k));
    } else {
      // [OCb, ICb, KH, KW, IB, B]: IB = B for a blocked input, IC (one block) for a plain one.
      const int64_t icb = blockedInput ? ceilDiv(inChannels, L) : 1, ib = blockedInput ? L : inChannels;
      wb = ir::Tensor(ir::DType::F32, {ocb, icb, ws[2], ws[3], ib, L});
      for (int64_t o = 0; o < outChannels; ++o)
        for (int64_t i = 0; i < inChannels; ++i)
          for (int64_t k = 0; k < area; ++k)
            wb.setDouble(((((o / L) * icb + i / ib) * area + k) * ib + i % ib) * L + o % L,
                         w.getDouble((o * inChannels + i) * area + k));
    }
    Value* weights = g_.addConstant(g_.uniqueName(n.input(1)->name() + ".blocked"), std::move(wb));
    ir::Attributes attrs;
    attrs.set("strides", wa.strides);
    attrs.set("pads", std::vector<int64_t>{dh.padBegin, dw.padBegin, dh.padEnd, dw.padEnd});
    attrs.set("dilations", wa.dilations);
    attrs.set("depthwise", int64_t(depthwise));
    Value* y = made(b_.op(OpKind::BlockedConv, {xv, weights}, attrs));
    if (n.hasInput(2)) {
      ir::Tensor bias = n.input(2)->constant().reshaped({1, outChannels, 1, 1});
      y = made(b_.add(y, blockConstant(bias, n.input(2)->name())));
    }
    computed_[n.output(0)] = {y, outChannels};
    return true;
  }

  // How an operand of an elementwise op over [N, C, H, W] follows it into
  // the blocked layout.
  enum class Operand { Blocked, Scalar, PerChannel, OverChannels, Stays };
  Operand classify(const Value* v, int64_t channels) const {
    if (computed_.count(v) || converted_.count(v)) return Operand::Blocked;
    if (!isStatic(v) || v->type().shape->rank() > 4) return Operand::Stays;
    std::vector<int64_t> s = extents(v);
    int64_t count = 1;
    for (int64_t d : s) count *= d;
    if (count == 1) return Operand::Scalar;
    s.insert(s.begin(), 4 - s.size(), 1);  // numpy broadcasting aligns trailing dims
    if (s[1] == channels && channels > 1)
      return v->isConstant() || (v->dtype() == ir::DType::F32 && v->type().shape->rank() == 4) ? Operand::PerChannel
                                                                                                  : Operand::Stays;
    return s[1] == 1 ? Operand::OverChannels : Operand::Stays;
  }

  // The operand in the blocked layout (see classify).
  Value* blockedOperand(Value* v, Operand kind) {
    std::vector<int64_t> s = extents(v);
    s.insert(s.begin(), 4 - s.size(), 1);
    switch (kind) {
      case Operand::Blocked: return block(v).value;
      case Operand::Scalar: return v;
      case Operand::PerChannel:
        if (!v->isConstant()) return block(v).value;
        return blockConstant(v->constant().reshaped(s), v->name());
      case Operand::OverChannels:  // [n, 1, h, w, 1] broadcasts over blocks and lanes
        if (!v->isConstant()) return made(b_.reshape(v, b_.ints({s[0], 1, s[2], s[3], 1})));
        return g_.addConstant(g_.uniqueName(v->name() + ".blocked"), v->constant().reshaped({s[0], 1, s[2], s[3], 1}));
      case Operand::Stays: break;
    }
    DLC_CHECK(false, "blocked-layout: operand '{}' cannot follow", v->name());
    return nullptr;
  }

  // Whether `n` maps zero padding lanes to zero: its reference kernel on
  // one-element tensors, 0 for the blocked and per-channel operands and the
  // value of scalars (the caller admits no other operands).
  bool keepsZeroPadding(const ir::Node& n, const std::vector<Operand>& kinds) {
    std::vector<ir::Tensor> args(n.inputs().size());
    std::vector<const ir::Tensor*> pointers(n.inputs().size(), nullptr);
    for (size_t i = 0; i < n.inputs().size(); ++i) {
      const Value* v = n.input(i);
      if (!v) continue;
      if (kinds[i] == Operand::Scalar) {
        args[i] = v->constant().reshaped({1});
      } else {
        args[i] = ir::Tensor(v->dtype(), {1});
      }
      pointers[i] = &args[i];
    }
    try {
      std::vector<ir::Tensor> r = ir::evalNode(n, pointers);
      return r.size() == 1 && r[0].numel() == 1 && r[0].getDouble(0) == 0.0;
    } catch (const Error&) {
      return false;
    }
  }

  bool convertElementwise(ir::Node& n) {
    const ir::OpDef& def = n.def();
    if (!def.has(ir::kElementwise) || def.has(ir::kNondeterministic) || n.outputs().size() != 1 ||
        !staticF32(n.output(0), 4))
      return false;
    bool any = false;
    for (Value* v : n.inputs()) any = any || (v && computed_.count(v));
    if (!any) return false;
    const int64_t channels = extents(n.output(0))[1];
    const bool padded = channels % lanes_ != 0;
    std::vector<Operand> kinds;
    for (Value* v : n.inputs()) {
      kinds.push_back(v ? classify(v, channels) : Operand::Scalar);
      if (v && (kinds.back() == Operand::Stays || (padded && kinds.back() == Operand::OverChannels))) return false;
      if (v && kinds.back() == Operand::Scalar && padded && !v->isConstant()) return false;
    }
    if (padded && !keepsZeroPadding(n, kinds)) return false;
    from(&n);
    std::vector<Value*> operands;
    for (size_t i = 0; i < n.inputs().size(); ++i)
      operands.push_back(n.input(i) ? blockedOperand(n.input(i), kinds[i]) : nullptr);
    ir::Node* copy = g_.addNode(n.op(), operands, 1, n.attrs(), g_.uniqueName(n.name() + "/blocked"));
    for (const std::string& o : n.origins()) copy->addOrigin(o);
    ir::inferNode(*copy);
    computed_[n.output(0)] = {copy->output(0), channels};
    return true;
  }

  bool convertPool(ir::Node& n) {
    if ((n.op() != OpKind::MaxPool && n.op() != OpKind::AveragePool) || n.outputs().size() != 1 ||
        !computed_.count(n.input(0)) || !staticF32(n.output(0), 4))
      return false;
    std::vector<int64_t> xs = extents(n.input(0)), ys = extents(n.output(0));
    std::vector<int64_t> kernel = n.attrInts("kernel_shape");
    if (kernel.size() != 2) return false;
    ir::ops::WindowAttrs wa = ir::ops::readWindowAttrs(n, 2, kernel);
    ir::ops::WindowDim dh = ir::ops::windowDim(wa, 0, xs[2]), dw = ir::ops::windowDim(wa, 1, xs[3]);
    if (dh.output != ys[2] || dw.output != ys[3]) return false;
    from(&n);
    ir::Attributes attrs = n.attrs();
    attrs.set("auto_pad", std::string("NOTSET"));
    attrs.set("kernel_shape", std::vector<int64_t>{kernel[0], kernel[1], 1});
    attrs.set("strides", std::vector<int64_t>{wa.strides[0], wa.strides[1], 1});
    attrs.set("dilations", std::vector<int64_t>{wa.dilations[0], wa.dilations[1], 1});
    attrs.set("pads", std::vector<int64_t>{dh.padBegin, dw.padBegin, 0, dh.padEnd, dw.padEnd, 0});
    const Blocked x = computed_.at(n.input(0));
    computed_[n.output(0)] = {made(b_.op(n.op(), {x.value}, attrs)), x.channels};
    return true;
  }

  bool convertGlobalAveragePool(ir::Node& n) {
    if (n.op() != OpKind::GlobalAveragePool || !computed_.count(n.input(0)) || !staticF32(n.output(0), 4))
      return false;
    from(&n);
    const Blocked x = computed_.at(n.input(0));
    computed_[n.output(0)] = {made(b_.reduceMean(x.value, {2, 3}, true)), x.channels};
    return true;
  }

  bool convertConcat(ir::Node& n) {
    if (n.op() != OpKind::Concat || !staticF32(n.output(0), 4) || ir::ops::normalizeAxis(n.attrInt("axis"), 4) != 1)
      return false;
    bool any = false;
    for (Value* v : n.inputs()) {
      if (!staticF32(v, 4) || extents(v)[1] % lanes_ != 0) return false;
      any = any || computed_.count(v);
    }
    if (!any) return false;
    from(&n);
    std::vector<Value*> parts;
    for (Value* v : n.inputs()) parts.push_back(block(v).value);
    ir::Attributes attrs;
    attrs.set("axis", int64_t(1));
    computed_[n.output(0)] = {made(b_.op(OpKind::Concat, parts, attrs)), extents(n.output(0))[1]};
    return true;
  }

  // Nodes made next are named after `n` and take its origins.
  void from(const ir::Node* n) {
    origin_ = n;
    if (n) b_.setNamePrefix(n->name() + "/blocked");
  }
  Value* made(Value* v) {
    if (origin_)
      for (const std::string& o : origin_->origins()) v->producer()->addOrigin(o);
    return v;
  }

  ir::Graph& g_;
  ir::GraphBuilder b_;
  int64_t lanes_;
  const ir::Node* origin_ = nullptr;
  std::unordered_map<const Value*, Blocked> computed_;   // a value whose producer runs blocked -> its blocked form
  std::unordered_map<const Value*, Blocked> converted_;  // a plain value -> its converted form
  std::unordered_map<const Value*, Value*> plain_;       // a computed value -> its plain form, where one is read
};

}  // namespace

bool blockChannels(ir::Graph& graph, const PassContext& ctx) {
  if (ctx.channelBlock <= 1) return false;
  return Blocker(graph, ctx.channelBlock).run();
}

}  // namespace dlc::passes
