#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "ir/builder.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

using namespace dlc::ir;

TEST(IrText, BuilderGraphRoundTrips) {
  GraphBuilder b("mlp");
  Value* x = b.input("x", TensorType(DType::F32, Shape({Dim::symbol("N"), Dim(2)})));
  Value* w = b.constant("w", Tensor::fromVector<float>({2, 2}, {1.0f, -2.0f, 0.5f, 4.0f}));
  Value* y = b.op(OpKind::Relu, {b.op(OpKind::MatMul, {x, w}, {}, "mm")});
  b.output(y);
  Graph g = b.finish();
  std::string text = printGraph(g);
  Graph parsed = parseGraph(text);
  EXPECT_TRUE(verify(parsed).empty());
  EXPECT_EQ(printGraph(parsed), text);
  EXPECT_NE(text.find("f32[N,2]"), std::string::npos) << text;
}

TEST(Interpreter, RunsMatMulRelu) {
  Graph g = parseGraph(R"(
graph @t(%x: f32[1,2]) {
  %w: f32[2,2] = const [1.0, -2.0, 0.5, 4.0]
  %m: f32[1,2] = MatMul(%x, %w)
  %y: f32[1,2] = Relu(%m)
  return %y
}
)");
  auto out = interpret(g, {{"x", Tensor::fromVector<float>({1, 2}, {2.0f, 1.0f})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 2.5f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], 0.0f);
}

// The IR seeds of the fuzz corpus that tests/fuzz/make_corpus.sh printed
// from imported ONNX node tests (test_*.ir; the regression_*.ir seeds are
// malformed on purpose) parse back to the same text: the printer and the
// parser agree on every op, attribute and constant those imports produce
// (-inf masks, bool and i64 constants of the lowered opset-23/24 ops).
TEST(IrText, ImportedModelSeedsRoundTrip) {
  namespace fs = std::filesystem;
  int seeds = 0;
  for (const auto& e : fs::directory_iterator(DLC_IR_SEED_DIR)) {
    std::string name = e.path().filename().string();
    if (name.rfind("test_", 0) != 0 || e.path().extension() != ".ir") continue;
    std::ifstream f(e.path());
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Graph parsed = parseGraph(text);
    EXPECT_TRUE(verify(parsed).empty()) << name;
    EXPECT_EQ(printGraph(parsed), text) << name;
    ++seeds;
  }
  EXPECT_GE(seeds, 50);
}
