// Unit tests of the nn op family: shape inference (with symbolic dims), the
// reference kernels on small hand-computed values, and clear errors.
#include <gtest/gtest.h>

#include "tests/unit/op_test_util.h"

#include <onnx/onnx_pb.h>

#include <cmath>

#include "frontend/onnx/importer.h"
#include "ir/builder.h"
#include "ir/interpreter.h"
#include "support/error.h"

using namespace dlc::ir;

using namespace dlc::ir::testing;

namespace {

using Ints = std::vector<int64_t>;


TensorType f32(std::vector<Dim> dims) { return TensorType(DType::F32, Shape(std::move(dims))); }

Tensor floats(Ints shape, std::vector<float> values) { return Tensor::fromVector<float>(std::move(shape), values); }


std::vector<float> values(const Tensor& t) {
  auto d = t.data<float>();
  return {d.begin(), d.end()};
}

void expectNear(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

}  // namespace

TEST(NnGemm, InfersSymbolicRowsWithTransposedB) {
  GraphBuilder b;
  Value* a = b.input("a", f32({Dim::symbol("N"), 3}));
  Value* w = b.input("w", f32({4, 3}));
  Value* y = b.op(OpKind::Gemm, {a, w}, attrs({{"transB", int64_t(1)}}));
  EXPECT_EQ(y->type().str(), "f32[N,4]");
}

TEST(NnGemm, ComputesAlphaBetaAndBroadcastBias) {
  auto out = runOpOnConstants(OpKind::Gemm,
                 {floats({2, 2}, {1, 2, 3, 4}), floats({2, 2}, {1, 0, 0, 1}), floats({2}, {10, 20})},
                 attrs({{"alpha", 2.0}, {"transB", int64_t(1)}}));
  expectNear(values(out[0]), {12, 24, 16, 28});
}

TEST(NnGemm, RejectsMismatchedInnerDims) {
  GraphBuilder b;
  Value* a = b.input("a", f32({2, 3}));
  Value* w = b.input("w", f32({4, 5}));
  EXPECT_THROW(b.op(OpKind::Gemm, {a, w}), dlc::UserError);
}

TEST(NnMatMul, InfersBatchBroadcast) {
  GraphBuilder b;
  Value* a = b.input("a", f32({Dim::symbol("B"), 2, 3}));
  Value* w = b.input("w", f32({3, 5}));
  EXPECT_EQ(b.op(OpKind::MatMul, {a, w})->type().str(), "f32[B,2,5]");
}

TEST(NnConv, InfersPaddedAndStridedShapes) {
  GraphBuilder b;
  Value* x = b.input("x", f32({Dim::symbol("N"), 1, 5, 5}));
  Value* w = b.input("w", f32({2, 1, 3, 3}));
  EXPECT_EQ(b.op(OpKind::Conv, {x, w}, attrs({{"pads", Ints{1, 1, 1, 1}}}))->type().str(), "f32[N,2,5,5]");
  EXPECT_EQ(b.op(OpKind::Conv, {x, w}, attrs({{"pads", Ints{1, 1, 1, 1}}, {"strides", Ints{2, 2}}}))->type().str(),
            "f32[N,2,3,3]");
  EXPECT_EQ(b.op(OpKind::Conv, {x, w}, attrs({{"auto_pad", std::string("SAME_UPPER")}, {"strides", Ints{2, 2}}}))
                ->type().str(),
            "f32[N,2,3,3]");
  // Symbolic spatial dims survive windows that keep the extent.
  Value* xs = b.input("xs", f32({Dim::symbol("N"), 1, Dim::symbol("H"), 5}));
  EXPECT_EQ(b.op(OpKind::Conv, {xs, w}, attrs({{"auto_pad", std::string("SAME_LOWER")}}))->type().str(), "f32[N,2,H,5]");
  EXPECT_EQ(b.op(OpKind::Conv, {xs, w}, attrs({{"pads", Ints{1, 1, 1, 1}}}))->type().str(), "f32[N,2,?,5]");
}

TEST(NnConv, ComputesWithBias) {
  auto out = runOpOnConstants(OpKind::Conv,
                 {floats({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), floats({1, 1, 2, 2}, {1, 1, 1, 1}),
                  floats({1}, {1})});
  EXPECT_EQ(out[0].shape(), (Ints{1, 1, 2, 2}));
  expectNear(values(out[0]), {13, 17, 25, 29});
}

TEST(NnConv, ComputesGroupedOneDimensional) {
  // Two groups of one channel each; kernel [1, -1] gives differences.
  auto out = runOpOnConstants(OpKind::Conv, {floats({1, 2, 3}, {1, 2, 4, 10, 20, 40}), floats({2, 1, 2}, {1, -1, 2, 0})},
                 attrs({{"group", int64_t(2)}}));
  expectNear(values(out[0]), {-1, -2, 20, 40});
}

TEST(NnConv, RejectsChannelMismatch) {
  GraphBuilder b;
  Value* x = b.input("x", f32({1, 3, 5, 5}));
  Value* w = b.input("w", f32({2, 2, 3, 3}));
  EXPECT_THROW(b.op(OpKind::Conv, {x, w}), dlc::UserError);
}

TEST(NnConvTranspose, InfersStridedOutput) {
  GraphBuilder b;
  Value* x = b.input("x", f32({Dim::symbol("N"), 1, 2, 2}));
  Value* w = b.input("w", f32({1, 3, 2, 2}));
  EXPECT_EQ(b.op(OpKind::ConvTranspose, {x, w}, attrs({{"strides", Ints{2, 2}}}))->type().str(), "f32[N,3,4,4]");
}

TEST(NnConvTranspose, ScattersKernel) {
  auto out = runOpOnConstants(OpKind::ConvTranspose, {floats({1, 1, 2, 2}, {1, 2, 3, 4}), floats({1, 1, 2, 2}, {1, 1, 1, 1})});
  EXPECT_EQ(out[0].shape(), (Ints{1, 1, 3, 3}));
  expectNear(values(out[0]), {1, 3, 2, 4, 10, 6, 3, 7, 4});
}

TEST(NnConvTranspose, RejectsBadOutputShapeLength) {
  GraphBuilder b;
  Value* x = b.input("x", f32({1, 1, 2, 2}));
  Value* w = b.input("w", f32({1, 1, 2, 2}));
  EXPECT_THROW(b.op(OpKind::ConvTranspose, {x, w}, attrs({{"output_shape", Ints{4, 4, 4}}})), dlc::UserError);
}

TEST(NnPool, InfersCeilModeShape) {
  GraphBuilder b;
  Value* x = b.input("x", f32({Dim::symbol("N"), 3, 5, 5}));
  Value* y = b.op(OpKind::MaxPool, {x}, attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"ceil_mode", int64_t(1)}}));
  EXPECT_EQ(y->type().str(), "f32[N,3,3,3]");
  EXPECT_EQ(b.op(OpKind::GlobalAveragePool, {x})->type().str(), "f32[N,3,1,1]");
}

TEST(NnPool, MaxPoolReturnsValuesAndIndices) {
  std::vector<float> v(16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  auto out = runOpOnConstants(OpKind::MaxPool, {floats({1, 1, 4, 4}, v)},
                 attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}}), 2);
  expectNear(values(out[0]), {5, 7, 13, 15});
  EXPECT_EQ(out[1].toInts(), (Ints{5, 7, 13, 15}));
}

TEST(NnPool, AveragePoolCountsPaddingOnlyWhenAsked) {
  Attributes a = attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}});
  auto excl = runOpOnConstants(OpKind::AveragePool, {floats({1, 1, 2, 2}, {1, 2, 3, 4})}, a);
  expectNear(values(excl[0]), {1, 2, 3, 4});
  a.set("count_include_pad", int64_t(1));
  auto incl = runOpOnConstants(OpKind::AveragePool, {floats({1, 1, 2, 2}, {1, 2, 3, 4})}, a);
  expectNear(values(incl[0]), {0.25f, 0.5f, 0.75f, 1.0f});
}

TEST(NnPool, GlobalAndLpPools) {
  Tensor x = floats({1, 2, 2}, {3, 4, 0, -2});
  expectNear(values(runOpOnConstants(OpKind::GlobalAveragePool, {x})[0]), {3.5f, -1});
  expectNear(values(runOpOnConstants(OpKind::GlobalMaxPool, {x})[0]), {4, 0});
  expectNear(values(runOpOnConstants(OpKind::GlobalLpPool, {x})[0]), {5, 2});
  expectNear(values(runOpOnConstants(OpKind::LpPool, {x}, attrs({{"kernel_shape", Ints{2}}}))[0]), {5, 2});
}

TEST(NnPool, MaxUnpoolScattersByIndex) {
  auto out = runOpOnConstants(OpKind::MaxUnpool, {floats({1, 1, 1, 2}, {7, 9}), Tensor::fromVector<int64_t>({1, 1, 1, 2}, {1, 2})},
                 attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}}));
  EXPECT_EQ(out[0].shape(), (Ints{1, 1, 2, 4}));
  expectNear(values(out[0]), {0, 7, 9, 0, 0, 0, 0, 0});
}

TEST(NnPool, RejectsWrongKernelRankAndBadIndices) {
  GraphBuilder b;
  Value* x = b.input("x", f32({1, 1, 4, 4}));
  EXPECT_THROW(b.op(OpKind::MaxPool, {x}, attrs({{"kernel_shape", Ints{2}}})), dlc::UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::MaxUnpool, {floats({1, 1, 1, 1}, {1}), Tensor::fromVector<int64_t>({1, 1, 1, 1}, {99})},
                   attrs({{"kernel_shape", Ints{2, 2}}})),
               dlc::UserError);
}

TEST(NnEinsum, InfersExplicitAndImplicitOutputs) {
  GraphBuilder b;
  Value* a = b.input("a", f32({Dim::symbol("B"), 2, 3}));
  Value* w = b.input("w", f32({3, 4}));
  EXPECT_EQ(b.op(OpKind::Einsum, {a, w}, attrs({{"equation", std::string("...ij,jk->...ik")}}))->type().str(),
            "f32[B,2,4]");
  EXPECT_EQ(b.op(OpKind::Einsum, {a, w}, attrs({{"equation", std::string("bij,jk")}}))->type().str(),
            "f32[B,2,4]");  // implicit: the once-used labels b, i, k in order
}

TEST(NnEinsum, ComputesDiagonalTransposeAndContraction) {
  Tensor m = floats({2, 2}, {1, 2, 3, 4});
  expectNear(values(runOpOnConstants(OpKind::Einsum, {m}, attrs({{"equation", std::string("ii->i")}}))[0]), {1, 4});
  expectNear(values(runOpOnConstants(OpKind::Einsum, {m}, attrs({{"equation", std::string("ij->ji")}}))[0]), {1, 3, 2, 4});
  expectNear(values(runOpOnConstants(OpKind::Einsum, {m}, attrs({{"equation", std::string("ii")}}))[0]), {5});
  expectNear(values(runOpOnConstants(OpKind::Einsum, {m, m}, attrs({{"equation", std::string("ij,jk")}}))[0]), {7, 10, 15, 22});
  expectNear(values(runOpOnConstants(OpKind::Einsum, {m, floats({2}, {1, -1})}, attrs({{"equation", std::string("...j,j->...")}}))[0]),
             {-1, -1});
}

TEST(NnEinsum, RejectsOperandCountMismatch) {
  GraphBuilder b;
  Value* a = b.input("a", f32({2, 2}));
  EXPECT_THROW(b.op(OpKind::Einsum, {a}, attrs({{"equation", std::string("ij,jk->ik")}})), dlc::UserError);
  EXPECT_THROW(b.op(OpKind::Einsum, {a}, attrs({{"equation", std::string("ijk->i")}})), dlc::UserError);
}

TEST(NnRecurrent, InfersOutputShapes) {
  GraphBuilder b;
  Value* x = b.input("x", f32({7, Dim::symbol("N"), 3}));
  Value* w = b.input("w", f32({2, 16, 3}));
  Value* r = b.input("r", f32({2, 16, 4}));
  auto outs = b.opN(OpKind::LSTM, {x, w, r}, 3, attrs({{"direction", std::string("bidirectional")}, {"hidden_size", int64_t(4)}}));
  EXPECT_EQ(outs[0]->type().str(), "f32[7,2,N,4]");
  EXPECT_EQ(outs[1]->type().str(), "f32[2,N,4]");
  EXPECT_EQ(outs[2]->type().str(), "f32[2,N,4]");
  Value* xb = b.input("xb", f32({Dim::symbol("N"), 7, 3}));
  Value* wg = b.input("wg", f32({1, 12, 3}));
  Value* rg = b.input("rg", f32({1, 12, 4}));
  auto gru = b.opN(OpKind::GRU, {xb, wg, rg}, 2, attrs({{"layout", int64_t(1)}}));
  EXPECT_EQ(gru[0]->type().str(), "f32[N,7,1,4]");
  EXPECT_EQ(gru[1]->type().str(), "f32[N,1,4]");
}

TEST(NnRecurrent, RnnFollowsTheRecurrence) {
  auto out = runOpOnConstants(OpKind::RNN, {floats({2, 1, 1}, {1, 2}), floats({1, 1, 1}, {1}), floats({1, 1, 1}, {0.5f})},
                 attrs({{"hidden_size", int64_t(1)}}), 2);
  float h1 = std::tanh(1.0f), h2 = std::tanh(2.0f + 0.5f * h1);
  expectNear(values(out[0]), {h1, h2});
  expectNear(values(out[1]), {h2});
  // Reverse direction: the sequence is consumed from the end.
  auto rev = runOpOnConstants(OpKind::RNN, {floats({2, 1, 1}, {1, 2}), floats({1, 1, 1}, {1}), floats({1, 1, 1}, {0.5f})},
                 attrs({{"hidden_size", int64_t(1)}, {"direction", std::string("reverse")}}), 2);
  float r2 = std::tanh(2.0f), r1 = std::tanh(1.0f + 0.5f * r2);
  expectNear(values(rev[0]), {r1, r2});
}

TEST(NnRecurrent, GruAndLstmWithZeroWeightsDecayTheState) {
  Tensor x = floats({1, 1, 1}, {3});
  Tensor none;
  auto gru = runOpOnConstants(OpKind::GRU, {x, floats({1, 3, 1}, {0, 0, 0}), floats({1, 3, 1}, {0, 0, 0}), none, none,
                               floats({1, 1, 1}, {1})},
                 attrs({{"hidden_size", int64_t(1)}}), 2);
  expectNear(values(gru[1]), {0.5f});  // z = 0.5, candidate tanh(0) = 0
  auto lstm = runOpOnConstants(OpKind::LSTM, {x, floats({1, 4, 1}, {0, 0, 0, 0}), floats({1, 4, 1}, {0, 0, 0, 0}), none, none,
                                 floats({1, 1, 1}, {0}), floats({1, 1, 1}, {1})},
                  attrs({{"hidden_size", int64_t(1)}}), 3);
  expectNear(values(lstm[2]), {0.5f});                    // C = f * C0 + i * tanh(0)
  expectNear(values(lstm[1]), {0.5f * std::tanh(0.5f)});  // H = o * tanh(C)
}

TEST(NnRecurrent, RejectsUnknownDirectionAndShortSequenceLens) {
  GraphBuilder b;
  Value* x = b.input("x", f32({2, 1, 1}));
  Value* w = b.input("w", f32({1, 1, 1}));
  Value* r = b.input("r", f32({1, 1, 1}));
  EXPECT_THROW(b.op(OpKind::RNN, {x, w, r}, attrs({{"direction", std::string("sideways")}})), dlc::UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::RNN, {floats({2, 1, 1}, {1, 2}), floats({1, 1, 1}, {1}), floats({1, 1, 1}, {1}), Tensor(),
                                 Tensor::fromVector<int32_t>({1}, {5})}),
               dlc::UserError);
}

TEST(NnQuant, QuantizeAndDequantizePerAxis) {
  Tensor x = floats({2, 2}, {1.0f, 2.5f, -3.0f, 300.0f});
  Tensor scale = floats({2}, {1.0f, 2.0f});
  Tensor zp = Tensor::fromVector<uint8_t>({2}, {10, 0});
  auto q = runOpOnConstants(OpKind::QuantizeLinear, {x, scale, zp}, attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(q[0].dtype(), DType::U8);
  EXPECT_EQ(q[0].toInts(), (Ints{11, 12, 0, 150}));  // 2.5 rounds to even; -1.5 -> -2 saturates to 0
  auto d = runOpOnConstants(OpKind::DequantizeLinear, {q[0], scale, zp}, attrs({{"axis", int64_t(0)}}));
  expectNear(values(d[0]), {1, 2, 0, 300});  // the saturated -3 comes back as 0
}

TEST(NnQuant, InfersTypesAndRejectsBadScaleShape) {
  GraphBuilder b;
  Value* x = b.input("x", f32({Dim::symbol("N"), 3}));
  Value* s = b.constant("s", Tensor::scalar<float>(0.5f));
  Value* zp = b.constant("zp", Tensor::scalar<int8_t>(0));
  EXPECT_EQ(b.op(OpKind::QuantizeLinear, {x, s, zp})->type().str(), "i8[N,3]");
  EXPECT_EQ(b.op(OpKind::QuantizeLinear, {x, s})->type().str(), "u8[N,3]");
  auto dq = b.opN(OpKind::DynamicQuantizeLinear, {x}, 3);
  EXPECT_EQ(dq[0]->type().str(), "u8[N,3]");
  EXPECT_EQ(dq[1]->type().str(), "f32[]");
  EXPECT_THROW(runOpOnConstants(OpKind::QuantizeLinear, {floats({2, 2}, {1, 2, 3, 4}), floats({3}, {1, 1, 1})}), dlc::UserError);
}

TEST(NnQuant, DynamicQuantizeCoversZero) {
  auto out = runOpOnConstants(OpKind::DynamicQuantizeLinear, {floats({3}, {0.0f, 2.55f, 1.0f})}, {}, 3);
  EXPECT_NEAR(out[1].getDouble(0), 0.01, 1e-7);
  EXPECT_EQ(out[2].getInt(0), 0);
  EXPECT_EQ(out[0].toInts(), (Ints{0, 255, 100}));
}

TEST(NnQuant, IntegerMatMulAndConvSubtractZeroPoints) {
  Tensor a = Tensor::fromVector<uint8_t>({1, 2}, {3, 5});
  Tensor bm = Tensor::fromVector<uint8_t>({2, 1}, {2, 4});
  auto mm = runOpOnConstants(OpKind::MatMulInteger, {a, bm, Tensor::scalar<uint8_t>(1), Tensor::scalar<uint8_t>(2)});
  EXPECT_EQ(mm[0].dtype(), DType::I32);
  EXPECT_EQ(mm[0].toInts(), (Ints{8}));  // (3-1)*(2-2) + (5-1)*(4-2)
  Tensor x = Tensor::fromVector<uint8_t>({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor w = Tensor::fromVector<uint8_t>({1, 1, 2, 2}, {1, 1, 1, 1});
  auto conv = runOpOnConstants(OpKind::ConvInteger, {x, w, Tensor::scalar<uint8_t>(1)});
  EXPECT_EQ(conv[0].toInts(), (Ints{6}));
  GraphBuilder b;
  Value* xf = b.input("xf", f32({1, 1, 2, 2}));
  EXPECT_THROW(b.op(OpKind::ConvInteger, {xf, b.constant("w", w)}), dlc::UserError);
}

TEST(NnQuant, QLinearMatMulRequantizes) {
  auto out = runOpOnConstants(OpKind::QLinearMatMul,
                 {Tensor::fromVector<uint8_t>({1, 2}, {2, 4}), Tensor::scalar<float>(0.5f), Tensor::scalar<uint8_t>(0),
                  Tensor::fromVector<uint8_t>({2, 1}, {1, 3}), Tensor::scalar<float>(1.0f), Tensor::scalar<uint8_t>(1),
                  Tensor::scalar<float>(0.25f), Tensor::scalar<uint8_t>(5)});
  EXPECT_EQ(out[0].toInts(), (Ints{21}));  // (2*0 + 4*2) * 0.5 / 0.25 + 5
}

TEST(NnDet, ComputesBatchedDeterminants) {
  auto out = runOpOnConstants(OpKind::Det, {floats({2, 2, 2}, {1, 2, 3, 4, 2, 0, 0, 3})});
  EXPECT_EQ(out[0].shape(), (Ints{2}));
  expectNear(values(out[0]), {-2, 6});
  expectNear(values(runOpOnConstants(OpKind::Det, {floats({3, 3}, {0, 1, 0, 0, 0, 1, 1, 0, 0})})[0]), {1});
}

TEST(NnDet, InfersBatchAndRejectsNonSquare) {
  GraphBuilder b;
  Value* x = b.input("x", f32({Dim::symbol("N"), 3, 3}));
  EXPECT_EQ(b.op(OpKind::Det, {x})->type().str(), "f32[N]");
  Value* bad = b.input("bad", f32({2, 3}));
  EXPECT_THROW(b.op(OpKind::Det, {bad}), dlc::UserError);
}

TEST(NnMatMul, IntegerProductsAreExactAndSigned) {
  auto mm = runOpOnConstants(OpKind::MatMul, {Tensor::fromVector<int32_t>({1, 2}, {2, -3}), Tensor::fromVector<int32_t>({2, 1}, {4, 5})});
  EXPECT_EQ(mm[0].toInts(), (Ints{-7}));
  auto gemm = runOpOnConstants(OpKind::Gemm, {Tensor::fromVector<int64_t>({1, 2}, {2, -3}), Tensor::fromVector<int64_t>({2, 1}, {4, 5}),
                                 Tensor::scalar<int64_t>(-1)},
                  attrs({{"alpha", 2.0}}));
  EXPECT_EQ(gemm[0].toInts(), (Ints{-15}));
}

// ---- ONNX import of older opset forms ----

namespace {

// A one-node model with float inputs of the given shapes.
std::string oneNodeModel(int opset, const ::onnx::NodeProto& node, const std::vector<std::pair<std::string, Ints>>& inputs) {
  ::onnx::ModelProto model;
  model.set_ir_version(7);
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* g = model.mutable_graph();
  g->set_name("t");
  *g->add_node() = node;
  for (const auto& [name, shape] : inputs) {
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  g->add_output()->set_name(node.output(0));
  return model.SerializeAsString();
}

::onnx::NodeProto onnxNode(const std::string& type, std::vector<std::string> ins, std::vector<std::string> outs) {
  ::onnx::NodeProto n;
  n.set_op_type(type);
  for (const auto& i : ins) n.add_input(i);
  for (const auto& o : outs) n.add_output(o);
  return n;
}

}  // namespace

TEST(NnImport, OldOpsetFormsConvert) {
  using dlc::frontend::onnx::importOnnxBytes;
  ::onnx::NodeProto lp = onnxNode("LpPool", {"x"}, {"y"});
  auto* p = lp.add_attribute();
  p->set_name("p");
  p->set_type(::onnx::AttributeProto::FLOAT);
  p->set_f(2.0f);
  auto* k = lp.add_attribute();
  k->set_name("kernel_shape");
  k->set_type(::onnx::AttributeProto::INTS);
  k->add_ints(2);
  auto lpModel = importOnnxBytes(oneNodeModel(1, lp, {{"x", {1, 1, 4}}}), ".");
  EXPECT_EQ(lpModel.graph.outputs()[0]->type().str(), "f32[1,1,3]");

  ::onnx::NodeProto gemm = onnxNode("Gemm", {"a", "b", "c"}, {"y"});
  auto* bc = gemm.add_attribute();
  bc->set_name("broadcast");
  bc->set_type(::onnx::AttributeProto::INT);
  bc->set_i(1);
  auto gemmModel = importOnnxBytes(oneNodeModel(6, gemm, {{"a", {2, 3}}, {"b", {3, 4}}, {"c", {4}}}), ".");
  EXPECT_EQ(gemmModel.graph.outputs()[0]->type().str(), "f32[2,4]");

  ::onnx::NodeProto rnn = onnxNode("RNN", {"x", "w", "r"}, {"y"});
  auto* os = rnn.add_attribute();
  os->set_name("output_sequence");
  os->set_type(::onnx::AttributeProto::INT);
  os->set_i(1);
  auto rnnModel = importOnnxBytes(oneNodeModel(1, rnn, {{"x", {5, 2, 3}}, {"w", {1, 4, 3}}, {"r", {1, 4, 4}}}), ".");
  EXPECT_EQ(rnnModel.graph.outputs()[0]->type().str(), "f32[5,1,2,4]");
}
