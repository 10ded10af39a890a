// Golden IR tests of passes: IR text in -> pass -> IR text out, including
// cases where the pass must change nothing.
#include <gtest/gtest.h>

#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/tensor_compare.h"
#include "ir/verifier.h"
#include "passes/pass.h"
#include "support/error.h"
#include "tests/unit/pass_test_util.h"

using namespace dlc;
using namespace dlc::ir;

namespace {

// Runs one pass (by name) on `before` and checks the printed result.
void expectPass(const std::string& pass, const std::string& before, const std::string& after, bool changes = true) {
  Graph g = parseGraph(before);
  ASSERT_TRUE(verify(g).empty());
  const passes::PassInfo* info = passes::findPass(pass);
  ASSERT_NE(info, nullptr) << pass;
  EXPECT_EQ(info->run(g, {}), changes);
  EXPECT_TRUE(verify(g).empty()) << fmt::format("{}", fmt::join(verify(g), "\n"));
  EXPECT_EQ(printGraph(g), after);
}

}  // namespace

TEST(DeadCode, RemovesUnreadNodesAndConstants) {
  expectPass("dce", R"(graph @g(%x: f32[2]) {
  %unused: f32[2] = const [1.0, 2.0]
  %a: f32[2] = Relu(%x)
  %b: f32[2] = Add(%x, %unused)
  return %a
}
)",
             R"(graph @g(%x: f32[2]) {
  %a: f32[2] = Relu(%x)
  return %a
}
)");
}

TEST(DeadCode, KeepsWhatSubgraphsRead) {
  const char* text = R"(graph @g(%c: bool[], %x: f32[2]) {
  %k: f32[2] = const [1.0, 2.0]
  %y: f32[2] = If(%c) {else_branch = graph @e() {
      return %k
    }, then_branch = graph @t() {
      %p: f32[2] = Add(%x, %k)
      return %p
    }}
  return %y
}
)";
  expectPass("dce", text, text, false);
}

TEST(ConstantFolding, FoldsConstantChainsAndKeepsOutputNames) {
  expectPass("constant-folding", R"(graph @g(%x: f32[2]) {
  %a: f32[2] = const [1.0, 2.0]
  %b: f32[2] = Add(%a, %a)
  %y: f32[2] = Mul(%b, %x)
  return %y, %b
}
)",
             R"(graph @g(%x: f32[2]) {
  %a: f32[2] = const [1.0, 2.0]
  %b: f32[2] = const [2.0, 4.0]
  %b.replaced: f32[2] = Add(%a, %a)
  %y: f32[2] = Mul(%b, %x)
  return %y, %b
}
)");
}

TEST(ConstantFolding, FoldsShapeOfStaticShapesButNotSymbolicOnes) {
  expectPass("constant-folding", R"(graph @g(%x: f32[2,3], %n: f32[N,3]) {
  %s: i64[2] = Shape(%x)
  %t: i64[2] = Shape(%n)
  return %s, %t
}
)",
             R"(graph @g(%x: f32[2,3], %n: f32[N,3]) {
  %s: i64[2] = const [2, 3]
  %s.replaced: i64[2] = Shape(%x)
  %t: i64[2] = Shape(%n)
  return %s, %t
}
)");
}

TEST(ConstantFolding, LeavesNonConstantAndErroringNodesAlone) {
  const char* text = R"(graph @g(%x: i64[1]) {
  %z: i64[1] = const [0]
  %one: i64[1] = const [1]
  %bad: i64[1] = Div(%one, %z)
  %y: i64[1] = Add(%x, %bad)
  return %y
}
)";
  expectPass("constant-folding", text, text, false);
}

TEST(Cse, MergesIdenticalNodesAndConstants) {
  expectPass("cse", R"(graph @g(%x: f32[2]) {
  %a: f32[2] = const [1.0, 2.0]
  %b: f32[2] = const [1.0, 2.0]
  %p: f32[2] = Add(%x, %a)
  %q: f32[2] = Add(%x, %b)
  %y: f32[2] = Mul(%p, %q)
  return %y
}
)",
             R"(graph @g(%x: f32[2]) {
  %a: f32[2] = const [1.0, 2.0]
  %b: f32[2] = const [1.0, 2.0]
  %p: f32[2] = Add(%x, %a)
  %q: f32[2] = Add(%x, %a)
  %y: f32[2] = Mul(%p, %p)
  return %y
}
)");
}

TEST(Cse, DistinguishesAttributes) {
  const char* text = R"(graph @g(%x: f32[2]) {
  %p: f32[2] = LeakyRelu(%x) {alpha = 0.1}
  %q: f32[2] = LeakyRelu(%x) {alpha = 0.2}
  %y: f32[2] = Add(%p, %q)
  return %y
}
)";
  expectPass("cse", text, text, false);
}

// The forward MaxPool and the one with Indices that its gradient adds later:
// the wider node replaces the narrower and moves up before its readers. A
// Split with a different result count is a different computation.
TEST(Cse, MaxPoolWithIndicesStandsForThePlainOne) {
  dlc::testing::expectPasses({"cse", "dce"}, R"(graph @g(%x: f32[1,1,4,4]) {
  %p: f32[1,1,2,2] = MaxPool(%x) {kernel_shape = [2, 2], strides = [2, 2]}
  %r: f32[1,1,2,2] = Relu(%p)
  %q: f32[1,1,2,2], %i: i64[1,1,2,2] = MaxPool(%x) {kernel_shape = [2, 2], strides = [2, 2]}
  %c: f32[1,1,2,2] = Cast(%i) {to = "f32"}
  %y: f32[1,1,2,2] = Add(%r, %c)
  return %y
}
)",
               R"(graph @g(%x: f32[1,1,4,4]) {
  %q: f32[1,1,2,2], %i: i64[1,1,2,2] = MaxPool(%x) {kernel_shape = [2, 2], strides = [2, 2]}
  %r: f32[1,1,2,2] = Relu(%q)
  %c: f32[1,1,2,2] = Cast(%i) {to = "f32"}
  %y: f32[1,1,2,2] = Add(%r, %c)
  return %y
}
)");
  const char* split = R"(graph @g(%x: f32[4]) {
  %a: f32[2], %b: f32[2] = Split(%x)
  %c: f32[1], %d: f32[1], %e: f32[2] = Split(%x)
  return %a, %b, %c, %d, %e
}
)";
  expectPass("cse", split, split, false);
}

TEST(PassManager, DefaultPipelinePreservesResults) {
  Graph g = parseGraph(R"(graph @g(%x: f32[2,2]) {
  %four: i64[1] = const [4]
  %s: i64[2] = Shape(%x)
  %n: i64[] = Size(%x)
  %r: f32[4] = Reshape(%x, %four)
  %r2: f32[4] = Reshape(%x, %four)
  %y: f32[4] = Add(%r, %r2)
  return %y, %s, %n
}
)");
  Tensor x = Tensor::fromVector<float>({2, 2}, {1, 2, 3, 4});
  auto before = interpret(g, {{"x", x}});
  std::string printed;
  auto pm = passes::defaultPipeline();
  pm.printAfter({"dce"}, [&](const std::string& s) { printed += s; });
  EXPECT_TRUE(pm.run(g));
  EXPECT_EQ(g.numNodes(), 2u);  // one Reshape and the Add remain
  EXPECT_NE(printed.find("// IR after dce"), std::string::npos);
  auto after = interpret(g, {{"x", x}});
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(compareTensors(after[i], before[i], {0, 0}), std::nullopt);
  EXPECT_THROW(pm.printAfter({"no-such-pass"}, nullptr), UserError);
}
