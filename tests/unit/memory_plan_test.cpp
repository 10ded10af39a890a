// The memory planner: reuse of dead buffers, views, in-place results.
#include <gtest/gtest.h>

#include "ir/graph_clone.h"
#include "ir/op_def.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/memory_plan.h"

using namespace dlc;

namespace {

passes::MemoryPlan plan(const ir::Graph& g, bool inPlace) {
  passes::MemoryPlanOptions options;
  options.isView = [](const ir::Node& n) { return n.op() == ir::OpKind::Reshape; };
  if (inPlace) options.canRunInPlace = [](const ir::Node& n, size_t) { return n.def().has(ir::kElementwise); };
  return passes::planMemory(g, options);
}

const ir::Value* value(const ir::Graph& g, const char* name) { return g.findValue(name); }

}  // namespace

// A chain a -> b -> c -> d: each value dies when the next is made, so two
// buffers suffice for three intermediates.
TEST(MemoryPlan, ReusesDeadBuffersInAChain) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[256]) {
  %a: f32[256] = Relu(%x)
  %b: f32[256] = Exp(%a)
  %c: f32[256] = Neg(%b)
  %d: f32[256] = Abs(%c)
  return %d
}
)");
  passes::MemoryPlan p = plan(g, false);
  EXPECT_EQ(p.numIntermediates, 3);
  EXPECT_EQ(p.intermediateBytes, 3 * 1024);
  EXPECT_EQ(p.arenaBytes, 2 * 1024);
  // a and c are never live together and may share; b overlaps both.
  EXPECT_NE(p.arenaOffset.at(value(g, "a")), p.arenaOffset.at(value(g, "b")));
  EXPECT_NE(p.arenaOffset.at(value(g, "b")), p.arenaOffset.at(value(g, "c")));
}

TEST(MemoryPlan, InPlaceElementwiseNeedsOneBuffer) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[256]) {
  %a: f32[256] = Relu(%x)
  %b: f32[256] = Exp(%a)
  %c: f32[256] = Neg(%b)
  %d: f32[256] = Abs(%c)
  return %d
}
)");
  passes::MemoryPlan p = plan(g, true);
  EXPECT_EQ(p.numInPlace, 2);  // b over a, c over b; a itself reads the graph input
  EXPECT_EQ(p.arenaBytes, 1024);
  EXPECT_EQ(p.root(value(g, "c")), value(g, "a"));
}

// A value read later (a skip connection) keeps its bytes until then.
TEST(MemoryPlan, LiveValuesAreNotOverwritten) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[64]) {
  %a: f32[64] = Relu(%x)
  %b: f32[64] = Exp(%a)
  %c: f32[64] = Neg(%b)
  %d: f32[64] = Add(%c, %a)
  return %d
}
)");
  passes::MemoryPlan p = plan(g, true);
  // c may reuse b in place, but not a (read by d).
  EXPECT_NE(p.root(value(g, "c")), value(g, "a"));
  int64_t a = p.arenaOffset.at(p.root(value(g, "a")));
  int64_t c = p.arenaOffset.at(p.root(value(g, "c")));
  EXPECT_NE(a, c);
  // d is the graph's output (written to the caller's buffer), so only c ran in place.
  EXPECT_EQ(p.numInPlace, 1);
}

TEST(MemoryPlan, ViewsShareTheirOperandsBytes) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[2,8]) {
  %a: f32[2,8] = Relu(%x)
  %s: i64[1] = const [16]
  %r: f32[16] = Reshape(%a, %s)
  %y: f32[16] = Exp(%r)
  %v: f32[16] = Reshape(%x, %s)
  %z: f32[16] = Add(%y, %v)
  return %z
}
)");
  passes::MemoryPlan p = plan(g, false);
  EXPECT_EQ(p.numViews, 2);
  EXPECT_EQ(p.root(value(g, "r")), value(g, "a"));
  EXPECT_EQ(p.root(value(g, "v")), value(g, "x"));  // a view of a graph input stays there
  EXPECT_FALSE(p.arenaOffset.count(value(g, "r")));
  // a is live until y is computed from its view, so y does not overwrite it.
  EXPECT_NE(p.arenaOffset.at(value(g, "a")), p.arenaOffset.at(value(g, "y")));
}

// Offset views (a contiguous Slice) point into an arena value's bytes, and
// keep it live; an offset into a graph input has no arena address and stays
// a node of its own.
TEST(MemoryPlan, OffsetViewsPointIntoArenaValues) {
  ir::Graph g = ir::parseGraph(R"(graph @g(%x: f32[4,8]) {
  %a: f32[4,8] = Relu(%x)
  %s: i64[1] = const [2]
  %e: i64[1] = const [4]
  %r: f32[2,8] = Slice(%a, %s, %e)
  %b: f32[4,8] = Exp(%x)
  %y: f32[2,8] = Neg(%r)
  %v: f32[2,8] = Slice(%x, %s, %e)
  %z: f32[2,8] = Add(%y, %v)
  return %z, %b
}
)");
  passes::MemoryPlanOptions options;
  options.offsetView = [](const ir::Node& n) -> std::optional<int64_t> {
    if (n.op() == ir::OpKind::Slice) return 2 * 8 * 4;
    return std::nullopt;
  };
  passes::MemoryPlan p = passes::planMemory(g, options);
  EXPECT_EQ(p.numViews, 1);
  EXPECT_EQ(p.root(value(g, "r")), value(g, "a"));
  EXPECT_EQ(p.byteOffsetInRoot(value(g, "r")), 64);
  EXPECT_EQ(p.byteOffsetInRoot(value(g, "a")), 0);
  EXPECT_EQ(p.root(value(g, "v")), value(g, "v"));  // of a graph input: not a view
  // a stays live until y reads it through r: y does not overwrite it.
  EXPECT_NE(p.arenaOffset.at(value(g, "a")), p.arenaOffset.at(value(g, "y")));
}

TEST(GraphClone, CopiesNodesTypesAndSubgraphReads) {
  const char* text = R"(graph @g(%c: bool[], %x: f32[2]) {
  %k: f32[2] = const [1.0, 2.0]
  %y: f32[2] = If(%c) {else_branch = graph @e() {
      return %k
    }, then_branch = graph @t() {
      %p: f32[2] = Add(%x, %k)
      return %p
    }}
  %z: f32[2] = Relu(%y)
  return %z
}
)";
  ir::Graph g = ir::parseGraph(text);
  ir::Graph copy = ir::cloneGraph(g);
  EXPECT_EQ(ir::printGraph(copy), ir::printGraph(g));
  // The copy's subgraph reads the copy's values, not the original's.
  const ir::Graph& thenBranch = copy.nodes()[0]->attrGraph("then_branch");
  EXPECT_EQ(thenBranch.nodes()[0]->input(0), copy.findValue("x"));
  EXPECT_NE(thenBranch.nodes()[0]->input(0), g.findValue("x"));
}
