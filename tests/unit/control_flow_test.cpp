// If, Loop and Scan: subgraphs in the text form, outer-value capture, and
// the interpreter running them.
#include <gtest/gtest.h>

#include "ir/infer.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "support/error.h"

using namespace dlc;
using namespace dlc::ir;

namespace {
// Sums x into an accumulator three times; the body reads the outer %x.
const char* kLoopText = R"(graph @loop(%x: f32[2], %n: i64[]) {
  %zero: f32[2] = const [0.0, 0.0]
  %cond: bool[] = const [1]
  %acc: f32[2], %trace: f32[?,2] = Loop(%n, %cond, %zero) {body = graph @body(%i: i64[], %c: bool[], %a: f32[2]) {
      %next: f32[2] = Add(%a, %x)
      %keep: bool[] = Identity(%c)
      return %keep, %next, %next
    }}
  return %acc, %trace
}
)";
}  // namespace

TEST(ControlFlow, LoopTextRoundTripsAndReadsOuterValues) {
  Graph g = parseGraph(kLoopText);
  EXPECT_TRUE(verify(g).empty()) << fmt::format("{}", fmt::join(verify(g), "\n"));
  EXPECT_EQ(printGraph(g), kLoopText);
  auto outs = interpret(g, {{"x", Tensor::fromVector<float>({2}, {1, 2})}, {"n", Tensor::scalar<int64_t>(3)}});
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_FLOAT_EQ(outs[0].data<float>()[1], 6.0f);
  EXPECT_EQ(outs[1].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_FLOAT_EQ(outs[1].data<float>()[2], 2.0f);  // second iteration, first element
}

// A trip count with no element is a UserError, not a read of element 0 of
// an empty tensor (ASan).
TEST(ControlFlow, LoopTripCountMustHoldOneElement) {
  std::string text = kLoopText;
  text.replace(text.find("%n: i64[]"), 9, "%n: i64[?]");
  Graph g = parseGraph(text);
  try {
    interpret(g, {{"x", Tensor::fromVector<float>({2}, {1, 2})}, {"n", Tensor(DType::I64, {0})}});
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("Loop's trip count must hold one element, found shape [0]"),
              std::string::npos)
        << e.what();
  }
}

TEST(ControlFlow, InferenceGivesStackedScanOutputs) {
  Graph g = parseGraph(kLoopText);
  inferTypes(g);
  EXPECT_EQ(g.outputs()[0]->type().str(), "f32[2]");
  EXPECT_EQ(g.outputs()[1]->type().str(), "f32[?,2]");
}

TEST(ControlFlow, IfPicksTheBranch) {
  Graph g = parseGraph(R"(graph @g(%c: bool[], %x: f32[2]) {
  %y: f32[2] = If(%c) {else_branch = graph @e() {
      %n: f32[2] = Relu(%x)
      return %n
    }, then_branch = graph @t() {
      %p: f32[2] = Add(%x, %x)
      return %p
    }}
  return %y
}
)");
  Tensor x = Tensor::fromVector<float>({2}, {-1, 3});
  auto yes = interpret(g, {{"c", Tensor::scalar<bool>(true)}, {"x", x}});
  auto no = interpret(g, {{"c", Tensor::scalar<bool>(false)}, {"x", x}});
  EXPECT_FLOAT_EQ(yes[0].data<float>()[0], -2.0f);
  EXPECT_FLOAT_EQ(no[0].data<float>()[0], 0.0f);
}

TEST(ControlFlow, ScanRunsBackwardsOverAnAxis) {
  Graph g = parseGraph(R"(graph @g(%s: f32[2], %xs: f32[3,2]) {
  %final: f32[2], %ys: f32[3,2] = Scan(%s, %xs) {body = graph @b(%state: f32[2], %x: f32[2]) {
      %sum: f32[2] = Add(%state, %x)
      %copy: f32[2] = Identity(%sum)
      return %sum, %copy
    }, num_scan_inputs = 1, scan_input_directions = [1]}
  return %final, %ys
}
)");
  auto outs = interpret(g, {{"s", Tensor::fromVector<float>({2}, {0, 0})},
                            {"xs", Tensor::fromVector<float>({3, 2}, {1, 10, 2, 20, 3, 30})}});
  EXPECT_FLOAT_EQ(outs[0].data<float>()[1], 60.0f);
  EXPECT_FLOAT_EQ(outs[1].data<float>()[0], 3.0f);  // first step saw the last row
  EXPECT_FLOAT_EQ(outs[1].data<float>()[4], 6.0f);
}

TEST(ControlFlow, VerifierReportsUndefinedValuesInsideSubgraphs) {
  Graph g = parseGraph(kLoopText);
  Graph other = parseGraph("graph @o(%z: f32[2]) {\n  return %z\n}\n");
  // Point the body's Add at a value of an unrelated graph.
  Node* loop = g.nodes()[0];
  const Graph& body = loop->attrGraph("body");
  body.nodes()[0]->setInput(1, other.inputs()[0]);
  auto problems = verify(g);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("in subgraph 'body'"), std::string::npos) << problems[0];
}
