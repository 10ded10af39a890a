// Every import handler, and every IR op that imports 1:1, given a node that
// lacks inputs the op requires: no inputs at all, the first input omitted
// ("") before ones that are present, every input omitted. The importer must
// answer with a UserError (a message naming the node), never dereference the
// missing value (the fuzzer found Swish-24 doing that), nor throw anything
// else. Under the sanitizer build a null dereference is reported even where
// it would not crash.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <set>
#include <string>
#include <vector>

#include "frontend/onnx/importer.h"
#include "frontend/onnx/node_importer.h"
#include "ir/op_def.h"
#include "ir/op_kind.h"
#include "support/error.h"

using namespace dlc;

namespace {

struct OpAtOpset {
  std::string domain;
  std::string opType;
  int opset;
};

// `inputs`: "" for an omitted input, otherwise a name bound to a float
// graph input, of shape [2, 3] or (`ranked` false) of unknown rank.
std::string nodeModel(const OpAtOpset& op, const std::vector<std::string>& inputs, bool ranked = true) {
  onnx::ModelProto model;
  model.set_ir_version(10);
  model.add_opset_import()->set_version(op.domain.empty() ? op.opset : 21);
  if (!op.domain.empty()) {
    auto* imp = model.add_opset_import();
    imp->set_domain(op.domain);
    imp->set_version(op.opset);
  }
  auto* graph = model.mutable_graph();
  graph->set_name("missing_inputs");
  auto* node = graph->add_node();
  node->set_op_type(op.opType);
  node->set_domain(op.domain);
  node->set_name(op.opType + "_node");
  for (const std::string& name : inputs) {
    node->add_input(name);
    if (name.empty()) continue;
    auto* in = graph->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    if (!ranked) continue;
    tt->mutable_shape()->add_dim()->set_dim_value(2);
    tt->mutable_shape()->add_dim()->set_dim_value(3);
  }
  node->add_output("y");
  graph->add_output()->set_name("y");
  return model.SerializeAsString();
}

std::vector<OpAtOpset> everyImportableOp() {
  std::vector<OpAtOpset> ops;
  std::set<std::string> tabled;
  frontend::onnx::ImporterTable table;
  for (const auto& e : table.entries()) {
    int until = std::min(e.untilOpset, e.domain.empty() ? frontend::onnx::kMaxOpset : e.untilOpset);
    ops.push_back({e.domain, e.opType, e.sinceOpset});
    if (until != e.sinceOpset) ops.push_back({e.domain, e.opType, until});
    if (e.domain.empty()) tabled.insert(e.opType);
  }
  for (size_t i = 0; i < ir::kNumOps; ++i) {
    auto kind = ir::OpKind(i);
    std::string name(ir::opName(kind));
    if (ir::opDef(kind).has(ir::kInternal) || tabled.count(name)) continue;
    ops.push_back({"", name, frontend::onnx::kMaxOpset});
  }
  return ops;
}

TEST(OnnxImportMissingInputs, EveryOpAnswersWithAUserError) {
  const std::vector<std::vector<std::string>> shapes = {
      {},
      {"", "b"},
      {"", "b", "c"},
      {"", "b", "c", "d", "e", "f", "g"},
      {"", "", ""},
  };
  std::vector<OpAtOpset> ops = everyImportableOp();
  ASSERT_GT(ops.size(), 150u) << "the table and the IR ops should give many ops";
  size_t refused = 0;
  for (const OpAtOpset& op : ops) {
    for (const auto& inputs : shapes) {
      std::string where = op.opType + "-" + std::to_string(op.opset) + " with inputs [";
      for (size_t i = 0; i < inputs.size(); ++i) where += (i ? ", \"" : "\"") + inputs[i] + "\"";
      where += "]";
      try {
        frontend::onnx::importOnnxBytes(nodeModel(op, inputs), "");
      } catch (const UserError& e) {
        ++refused;
        EXPECT_NE(std::string(e.what()), "") << where;
        continue;
      } catch (const std::exception& e) {
        ADD_FAILURE() << where << ": threw a non-user error: " << e.what();
        continue;
      }
      // Accepted: only ops whose inputs are all optional may do so, and
      // then the model is well formed; nothing to check beyond no crash.
    }
  }
  // Most ops require their first input; a sweep where nothing is refused
  // would mean the models above never reach the handlers.
  EXPECT_GT(refused, ops.size() * 3);
}

// The same sweep with every input present but of unknown rank: handlers
// that need a rank must say so (UnsupportedError is a UserError), not read
// a shape that is not there.
TEST(OnnxImportMissingInputs, InputsOfUnknownRankAnswerWithAUserError) {
  for (const OpAtOpset& op : everyImportableOp()) {
    for (const std::vector<std::string>& inputs : {std::vector<std::string>{"a"}, {"a", "b", "c"}}) {
      std::string where = op.opType + "-" + std::to_string(op.opset) + " with " + std::to_string(inputs.size()) +
                          " inputs of unknown rank";
      try {
        frontend::onnx::importOnnxBytes(nodeModel(op, inputs, false), "");
      } catch (const UserError&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << where << ": threw a non-user error: " << e.what();
      }
    }
  }
}

TEST(OnnxImportMissingInputs, MessageNamesTheOpAndTheInput) {
  OpAtOpset swish{"", "Swish", 24};
  try {
    frontend::onnx::importOnnxBytes(nodeModel(swish, {}), "");
    FAIL() << "Swish without inputs was accepted";
  } catch (const UserError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("Swish"), std::string::npos) << msg;
    EXPECT_NE(msg.find("input 0 (X)"), std::string::npos) << msg;
  }
}

}  // namespace
