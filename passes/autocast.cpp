// Mixed precision (--precision fp16|bf16 on CUDA), the rule torch.autocast
// applies to matrix products: every f32 MatMul, Gemm and (ungrouped) Conv
// computes in a half type. Its operands are cast to it (a constant weight's cast folds into a
// half constant, halving its memory), it runs there (on CUDA: cuBLAS with
// f32 accumulation, rounded to half once), and its result is cast back to
// f32, so that everything else -- normalisation, softmax, reductions, the
// graph's outputs -- stays f32. The casts are elementwise: fusion puts them
// into the neighbouring kernels.
// Pre: a typed graph. Post: no f32 MatMul, Gemm or ungrouped Conv; every
// value that was there keeps its name and type.
#include "ir/builder.h"
#include "passes/graph_util.h"
#include "passes/pass.h"
#include "support/error.h"

namespace dlc::passes {

namespace {
// New nodes carry the product's node name (its ONNX origin); new values are
// named after the value they stand for.
ir::Value* named(ir::Graph& g, ir::Value* v, const std::string& name) {
  g.renameValue(v, g.uniqueName(name));
  return v;
}

ir::Value* castTo(ir::GraphBuilder& b, ir::Value* v, ir::DType to, const std::string& origin) {
  ir::Attributes a;
  a.set("to", std::string(ir::dtypeName(to)));
  return b.op(ir::OpKind::Cast, {v}, std::move(a), origin);
}
}  // namespace

bool autocastMatrixProducts(ir::Graph& graph, ir::DType half) {
  if (half != ir::DType::F16 && half != ir::DType::BF16)
    throw InternalError("autocast: the half type must be f16 or bf16");
  std::vector<ir::Node*> products;
  for (ir::Node* n : graph.nodes()) {
    // Convolutions with groups (depthwise ones above all) are memory-bound
    // kernels of their own, not cuBLAS GEMMs: they stay f32.
    bool conv = n->op() == ir::OpKind::Conv && n->attrInt("group") == 1;
    if (n->op() != ir::OpKind::MatMul && n->op() != ir::OpKind::Gemm && !conv) continue;
    bool allF32 = n->output(0)->dtype() == ir::DType::F32;
    for (const ir::Value* v : n->inputs()) allF32 &= !v || v->dtype() == ir::DType::F32;
    if (allF32) products.push_back(n);
  }
  ir::GraphBuilder b(graph);
  for (ir::Node* n : products) {
    const std::string suffix = "." + std::string(ir::dtypeName(half)), origin = n->name();
    std::vector<ir::Value*> operands;
    for (ir::Value* v : n->inputs())
      operands.push_back(v ? named(graph, castTo(b, v, half, origin), v->name() + suffix) : nullptr);
    ir::Value* product = named(graph, b.op(n->op(), std::move(operands), n->attrs(), origin), n->output(0)->name() + suffix);
    ir::Value* result = castTo(b, product, ir::DType::F32, origin);
    replaceKeepingName(graph, n->output(0), result);
    // The new nodes stand for the product's ONNX nodes.
    for (ir::Value* v : {product, result})
      for (const std::string& o : n->origins()) v->producer()->addOrigin(o);
    for (ir::Value* v : product->producer()->inputs())
      if (v)
        for (const std::string& o : n->origins()) v->producer()->addOrigin(o);
  }
  if (!products.empty()) sortTopologically(graph);
  return !products.empty();
}

}  // namespace dlc::passes
