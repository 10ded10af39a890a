// simplify-layout: golden IR for transpose and reshape simplification.
#include "tests/unit/pass_test_util.h"

using namespace dlc;
using dlc::testing::expectPasses;

TEST(SimplifyLayout, ComposesTransposes) {
  expectPasses({"simplify-layout", "dce"}, R"(graph @g(%x: f32[2,3,4]) {
  %a: f32[3,4,2] = Transpose(%x) {perm = [1, 2, 0]} loc("t1", "t1")
  %b: f32[4,2,3] = Transpose(%a) {perm = [1, 2, 0]} loc("t2", "t2")
  return %b
}
)",
               R"(graph @g(%x: f32[2,3,4]) {
  %b: f32[4,2,3] = Transpose(%x) {perm = [2, 0, 1]} loc("t2", "t2", "t1")
  return %b
}
)");
}

TEST(SimplifyLayout, InverseTransposesCancel) {
  expectPasses({"simplify-layout", "dce"}, R"(graph @g(%x: f32[2,3]) {
  %a: f32[3,2] = Transpose(%x)
  %b: f32[2,3] = Transpose(%a)
  %y: f32[2,3] = Relu(%b)
  return %y
}
)",
               R"(graph @g(%x: f32[2,3]) {
  %y: f32[2,3] = Relu(%x)
  return %y
}
)");
}

TEST(SimplifyLayout, IdentityTransposeOfAnInputThatIsReturnedStays) {
  // Replacing %y by %x would rename the graph's output.
  const char* text = R"(graph @g(%x: f32[2,3]) {
  %y: f32[2,3] = Transpose(%x) {perm = [0, 1]}
  return %y
}
)";
  expectPasses({"simplify-layout"}, text, text, false);
}

TEST(SimplifyLayout, ReshapeChainBecomesOneReshape) {
  expectPasses({"simplify-layout", "dce"}, R"(graph @g(%x: f32[2,3,4]) {
  %axes: i64[1] = const [0]
  %a: f32[2,12] = Flatten(%x) loc("f", "f")
  %b: f32[1,2,12] = Unsqueeze(%a, %axes) loc("u", "u")
  %y: f32[1,2,12] = Relu(%b)
  return %y
}
)",
               R"(graph @g(%x: f32[2,3,4]) {
  %b.shape: i64[3] = const [1, 2, 12]
  %b: f32[1,2,12] = Reshape(%x, %b.shape) loc("u", "u", "f")
  %y: f32[1,2,12] = Relu(%b)
  return %y
}
)");
}

TEST(SimplifyLayout, ReshapeBackToTheSameShapeDisappears) {
  expectPasses({"simplify-layout", "dce"}, R"(graph @g(%x: f32[2,3]) {
  %s: i64[1] = const [6]
  %axes: i64[1] = const [0]
  %shape: i64[2] = const [2, 3]
  %a: f32[6] = Reshape(%x, %s)
  %b: f32[1,6] = Unsqueeze(%a, %axes)
  %c: f32[2,3] = Reshape(%b, %shape)
  %y: f32[2,3] = Neg(%c)
  return %y
}
)",
               R"(graph @g(%x: f32[2,3]) {
  %y: f32[2,3] = Neg(%x)
  return %y
}
)");
}

TEST(SimplifyLayout, SymbolicAndCanonicalReshapesStay) {
  const char* text = R"(graph @g(%x: f32[N,6], %z: f32[2,3]) {
  %s: i64[2] = const [-1, 3]
  %t: i64[2] = const [3, 2]
  %a: f32[?,3] = Reshape(%x, %s)
  %b: f32[3,2] = Reshape(%z, %t)
  %c: f32[3,2] = Transpose(%z)
  return %a, %b, %c
}
)";
  expectPasses({"simplify-layout"}, text, text, false);
}

// A Transpose that moves only dims of extent 1 keeps every element in its
// memory order: a Reshape (a view on the backends). GPT at batch 1 has two
// per layer ([128, 1, 256] <-> [1, 128, 256]).
TEST(SimplifyLayout, TransposeOfUnitDimsBecomesAReshape) {
  expectPasses({"simplify-layout", "dce"}, R"(graph @g(%x: f32[4,1,3]) {
  %t: f32[1,4,3] = Transpose(%x) {perm = [1, 0, 2]} loc("t", "t")
  %y: f32[1,4,3] = Relu(%t)
  return %y
}
)",
               R"(graph @g(%x: f32[4,1,3]) {
  %t.shape: i64[3] = const [1, 4, 3]
  %t: f32[1,4,3] = Reshape(%x, %t.shape) loc("t", "t")
  %y: f32[1,4,3] = Relu(%t)
  return %y
}
)");
}

// No change where a dim of extent > 1 moves past another.
TEST(SimplifyLayout, TransposeMovingDataStays) {
  const char* text = R"(graph @g(%x: f32[4,1,3]) {
  %t: f32[3,1,4] = Transpose(%x) {perm = [2, 1, 0]}
  %y: f32[3,1,4] = Relu(%t)
  return %y
}
)";
  expectPasses({"simplify-layout"}, text, text, false);
}
