// Fused: one kernel made of several ops (passes/fusion.cpp forms them; the
// code generator lowers each one's body). Operands and results map one to one
// onto the `body` graph's inputs and outputs; the body reads nothing from
// outside (one-element constants and a reduction's axes are copied into it).
// `kind` names the kernel template; the body has the form the kind promises:
//   "elementwise": only elementwise ops, all with the same static result shape;
//   "matmul" / "gemm" / "conv": an f32 MatMul (operands of rank >= 2), Gemm or
//     Conv (1 or 2 spatial dims) first (also f16 or bf16: mixed precision),
//     then elementwise ops whose results
//     have the anchor's result shape (their other operands broadcast up to it);
//   "blocked_conv": a BlockedConv (the CPU's NCHWc convolution) first, then
//     such an elementwise epilogue;
//   "softmax" / "logsoftmax" / "layernorm": an f32 Softmax, LogSoftmax or
//     single-result LayerNormalization first, then such an elementwise epilogue;
//   "reduce": a Reduce* op with constant axes first, then such an epilogue;
//   "attention": scores = MatMul(Q, Kt), elementwise ops on the scores (scale,
//     mask; each takes the previous value, their other operands broadcast
//     to the scores), Softmax over the last axis, then MatMul(P, V), whose
//     result is the body's only output. All f32; Q [..., Sq, D], Kt [..., D,
//     Sk], V [..., Sk, Dv] with the result's batch dims (no broadcasting).
// Every value in the body has a static shape. The reference kernel runs the
// body, so a fused graph still runs on the interpreter.
#include <algorithm>

#include "ir/ops/op_util.h"

namespace dlc::ir {

namespace {

std::optional<OpKind> anchorOp(const std::string& kind) {
  if (kind == "matmul") return OpKind::MatMul;
  if (kind == "gemm") return OpKind::Gemm;
  if (kind == "conv") return OpKind::Conv;
  if (kind == "blocked_conv") return OpKind::BlockedConv;
  if (kind == "softmax") return OpKind::Softmax;
  if (kind == "logsoftmax") return OpKind::LogSoftmax;
  if (kind == "layernorm") return OpKind::LayerNormalization;
  return std::nullopt;
}

bool isReduceOp(OpKind op) { return opDef(op).has(kReduction) && opName(op).starts_with("Reduce"); }

// The "attention" form (see the note above).
void checkAttentionBody(InferContext& ctx, const Graph& body) {
  auto nodes = body.nodes();
  if (!body.outerUses().empty()) ctx.fail("the body reads '{}' from outside", body.outerUses()[0]->name());
  if (nodes.size() < 3 || nodes.front()->op() != OpKind::MatMul || nodes.back()->op() != OpKind::MatMul ||
      nodes[nodes.size() - 2]->op() != OpKind::Softmax)
    ctx.fail("an attention kernel must be MatMul, elementwise ops, Softmax, MatMul");
  const Node& scores = *nodes.front();
  const Node& softmax = *nodes[nodes.size() - 2];
  const Node& product = *nodes.back();
  if (body.outputs().size() != 1 || body.outputs()[0] != product.output(0))
    ctx.fail("an attention kernel's only result is its second MatMul's");
  for (const Node* n : {&scores, &softmax, &product})
    for (const Value* v : n->inputs())
      if (v->dtype() != DType::F32 || !v->type().isStatic())
        ctx.fail("attention node {} must read static f32 values", n->describe());
  if (!scores.output(0)->type().isStatic()) ctx.fail("the scores must have a static shape");
  const Shape& s = *scores.output(0)->type().shape;
  size_t rank = s.rank();
  auto sameBatch = [&](const Value* v) {
    const Shape& vs = *v->type().shape;
    if (vs.rank() != rank) return false;
    for (size_t a = 0; a + 2 < rank; ++a)
      if (!(vs[a] == s[a])) return false;
    return true;
  };
  if (rank < 2 || !sameBatch(scores.input(0)) || !sameBatch(scores.input(1)) || !sameBatch(product.input(1)))
    ctx.fail("attention operands must have the scores' rank and batch dims, found {}",
             scores.input(0)->type().shape->str());
  int64_t axis = softmax.attrInt("axis");
  if (axis != -1 && axis != int64_t(rank) - 1) ctx.fail("an attention kernel's Softmax must be over the last axis");
  if (product.input(0) != softmax.output(0)) ctx.fail("the second MatMul must read the Softmax's result first");
  const Value* previous = scores.output(0);
  for (size_t i = 1; i + 2 < nodes.size(); ++i) {
    const Node& n = *nodes[i];
    if (!n.def().has(kElementwise) || n.outputs().size() != 1 || n.output(0)->dtype() != DType::F32 ||
        n.output(0)->type().shape != scores.output(0)->type().shape)
      ctx.fail("body node {} of an attention kernel is not an f32 elementwise op on the scores", n.describe());
    if (std::count(n.inputs().begin(), n.inputs().end(), previous) != 1)
      ctx.fail("body node {} of an attention kernel must read the previous node's result once", n.describe());
    previous = n.output(0);
  }
  if (softmax.input(0) != previous) ctx.fail("the Softmax must read the scores' last elementwise result");
}

// Checks that the body has the form its kind promises (see the note above).
void checkBody(InferContext& ctx, const std::string& kind, const Graph& body) {
  auto anchor = anchorOp(kind);
  if (kind == "attention") return checkAttentionBody(ctx, body);
  if (!anchor && kind != "elementwise" && kind != "reduce")
    ctx.fail(
        "unknown kind '{}' (expected elementwise, matmul, gemm, conv, blocked_conv, softmax, logsoftmax, layernorm, "
        "reduce or attention)",
        kind);
  auto nodes = body.nodes();
  if (nodes.empty()) ctx.fail("the body of a {} kernel has no nodes", kind);
  if (!body.outerUses().empty()) ctx.fail("the body reads '{}' from outside", body.outerUses()[0]->name());
  const Node& first = *nodes[0];
  bool elementwise = kind == "elementwise";
  if (anchor && first.op() != *anchor)
    ctx.fail("a {} kernel must start with {}, found {}", kind, opName(*anchor), first.opName());
  if (kind == "reduce" && !isReduceOp(first.op()))
    ctx.fail("a reduce kernel must start with a Reduce* op, found {}", first.opName());
  if (kind == "reduce" && first.hasInput(1) && !first.input(1)->isConstant())
    ctx.fail("a reduce kernel's axes must be a constant of the body");
  // Anchors are f32; products (MatMul, Gemm, Conv) may be f16/bf16.
  DType anchorType = first.output(0)->dtype();
  bool product = kind == "matmul" || kind == "gemm" || kind == "conv";
  bool halfProduct = product && (anchorType == DType::F16 || anchorType == DType::BF16);
  if (!elementwise && kind != "reduce" && anchorType != DType::F32 && !halfProduct)
    ctx.fail("a {} kernel's anchor must be f32{}, found {}", kind, product ? ", f16 or bf16" : "",
             dtypeName(anchorType));
  const TensorType& groupType = first.output(0)->type();
  if (!groupType.isStatic()) ctx.fail("the body's first result '{}' has no static shape", first.output(0)->name());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = *nodes[i];
    if (i == 0 && !elementwise) continue;
    if (!n.def().has(kElementwise) || n.outputs().size() != 1)
      ctx.fail("body node {} of a {} kernel is not a single-result elementwise op", n.describe(), kind);
    if (n.output(0)->type().shape != groupType.shape)
      ctx.fail("body node {} has shape {}, but the kernel's shape is {}", n.describe(),
               n.output(0)->type().shape ? n.output(0)->type().shape->str() : "[*]", groupType.shape->str());
  }
}

void inferFused(InferContext& ctx) {
  const Graph& body = ctx.node().attrGraph("body");
  if (body.inputs().size() != ctx.numInputs())
    ctx.fail("the body takes {} inputs but the node has {} operands", body.inputs().size(), ctx.numInputs());
  if (body.outputs().size() != ctx.numOutputs())
    ctx.fail("the body has {} outputs but the node has {} results", body.outputs().size(), ctx.numOutputs());
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i)) ctx.fail("operand {} is absent", i);
    const TensorType& want = body.inputs()[i]->type();
    if (!(ctx.inputType(i) == want))
      ctx.fail("operand {} is {} but the body's input '{}' is {}", i, ctx.inputType(i).str(),
               body.inputs()[i]->name(), want.str());
  }
  checkBody(ctx, ctx.node().attrString("kind"), body);
  for (size_t i = 0; i < ctx.numOutputs(); ++i) ctx.setOutput(i, body.outputs()[i]->type());
}

void evalFused(EvalContext& ctx) {
  std::vector<Tensor> args;
  for (size_t i = 0; i < ctx.numInputs(); ++i) args.push_back(ctx.input(i));
  auto outs = ctx.subgraphRunner()(ctx.node().attrGraph("body"), args);
  for (size_t i = 0; i < ctx.numOutputs(); ++i) ctx.setOutput(i, std::move(outs.at(i)));
}

}  // namespace

const OpDef kFusedDef{
    .name = "Fused", .minInputs = 0, .maxInputs = kVariadic, .minOutputs = 1, .maxOutputs = kVariadic,
    .traits = kInternal,
    .attrs = {{"kind", AttrKind::String, std::nullopt}, {"body", AttrKind::Graph, std::nullopt}},
    .infer = inferFused,
    .eval = evalFused,
};

}  // namespace dlc::ir
