#include "ir/infer.h"

#include "ir/op_def.h"
#include "ir/verifier.h"

namespace dlc::ir {

void inferNode(Node& node) {
  // Inference functions index operands and results by position; a node built
  // from a malformed model may have too few of either.
  auto problems = arityProblems(node);
  if (!problems.empty()) throwUserError("{}", fmt::join(problems, "; "));
  InferContext ctx(node);
  try {
    node.def().infer(ctx);
  } catch (const UnsupportedError& e) {
    throw UnsupportedError(fmt::format("{}: {}", node.describe(), e.what()));
  } catch (const UserError& e) {
    throwUserError("{}: {}", node.describe(), e.what());
  }
  for (size_t i = 0; i < node.outputs().size(); ++i)
    DLC_CHECK(node.output(i)->dtype() != DType::Undefined, "{}: inference left result {} untyped",
              node.describe(), i);
}

void inferTypes(Graph& graph) {
  for (Node* n : graph.nodes()) inferNode(*n);
}

}  // namespace dlc::ir
