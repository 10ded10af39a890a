// Core IR pieces: dtypes, shapes, tensors, the verifier, parser errors, .npy.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "ir/builder.h"
#include "ir/npy.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/tensor_compare.h"
#include "ir/verifier.h"
#include "support/error.h"

using namespace dlc;
using namespace dlc::ir;

TEST(DType, HalfConversionRoundTripsEveryHalfValue) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    float f = halfToFloat(uint16_t(bits));
    if (std::isnan(f)) continue;
    EXPECT_EQ(floatToHalf(f), bits) << "bits " << bits;
  }
}

TEST(DType, HalfRoundsToNearestEven) {
  EXPECT_EQ(halfToFloat(floatToHalf(1.0f + 1.0f / 2048)), 1.0f);            // tie -> even
  EXPECT_EQ(halfToFloat(floatToHalf(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);  // tie -> even (up)
  EXPECT_TRUE(std::isinf(halfToFloat(floatToHalf(70000.0f))));
  EXPECT_EQ(halfToFloat(floatToHalf(5.96046448e-08f)), 5.96046448e-08f);  // smallest subnormal
}

TEST(DType, Bfloat16RoundsToNearestEven) {
  EXPECT_EQ(bf16ToFloat(floatToBf16(1.0f)), 1.0f);
  EXPECT_EQ(bf16ToFloat(floatToBf16(1.00390625f)), 1.0f);  // tie -> even
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(std::nanf("")))));
}

TEST(Shape, SymbolicDimsPrintAndCompare) {
  Shape s({Dim::symbol("N"), Dim(3), Dim::unknown()});
  EXPECT_EQ(s.str(), "[N,3,?]");
  EXPECT_FALSE(s.isStatic());
  EXPECT_EQ(s.numElements(), std::nullopt);
  EXPECT_EQ(Shape({2, 3}).numElements(), 6);
}

// A graph input may declare any static dims; a count over int64 is unknown,
// not a signed overflow (UBSan).
TEST(Shape, ElementCountsThatDoNotFitInt64AreUnknown) {
  int64_t big = int64_t(1) << 40;
  EXPECT_EQ(Shape({big, big}).numElements(), std::nullopt);
  EXPECT_EQ(Shape({big, big, 0}).numElements(), 0);
  EXPECT_EQ(Shape({big, 1 << 20}).numElements(), int64_t(1) << 60);
}

TEST(Tensor, RefusesAbsurdSizesBeforeAllocating) {
  EXPECT_THROW(Tensor(DType::F32, {int64_t(1) << 40}), UserError);
  EXPECT_THROW(Tensor(DType::F32, {-1}), UserError);
  EXPECT_THROW(Tensor(DType::F32, {int64_t(1) << 62, 8}), UserError);  // overflow
  // The message reports the size without overflowing while computing it (UBSan).
  try {
    Tensor(DType::F32, {int64_t(1) << 62});
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("needs 4611686018427387904 elements of 4 bytes"), std::string::npos)
        << e.what();
  }
}

TEST(Tensor, ElementAccessOutsideTheTensorIsAnInternalError) {
  Tensor empty(DType::I64, {0});
  EXPECT_THROW(empty.getInt(0), InternalError);
  EXPECT_THROW(Tensor::scalar<float>(1).setDouble(1, 2.0), InternalError);
}

TEST(Tensor, CompareFollowsAllclose) {
  Tensor a = Tensor::fromVector<float>({3}, {1.0f, NAN, 100.0f});
  Tensor b = Tensor::fromVector<float>({3}, {1.0005f, NAN, 100.05f});
  EXPECT_EQ(compareTensors(a, b, {1e-3, 1e-7}), std::nullopt);
  auto diff = compareTensors(a, b, {1e-5, 1e-7});
  ASSERT_TRUE(diff.has_value());
  EXPECT_NE(diff->find("2 of 3 elements differ"), std::string::npos) << *diff;
  EXPECT_TRUE(compareTensors(a, Tensor::fromVector<float>({1, 3}, {1, 2, 3}), {}).has_value());
}

TEST(Npy, RoundTripsDtypesAndShapes) {
  auto dir = std::filesystem::temp_directory_path() / "dlc_npy_test";
  std::filesystem::create_directories(dir);
  for (Tensor t : {Tensor::fromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6}), Tensor::fromVector<int64_t>({4}, {-1, 0, 1, 7}),
                   Tensor::scalar<double>(2.5), Tensor::fromVector<bool>({2}, {true, false})}) {
    auto path = (dir / "t.npy").string();
    writeNpy(path, t);
    Tensor r = readNpy(path);
    EXPECT_EQ(compareTensors(r, t, {0, 0}), std::nullopt);
  }
  EXPECT_THROW(readNpy((dir / "missing.npy").string()), UserError);
}

TEST(Verifier, ReportsUseBeforeDefinitionAndBadAttributes) {
  Graph g;
  Value* x = g.addInput("x", TensorType(DType::F32, Shape({2})));
  Node* later = g.addNode(OpKind::Relu, {x}, 1, {}, "later");
  later->output(0)->setType(x->type());
  // A node that reads a value defined after it.
  Node* early = g.addNode(OpKind::Add, {x, x}, 1, {}, "early");
  early->output(0)->setType(x->type());
  later->setInput(0, early->output(0));
  Attributes bad;
  bad.set("nonsense", int64_t(1));
  Node* withAttr = g.addNode(OpKind::Relu, {x}, 1, bad, "attr");
  withAttr->output(0)->setType(x->type());
  g.setOutputs({later->output(0), withAttr->output(0)});
  auto problems = verify(g);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("used before it is defined"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("unknown attribute 'nonsense'"), std::string::npos) << problems[1];
}

TEST(Parser, ErrorsSayWhereAndWhat) {
  try {
    parseGraph("graph @g(%x: f32[2]) {\n  %y: f32[2] = Frob(%x)\n  return %y\n}\n");
    FAIL() << "expected an error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("2:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown op 'Frob'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parseGraph("graph @g(%x: f32[2]) {\n  return %z\n}"), UserError);
  EXPECT_THROW(parseGraph("graph @g(%x: q8[2]) {\n  return %x\n}"), UserError);
  EXPECT_THROW(parseGraph("graph @g() {\n  %c: f32[2] = const [1.0]\n  return %c\n}"), UserError);
}

TEST(Parser, RoundTripsAttributesNamesAndAbsentOperands) {
  const char* text = R"(graph @"odd name"(%"in/0": f32[N,"batch size",?], %b: i64[*]) {
  %c: f32[2] = const [1.5, -inf]
  %s: f32[N,"batch size",?] = Reshape(%"in/0", %b) {allowzero = 0} loc("reshape1", "onnx_node_7")
  return %s, %c
}
)";
  Graph g = parseGraph(text);
  EXPECT_EQ(printGraph(g), text);
}

TEST(Builder, ReportsTypeErrorsWhereTheyAreMade) {
  GraphBuilder b;
  Value* x = b.input("x", TensorType(DType::F32, Shape({2, 3})));
  Value* y = b.input("y", TensorType(DType::F32, Shape({4, 5})));
  EXPECT_THROW(b.op(OpKind::MatMul, {x, y}), UserError);
  Value* i = b.input("i", TensorType(DType::I64, Shape({2, 3})));
  EXPECT_THROW(b.op(OpKind::Add, {x, i}), UserError);
}
