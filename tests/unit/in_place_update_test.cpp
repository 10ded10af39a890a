// Outputs written over inputs (codegen/cpu/in_place_update.h) through
// CpuModel::runInto: honoured when the schedule makes it safe, otherwise a
// fresh buffer copied over after the run; the results are the interpreter's
// either way, and the caller's tensor holds the output afterwards.
#include <gtest/gtest.h>

#include "codegen/cpu/cpu_model.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/tensor_compare.h"

namespace dlc::codegen::cpu {
namespace {

using ir::DType;
using ir::OpKind;
using ir::Tensor;
using ir::Value;

Tensor ramp(std::vector<int64_t> shape, float start) {
  Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, start + 0.25 * double(i));
  return t;
}

// Names the graph's outputs y0, y1, ... so that pairs can refer to them.
ir::Graph named(ir::GraphBuilder& b) {
  ir::Graph g = b.finish();
  for (size_t i = 0; i < g.outputs().size(); ++i) g.renameValue(g.outputs()[i], "y" + std::to_string(i));
  return g;
}

struct Case {
  ir::Graph graph;
  ir::NamedTensors inputs;
  InPlacePairs pairs;
};

// Runs the case with every output of a pair written into its input's
// tensor; checks every output against the interpreter (on the inputs as
// they were) and returns CpuModel::describe().
std::string runAndCheck(Case c) {
  ir::NamedTensors original;
  for (const auto& [name, t] : c.inputs) original[name] = t.clone();
  std::vector<Tensor> expected = ir::interpret(c.graph, original);
  std::vector<std::string> outputNames;
  for (const Value* v : c.graph.outputs()) outputNames.push_back(v->name());
  CpuModel model(std::move(c.graph), CpuOptions{"host", 2, c.pairs});
  std::vector<Tensor*> into(outputNames.size(), nullptr);
  for (const auto& [out, in] : c.pairs)
    for (size_t i = 0; i < outputNames.size(); ++i)
      if (outputNames[i] == out) into[i] = &c.inputs.at(in);
  std::vector<Tensor> got = model.runInto(c.inputs, into);
  for (size_t i = 0; i < got.size(); ++i) {
    auto diff = ir::compareTensors(got[i], expected[i], ir::Tolerance{1e-6, 1e-6});
    EXPECT_FALSE(diff.has_value()) << outputNames[i] << ": " << *diff;
    if (into[i]) {
      EXPECT_EQ(got[i].rawData(), into[i]->rawData()) << outputNames[i] << " is not in the given tensor";
      EXPECT_FALSE(ir::compareTensors(*into[i], expected[i], ir::Tolerance{1e-6, 1e-6}).has_value());
    }
  }
  return model.describe();
}

TEST(InPlaceUpdate, ElementwiseUpdateOverwritesItsInput) {
  ir::GraphBuilder b;
  Value* p = b.input("p", ir::TensorType(DType::F32, ir::Shape{3, 5}));
  Value* g = b.input("g", ir::TensorType(DType::F32, ir::Shape{3, 5}));
  b.output(b.sub(p, b.mul(g, b.scalar(0.5, DType::F32))));
  std::string plan = runAndCheck({named(b), {{"p", ramp({3, 5}, 1)}, {"g", ramp({3, 5}, -2)}}, {{"y0", "p"}}});
  EXPECT_NE(plan.find("in place: y0 over p"), std::string::npos) << plan;
}

// The update is scheduled after the later reader of p (y1 reads the old p).
TEST(InPlaceUpdate, UpdateMovesAfterTheLastReaderOfItsInput) {
  ir::GraphBuilder b;
  Value* p = b.input("p", ir::TensorType(DType::F32, ir::Shape{4, 8}));
  Value* w = b.input("w", ir::TensorType(DType::F32, ir::Shape{8, 3}));
  b.output(b.add(p, b.scalar(1, DType::F32)));
  b.output(b.unary(OpKind::Relu, b.op(OpKind::MatMul, {p, w})));
  std::string plan = runAndCheck({named(b), {{"p", ramp({4, 8}, -3)}, {"w", ramp({8, 3}, -1)}}, {{"y0", "p"}}});
  EXPECT_NE(plan.find("in place: y0 over p"), std::string::npos) << plan;
}

// A GEMM whose epilogue updates p (like an optimizer step fused into the
// weight-gradient GEMM): the raw product gets a buffer of its own.
TEST(InPlaceUpdate, GemmEpilogueUpdateKeepsTheProductOutOfTheInput) {
  ir::GraphBuilder b;
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{6, 4}));
  Value* dy = b.input("dy", ir::TensorType(DType::F32, ir::Shape{6, 5}));
  Value* p = b.input("p", ir::TensorType(DType::F32, ir::Shape{4, 5}));
  Value* grad = b.op(OpKind::MatMul, {b.transpose(x, {1, 0}), dy});
  b.output(b.sub(p, b.mul(grad, b.scalar(0.1, DType::F32))));
  std::string plan = runAndCheck(
      {named(b), {{"x", ramp({6, 4}, -2)}, {"dy", ramp({6, 5}, 1)}, {"p", ramp({4, 5}, 3)}}, {{"y0", "p"}}});
  EXPECT_NE(plan.find("in place: y0 over p"), std::string::npos) << plan;
}

// Unsafe pairs are copied after the run: the GEMM reads the input it would
// overwrite, and an output that is read by a later node cannot move after
// the other reader of its input.
TEST(InPlaceUpdate, UnsafePairsAreCopiedAfterTheRun) {
  {
    ir::GraphBuilder b;
    Value* a = b.input("a", ir::TensorType(DType::F32, ir::Shape{5, 5}));
    b.output(b.unary(OpKind::Relu, b.op(OpKind::MatMul, {a, a})));
    std::string plan = runAndCheck({named(b), {{"a", ramp({5, 5}, -3)}}, {{"y0", "a"}}});
    EXPECT_NE(plan.find("copied (not in place): y0 over a"), std::string::npos) << plan;
  }
  {
    ir::GraphBuilder b;
    Value* p = b.input("p", ir::TensorType(DType::F32, ir::Shape{2, 3}));
    Value* next = b.mul(p, b.scalar(2, DType::F32));
    b.output(next);
    b.output(b.mul(b.op(OpKind::Softmax, {next}), p));
    std::string plan = runAndCheck({named(b), {{"p", ramp({2, 3}, 1)}}, {{"y0", "p"}}});
    EXPECT_NE(plan.find("copied (not in place): y0 over p"), std::string::npos) << plan;
  }
}

TEST(InPlaceUpdate, WrongTargetTensorOrUnknownNameIsAnError) {
  ir::GraphBuilder b;
  Value* p = b.input("p", ir::TensorType(DType::F32, ir::Shape{3}));
  b.output(b.add(p, p));
  ir::Graph g = named(b);
  CpuModel model(ir::cloneGraph(g), CpuOptions{"host", 1, {{"y0", "p"}}});
  Tensor wrong(DType::F32, {4});
  std::vector<Tensor*> into{&wrong};
  EXPECT_THROW(model.runInto({{"p", ramp({3}, 0)}}, into), UserError);
  EXPECT_THROW(CpuModel(std::move(g), CpuOptions{"host", 1, {{"y0", "q"}}}), UserError);
}

}  // namespace
}  // namespace dlc::codegen::cpu
