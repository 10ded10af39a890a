// The ONNX exporter: opset imports, the ops whose IR form differs from the
// ONNX form (dtype codes, required outputs, the training domain), subgraphs
// reading outer constants, symbolic dims, absent operands, and the refusal
// of IR-only ops. Each model is exported, read back by the importer and run
// on the interpreter against the original graph. (Every ONNX node test and
// real model round trips too: ctest conformance_node_roundtrip_export and
// real_model_*_roundtrip_export.)
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/tensor_compare.h"
#include "support/error.h"

using namespace dlc;
using namespace dlc::ir;

namespace {

::onnx::ModelProto exportToProto(const Graph& g) {
  ::onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(frontend::onnx::exportOnnxBytes(g)));
  return m;
}

Graph roundTrip(const Graph& g) {
  return frontend::onnx::importOnnxBytes(frontend::onnx::exportOnnxBytes(g), ".").graph;
}

// Exports, imports and runs both graphs on `inputs`: identical outputs.
void expectSameOutputs(const Graph& g, const NamedTensors& inputs) {
  Graph back = roundTrip(g);
  std::vector<Tensor> want = interpret(g, inputs), got = interpret(back, inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    auto diff = compareTensors(got[i], want[i], Tolerance{0, 0});
    EXPECT_FALSE(diff.has_value()) << "output " << i << ": " << *diff << "\n" << printGraph(back);
  }
}

const ::onnx::AttributeProto* findAttribute(const ::onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::string exportError(const Graph& g) {
  try {
    frontend::onnx::exportOnnxBytes(g);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(OnnxExport, WritesOpset21AndOnlyTheUsedConstants) {
  Graph g = parseGraph(R"(graph @g(%x: f32[N,3]) {
  %axes: i64[1] = const [1]
  %unused: f32[2] = const [1.0, 2.0]
  %m: f32[N] = ReduceMean(%x, %axes) {keepdims = 0}
  %u: f32[N,1] = Unsqueeze(%m, %axes)
  return %u
}
)");
  ::onnx::ModelProto m = exportToProto(g);
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).domain(), "");
  EXPECT_EQ(m.opset_import(0).version(), 21);
  EXPECT_EQ(m.ir_version(), 10);
  ASSERT_EQ(m.graph().initializer_size(), 1);
  EXPECT_EQ(m.graph().initializer(0).name(), "axes");
  // The symbolic batch dim is a dim_param.
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_EQ(roundTrip(g).outputs()[0]->type().str(), "f32[N,1]");
  expectSameOutputs(g, {{"x", Tensor::fromVector<float>({2, 3}, {1, 2, 3, 4, 5, 7})}});
}

TEST(OnnxExport, DTypeAttributesBecomeTensorProtoCodes) {
  Graph g = parseGraph(R"(graph @g(%x: f32[2,2]) {
  %h: f16[2,2] = Cast(%x) {to = "f16"}
  %e: f64[2,2] = EyeLike(%x) {dtype = "f64"}
  return %h, %e
}
)");
  ::onnx::ModelProto m = exportToProto(g);
  ASSERT_EQ(m.graph().node_size(), 2);
  const auto* to = findAttribute(m.graph().node(0), "to");
  const auto* dtype = findAttribute(m.graph().node(1), "dtype");
  ASSERT_TRUE(to && dtype);
  EXPECT_EQ(to->type(), ::onnx::AttributeProto::INT);
  EXPECT_EQ(to->i(), ::onnx::TensorProto::FLOAT16);
  EXPECT_EQ(dtype->type(), ::onnx::AttributeProto::INT);
  EXPECT_EQ(dtype->i(), ::onnx::TensorProto::DOUBLE);
  expectSameOutputs(g, {{"x", Tensor::fromVector<float>({2, 2}, {1.5f, -2, 3, 0.1f})}});
}

TEST(OnnxExport, AbsentOperandsAreEmptyNames) {
  Graph g = parseGraph(R"(graph @g(%x: f32[4]) {
  %hi: f32[] = const [1.0]
  %y: f32[4] = Clip(%x, _, %hi)
  return %y
}
)");
  ::onnx::ModelProto m = exportToProto(g);
  ASSERT_EQ(m.graph().node(0).input_size(), 3);
  EXPECT_EQ(m.graph().node(0).input(1), "");
  expectSameOutputs(g, {{"x", Tensor::fromVector<float>({4}, {-3, 0.5f, 2, 9})}});
}

TEST(OnnxExport, RequiredOutputsTheIrLeftOutAreAdded) {
  Graph g = parseGraph(R"(graph @g(%x: f32[4]) {
  %q: u8[4] = DynamicQuantizeLinear(%x)
  return %q
}
)");
  ::onnx::ModelProto m = exportToProto(g);
  ASSERT_EQ(m.graph().node(0).output_size(), 3);
  EXPECT_NE(m.graph().node(0).output(1), m.graph().node(0).output(2));
  expectSameOutputs(g, {{"x", Tensor::fromVector<float>({4}, {-1, 0.5f, 2, 3})}});
}

TEST(OnnxExport, OptimizerOpsGoIntoTheTrainingDomain) {
  Graph g = parseGraph(R"(graph @g(%r: f32[], %t: i64[], %x: f32[2], %gr: f32[2], %v: f32[2], %h: f32[2]) {
  %x2: f32[2], %v2: f32[2], %h2: f32[2] = Adam(%r, %t, %x, %gr, %v, %h)
  return %x2, %v2, %h2
}
)");
  ::onnx::ModelProto m = exportToProto(g);
  ASSERT_EQ(m.opset_import_size(), 2);
  EXPECT_EQ(m.opset_import(1).domain(), "ai.onnx.preview.training");
  EXPECT_EQ(m.opset_import(1).version(), 1);
  EXPECT_EQ(m.graph().node(0).domain(), "ai.onnx.preview.training");
  Tensor two = Tensor::fromVector<float>({2}, {0.5f, -1});
  expectSameOutputs(g, {{"r", Tensor::scalar<float>(0.1f)}, {"t", Tensor::scalar<int64_t>(3)}, {"x", two},
                        {"gr", two}, {"v", two}, {"h", two}});
}

// The body reads %x and the constant %w of the main graph, and has a
// constant of its own.
TEST(OnnxExport, LoopBodiesReadingOuterValuesRoundTrip) {
  Graph g = parseGraph(R"(graph @loop(%x: f32[2], %n: i64[]) {
  %zero: f32[2] = const [0.0, 0.0]
  %w: f32[2] = const [2.0, -1.0]
  %cond: bool[] = const [1]
  %acc: f32[2], %trace: f32[?,2] = Loop(%n, %cond, %zero) {body = graph @body(%i: i64[], %c: bool[], %a: f32[2]) {
      %half: f32[] = const [0.5]
      %s: f32[2] = Mul(%x, %w)
      %t: f32[2] = Mul(%s, %half)
      %next: f32[2] = Add(%a, %t)
      %keep: bool[] = Identity(%c)
      return %keep, %next, %next
    }}
  return %acc, %trace
}
)");
  ::onnx::ModelProto m = exportToProto(g);
  const auto* body = findAttribute(m.graph().node(0), "body");
  ASSERT_TRUE(body);
  EXPECT_EQ(body->type(), ::onnx::AttributeProto::GRAPH);
  EXPECT_EQ(body->g().initializer_size(), 1);  // %half; %w is the main graph's
  EXPECT_EQ(m.graph().initializer_size(), 3);
  expectSameOutputs(g, {{"x", Tensor::fromVector<float>({2}, {1, 2})}, {"n", Tensor::scalar<int64_t>(3)}});
}

TEST(OnnxExport, IfBranchesRoundTrip) {
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
  expectSameOutputs(g, {{"c", Tensor::scalar<bool>(true)}, {"x", x}});
  expectSameOutputs(g, {{"c", Tensor::scalar<bool>(false)}, {"x", x}});
}

// Fused kernels are IR-only: the error names every such node and says why.
TEST(OnnxExport, FusedGraphsAreRefusedNamingTheNodes) {
  Graph g = parseGraph(R"(graph @g(%x: f32[2,3]) {
  %w: f32[3,2] = const [1.0, -2.0, 0.5, 3.0, 0.25, 1.5]
  %y: f32[2,2] = Fused(%x, %w) {body = graph @mm(%x: f32[2,3], %w: f32[3,2]) {
      %m: f32[2,2] = MatMul(%x, %w)
      %y: f32[2,2] = Relu(%m)
      return %y
    }, kind = "matmul"} loc("mm_relu")
  %z: f32[2,2] = Fused(%y) {body = graph @ew(%y: f32[2,2]) {
      %z: f32[2,2] = Neg(%y)
      return %z
    }, kind = "elementwise"} loc("neg")
  return %z
}
)");
  std::string e = exportError(g);
  EXPECT_NE(e.find("ONNX export: no ONNX form for node"), std::string::npos) << e;
  EXPECT_NE(e.find("(Fused)"), std::string::npos) << e;
  EXPECT_NE(e.find("IR-only"), std::string::npos) << e;
  EXPECT_NE(e.find("mm_relu"), std::string::npos) << e;
  EXPECT_NE(e.find("neg"), std::string::npos) << e;
}

// An ONNX op lowered to several IR ops (RMSNormalization, Attention, ...)
// names them all after itself; ONNX runtimes refuse two nodes of one name.
TEST(OnnxExport, NodeNamesAreUnique) {
  Graph g = parseGraph(R"(graph @g(%x: f32[2]) {
  %a: f32[2] = Relu(%x) loc("norm", "norm")
  %b: f32[2] = Neg(%a) loc("norm", "norm")
  %y: f32[2] = Abs(%b) loc("norm", "norm")
  return %y
}
)");
  ::onnx::ModelProto m = exportToProto(g);
  ASSERT_EQ(m.graph().node_size(), 3);
  EXPECT_EQ(m.graph().node(0).name(), "norm");
  EXPECT_EQ(m.graph().node(1).name(), "norm_1");
  EXPECT_EQ(m.graph().node(2).name(), "norm_2");
  expectSameOutputs(g, {{"x", Tensor::fromVector<float>({2}, {-1, 2})}});
}
