#include "tests/unit/op_test_util.h"

namespace dlc::ir::testing {

static std::vector<Tensor> runOneNode(OpKind op, const std::vector<std::optional<Tensor>>& operands, Attributes a,
                                      size_t numOutputs, bool asConstants) {
  GraphBuilder b("t");
  std::vector<Value*> values;
  NamedTensors feeds;
  for (size_t i = 0; i < operands.size(); ++i) {
    if (!operands[i] || !operands[i]->defined()) {
      values.push_back(nullptr);
      continue;
    }
    std::string name = "in" + std::to_string(i);
    if (asConstants) {
      values.push_back(b.constant(name, *operands[i]));
    } else {
      values.push_back(b.input(name, operands[i]->type()));
      feeds[name] = *operands[i];
    }
  }
  for (Value* v : b.opN(op, values, numOutputs, std::move(a))) b.output(v);
  return interpret(b.finish(), feeds);
}

std::vector<Tensor> runOp(OpKind op, const std::vector<std::optional<Tensor>>& operands, Attributes a,
                          size_t numOutputs) {
  return runOneNode(op, operands, std::move(a), numOutputs, false);
}

std::vector<Tensor> runOpOnConstants(OpKind op, const std::vector<std::optional<Tensor>>& operands, Attributes a,
                                     size_t numOutputs) {
  return runOneNode(op, operands, std::move(a), numOutputs, true);
}

}  // namespace dlc::ir::testing
