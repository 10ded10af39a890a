// Memory limits and untrusted text: what is refused before it is allocated.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ir/infer.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "support/error.h"

using namespace dlc;
using namespace dlc::ir;

static std::string userErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}

TEST(Limits, CheckTensorBytesNamesTheTensorAndTheLimit) {
  EXPECT_NO_THROW(checkTensorBytes(DType::F32, {4, 4}, 64, "w"));
  EXPECT_EQ(userErrorOf([] { checkTensorBytes(DType::F32, {4, 5}, 64, "tensor 'w'"); }),
            "tensor 'w' of shape [4,5] and dtype f32 needs 20 elements of 4 bytes, over the limit of 64 bytes");
  EXPECT_NE(userErrorOf([] { checkTensorBytes(DType::F32, {int64_t(1) << 62, 8}, 64, "w"); }).find("too many elements"),
            std::string::npos);
}

// Regression (found by reading the parser while writing its fuzz target): a
// constant declaring 2^30 elements was allocated (4 GiB) before its values
// were counted.
TEST(Limits, ParserRefusesConstantLargerThanItsText) {
  std::string msg = userErrorOf([] {
    parseGraph("graph @g() {\n  %c: f32[1073741824] = const [1.0]\n  return %c\n}");
  });
  EXPECT_NE(msg.find("f32[1073741824] needs more values than the text holds"), std::string::npos) << msg;
}

TEST(Limits, InterpreterRefusesAResultOverTheLimitBeforeRunningIt) {
  Graph g = parseGraph(R"(
graph @g(%x: f32[1,1]) {
  %s: i64[2] = const [1000, 1000]
  %y: f32[1000,1000] = Expand(%x, %s) loc("expand")
  return %y
}
)");
  NamedTensors in{{"x", Tensor::fromVector<float>({1, 1}, {1.0f})}};
  EXPECT_EQ(interpret(g, in).at(0).numel(), 1000000);
  std::string msg = userErrorOf([&] { interpret(g, in, 1000); });
  EXPECT_NE(msg.find("result 0 of shape [1000,1000] and dtype f32 needs 1000000 elements of 4 bytes, over the limit of 1000 bytes"),
            std::string::npos)
      << msg;
}

// NaN and Inf propagate through arithmetic as IEEE 754 (and onnxruntime) say.
TEST(Limits, NanAndInfPropagate) {
  Graph g = parseGraph(R"(
graph @g(%a: f32[4], %b: f32[4]) {
  %s: f32[4] = Add(%a, %b)
  %d: f32[4] = Div(%a, %b)
  %m: f32[4] = Max(%a, %b)
  return %s, %d, %m
}
)");
  float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  auto out = interpret(g, {{"a", Tensor::fromVector<float>({4}, {nan, inf, 1.0f, -1.0f})},
                           {"b", Tensor::fromVector<float>({4}, {1.0f, -inf, 0.0f, 0.0f})}});
  auto s = out[0].data<float>(), d = out[1].data<float>(), m = out[2].data<float>();
  EXPECT_TRUE(std::isnan(s[0]));
  EXPECT_TRUE(std::isnan(s[1]));  // inf + -inf
  EXPECT_EQ(d[2], inf);           // 1 / 0
  EXPECT_EQ(d[3], -inf);          // -1 / 0
  EXPECT_TRUE(std::isnan(d[1]));  // inf / -inf
  EXPECT_TRUE(std::isnan(m[0]));  // Max propagates NaN, as onnxruntime
}

// Regression (fuzz_ir_parser): a graph input named twice was an internal
// error (Graph::newValue's invariant), not a parse error.
// Found by fuzz_ir_parser: a pooled extent near 2^63 overflowed the window
// arithmetic (undefined behaviour); it is a UserError now.
TEST(Limits, WindowOpsRefuseAbsurdExtents) {
  Graph g = parseGraph(R"(graph @g(%x: f32[1,3,28,9223372036854775807]) {
  %y: f32[1,3,30,30] = MaxPool(%x) {kernel_shape = [3, 3], pads = [2, 2, 2, 2]}
  return %y
}
)");
  EXPECT_THROW(inferTypes(g), UserError);
}

TEST(Limits, ParserRefusesValuesDefinedTwice) {
  EXPECT_NE(userErrorOf([] { parseGraph("graph @g(%x: f32[1], %x: f32[1]) {\n  return %x\n}"); })
                .find("value '%x' is defined twice"),
            std::string::npos);
  EXPECT_NE(userErrorOf([] {
              parseGraph("graph @g(%x: f32[2]) {\n  %a: f32[1], %a: f32[1] = Split(%x)\n  return %a\n}");
            }).find("value '%a' is defined twice"),
            std::string::npos);
}

// Regression (fuzz_onnx_import, UBSan): Clip's default bound -FLT_MAX stored
// into an int8 scalar was an out-of-range float-to-integer conversion.
TEST(Limits, SetDoubleSaturatesIntegers) {
  Tensor t(DType::I8, {4});
  t.setDouble(0, -3.4e38);
  t.setDouble(1, 1e300);
  t.setDouble(2, std::nan(""));
  t.setDouble(3, -7.9);
  EXPECT_EQ(t.toInts(), (std::vector<int64_t>{-128, 127, 0, -7}));
  Tensor u(DType::U64, {2});
  u.setDouble(0, -1.0);
  u.setDouble(1, 1e30);
  EXPECT_EQ(u.getDouble(0), 0.0);
  EXPECT_EQ(u.getDouble(1), double(std::numeric_limits<uint64_t>::max()));
}
