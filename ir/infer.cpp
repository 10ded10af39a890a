#include "ir/infer.h"

#include "ir/op_def.h"

namespace dlc::ir {

void inferNode(Node& node) {
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
