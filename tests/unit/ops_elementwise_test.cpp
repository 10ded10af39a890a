// Unit tests of the elementwise op family: shape/type inference (with
// symbolic dims), reference kernels on small hand-computed values, errors
// for bad inputs, and the ONNX import handlers for older opsets.
#include <gtest/gtest.h>

#include "tests/unit/op_test_util.h"
#include <onnx/onnx_pb.h>

#include <cmath>
#include <limits>

#include "frontend/onnx/importer.h"
#include "ir/builder.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/ops/elementwise.h"

using namespace dlc::ir;

using namespace dlc::ir::testing;

namespace {

// "f32[N,3]"-style text of a type, for readable expectations.
std::string typeText(const TensorType& t) {
  if (!t.shape) return std::string(dtypeName(t.dtype)) + "[*]";
  std::string s = std::string(dtypeName(t.dtype)) + "[";
  for (size_t i = 0; i < t.shape->rank(); ++i) s += (i ? "," : "") + (*t.shape)[i].str();
  return s + "]";
}

Shape shapeOf(std::initializer_list<Dim> dims) { return Shape(std::vector<Dim>(dims)); }

// Infers `op` over graph inputs of the given types; returns the result types.
std::vector<std::string> infer(OpKind op, const std::vector<TensorType>& inputTypes, Attributes attrs = {},
                               size_t numOutputs = 1) {
  GraphBuilder b;
  std::vector<Value*> inputs;
  for (size_t i = 0; i < inputTypes.size(); ++i) inputs.push_back(b.input("in" + std::to_string(i), inputTypes[i]));
  std::vector<std::string> out;
  for (Value* v : b.opN(op, inputs, numOutputs, std::move(attrs))) out.push_back(typeText(v->type()));
  return out;
}
std::string infer1(OpKind op, const std::vector<TensorType>& inputTypes, Attributes attrs = {}) {
  return infer(op, inputTypes, std::move(attrs))[0];
}


template <typename T>
std::vector<T> values(const Tensor& t) {
  auto d = t.data<T>();
  return {d.begin(), d.end()};
}
std::vector<double> doubles(const Tensor& t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t.numel(); ++i) out.push_back(t.getDouble(i));
  return out;
}
void expectNear(const std::vector<double>& actual, const std::vector<double>& expected, double tol = 1e-6) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) EXPECT_TRUE(std::isnan(actual[i])) << "element " << i;
    else EXPECT_NEAR(actual[i], expected[i], tol) << "element " << i;
  }
}


template <typename T>
Tensor vec(const std::vector<T>& v) {
  return Tensor::fromVector<T>({int64_t(v.size())}, v);
}

const TensorType kF32N3(DType::F32, shapeOf({Dim::symbol("N"), Dim(3)}));
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

// ---- Identity, Relu, Add, Sub, Mul, Div ----------------------------------

TEST(ElementwiseBasic, InfersBroadcastWithSymbols) {
  EXPECT_EQ(infer1(OpKind::Add, {kF32N3, TensorType(DType::F32, shapeOf({3}))}), "f32[N,3]");
  EXPECT_EQ(infer1(OpKind::Mul, {TensorType(DType::U8, shapeOf({Dim::symbol("N"), 1})),
                                 TensorType(DType::U8, shapeOf({1, 4}))}),
            "u8[N,4]");
  EXPECT_EQ(infer1(OpKind::Relu, {TensorType(DType::I32, shapeOf({Dim::symbol("B")}))}), "i32[B]");
}

TEST(ElementwiseBasic, IntegerArithmeticWraps) {
  EXPECT_EQ(values<uint8_t>(runOp1(OpKind::Add, {vec<uint8_t>({250, 1}), vec<uint8_t>({10, 2})})),
            (std::vector<uint8_t>{4, 3}));
  EXPECT_EQ(values<uint8_t>(runOp1(OpKind::Sub, {vec<uint8_t>({1}), vec<uint8_t>({2})})), (std::vector<uint8_t>{255}));
  EXPECT_EQ(values<int32_t>(runOp1(OpKind::Add, {vec<int32_t>({INT32_MAX}), vec<int32_t>({1})})),
            (std::vector<int32_t>{INT32_MIN}));
  EXPECT_EQ(values<uint16_t>(runOp1(OpKind::Mul, {vec<uint16_t>({65535}), vec<uint16_t>({65535})})),
            (std::vector<uint16_t>{1}));
  EXPECT_EQ(values<int32_t>(runOp1(OpKind::Div, {vec<int32_t>({7, -7}), vec<int32_t>({2, 2})})),
            (std::vector<int32_t>{3, -3}));
  EXPECT_EQ(values<int8_t>(runOp1(OpKind::Relu, {vec<int8_t>({-3, 0, 5})})), (std::vector<int8_t>{0, 0, 5}));
}

TEST(ElementwiseBasic, RejectsBadOperands) {
  EXPECT_THROW(runOp1(OpKind::Div, {vec<int32_t>({1}), vec<int32_t>({0})}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Add, {kF32N3, TensorType(DType::I64, shapeOf({3}))}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Add, {TensorType(DType::F32, shapeOf({2})), TensorType(DType::F32, shapeOf({3}))}),
               dlc::UserError);
}

// ---- Unary math ----------------------------------------------------------

TEST(ElementwiseMath, InfersSameType) {
  EXPECT_EQ(infer1(OpKind::Exp, {kF32N3}), "f32[N,3]");
  EXPECT_EQ(infer1(OpKind::Abs, {TensorType(DType::I64, shapeOf({Dim::symbol("N")}))}), "i64[N]");
  EXPECT_EQ(infer1(OpKind::Sqrt, {TensorType::unranked(DType::F16)}), "f16[*]");
}

TEST(ElementwiseMath, Evaluates) {
  expectNear(doubles(runOp1(OpKind::Exp, {vec<float>({0.0f, 1.0f})})), {1.0, std::exp(1.0)});
  expectNear(doubles(runOp1(OpKind::Sqrt, {vec<double>({4.0, 2.0})})), {2.0, std::sqrt(2.0)}, 1e-12);
  expectNear(doubles(runOp1(OpKind::Reciprocal, {vec<float>({4.0f, -0.5f})})), {0.25, -2.0});
  expectNear(doubles(runOp1(OpKind::Acosh, {vec<float>({1.0f})})), {0.0});
  // Halves round to even.
  expectNear(doubles(runOp1(OpKind::Round, {vec<float>({0.5f, 1.5f, 2.5f, -2.5f, 2.6f})})), {0, 2, 2, -2, 3});
  expectNear(doubles(runOp1(OpKind::Floor, {vec<float>({-1.5f, 1.5f})})), {-2, 1});
  expectNear(doubles(runOp1(OpKind::Sign, {vec<float>({-3.0f, 0.0f, 2.0f, float(kNaN)})})), {-1, 0, 1, kNaN});
  EXPECT_EQ(values<int8_t>(runOp1(OpKind::Abs, {vec<int8_t>({-5, 7, -128})})), (std::vector<int8_t>{5, 7, -128}));
  EXPECT_EQ(values<int64_t>(runOp1(OpKind::Neg, {vec<int64_t>({5, INT64_MIN})})),
            (std::vector<int64_t>{-5, INT64_MIN}));
  expectNear(doubles(runOp1(OpKind::Neg, {Tensor::fromVector<Half>({1}, {Half{floatToHalf(1.5f)}})})), {-1.5});
}

TEST(ElementwiseMath, RejectsWrongDType) {
  EXPECT_THROW(infer1(OpKind::Sqrt, {TensorType(DType::I32, shapeOf({2}))}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Neg, {TensorType(DType::U8, shapeOf({2}))}), dlc::UserError);
}

// ---- Activations ----------------------------------------------------------

TEST(ElementwiseActivation, InfersSameType) {
  EXPECT_EQ(infer1(OpKind::Sigmoid, {kF32N3}), "f32[N,3]");
  EXPECT_EQ(infer1(OpKind::PRelu, {kF32N3, TensorType(DType::F32, shapeOf({3}))}), "f32[N,3]");
  EXPECT_EQ(infer1(OpKind::Gelu, {kF32N3}, attrs({{"approximate", std::string("tanh")}})), "f32[N,3]");
}

TEST(ElementwiseActivation, Evaluates) {
  Tensor x = vec<float>({-2.0f, 0.0f, 3.0f});
  expectNear(doubles(runOp1(OpKind::Sigmoid, {vec<float>({0.0f, -1000.0f, 1000.0f})})), {0.5, 0.0, 1.0});
  expectNear(doubles(runOp1(OpKind::LeakyRelu, {x}, attrs({{"alpha", 0.1}}))), {-0.2, 0.0, 3.0});
  expectNear(doubles(runOp1(OpKind::HardSigmoid, {x})), {0.1, 0.5, 1.0});
  expectNear(doubles(runOp1(OpKind::HardSwish, {x})), {-2.0 * (1.0 / 6.0), 0.0, 3.0});
  expectNear(doubles(runOp1(OpKind::Elu, {x}, attrs({{"alpha", 2.0}}))), {2.0 * (std::exp(-2.0) - 1), 0.0, 3.0});
  expectNear(doubles(runOp1(OpKind::Selu, {x})),
             {1.0507009873554805 * 1.6732632423543772 * (std::exp(-2.0) - 1), 0.0, 1.0507009873554805 * 3});
  expectNear(doubles(runOp1(OpKind::Celu, {x}, attrs({{"alpha", 2.0}}))), {2.0 * (std::exp(-1.0) - 1), 0.0, 3.0});
  expectNear(doubles(runOp1(OpKind::Softplus, {vec<float>({0.0f, 100.0f, -100.0f})})), {std::log(2.0), 100.0, 0.0});
  expectNear(doubles(runOp1(OpKind::Softsign, {x})), {-2.0 / 3.0, 0.0, 0.75});
  expectNear(doubles(runOp1(OpKind::ThresholdedRelu, {x}, attrs({{"alpha", 2.0}}))), {0.0, 0.0, 3.0});
  expectNear(doubles(runOp1(OpKind::Shrink, {x}, attrs({{"lambd", 1.0}, {"bias", 0.5}}))), {-1.5, 0.0, 2.5});
  EXPECT_EQ(values<int32_t>(runOp1(OpKind::Shrink, {vec<int32_t>({-3, 0, 3})}, attrs({{"lambd", 1.0}, {"bias", 1.0}}))),
            (std::vector<int32_t>{-2, 0, 2}));
  expectNear(doubles(runOp1(OpKind::Gelu, {vec<float>({1.0f})})), {0.8413447460685429});
  expectNear(doubles(runOp1(OpKind::Gelu, {vec<float>({1.0f})}, attrs({{"approximate", std::string("tanh")}}))),
             {0.8411919906082768});
  expectNear(doubles(runOp1(OpKind::Mish, {vec<float>({1.0f})})), {0.8650983882673103});
  Tensor x2 = Tensor::fromVector<float>({2, 2}, {-1.0f, -1.0f, 2.0f, -4.0f});
  expectNear(doubles(runOp1(OpKind::PRelu, {x2, vec<float>({0.5f, 0.25f})})), {-0.5, -0.25, 2.0, -1.0});
}

TEST(ElementwiseActivation, RejectsBadInputs) {
  EXPECT_THROW(infer1(OpKind::Gelu, {kF32N3}, attrs({{"approximate", std::string("fast")}})), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Celu, {kF32N3}, attrs({{"alpha", 0.0}})), dlc::UserError);
  EXPECT_THROW(runOp1(OpKind::PRelu, {vec<float>({1.0f}), vec<float>({0.5f, 0.25f})}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Sigmoid, {TensorType(DType::I32, shapeOf({2}))}), dlc::UserError);
}

// ---- Comparisons, logic, classification ----------------------------------

TEST(ElementwiseLogic, InfersBoolResults) {
  EXPECT_EQ(infer1(OpKind::Greater, {kF32N3, TensorType(DType::F32, shapeOf({Dim::symbol("N"), 1}))}), "bool[N,3]");
  EXPECT_EQ(infer1(OpKind::Equal, {TensorType(DType::Bool, shapeOf({2})), TensorType(DType::Bool, shapeOf({}))}),
            "bool[2]");
  EXPECT_EQ(infer1(OpKind::IsNaN, {kF32N3}), "bool[N,3]");
  EXPECT_EQ(infer1(OpKind::And, {TensorType(DType::Bool, shapeOf({Dim::symbol("K")})),
                                 TensorType(DType::Bool, shapeOf({1}))}),
            "bool[K]");
}

TEST(ElementwiseLogic, Evaluates) {
  Tensor a = vec<int32_t>({1, 2, 3});
  Tensor b = Tensor::scalar<int32_t>(2);
  EXPECT_EQ(values<bool>(runOp1(OpKind::Greater, {a, b})), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::LessOrEqual, {a, b})), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::GreaterOrEqual, {a, b})), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::Equal, {a, b})), (std::vector<bool>{false, true, false}));
  Tensor p = vec<bool>({true, true, false, false});
  Tensor q = vec<bool>({true, false, true, false});
  EXPECT_EQ(values<bool>(runOp1(OpKind::And, {p, q})), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::Or, {p, q})), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::Xor, {p, q})), (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::Not, {p})), (std::vector<bool>{false, false, true, true}));
  Tensor f = vec<float>({1.0f, float(kNaN), float(kInf), float(-kInf)});
  EXPECT_EQ(values<bool>(runOp1(OpKind::IsNaN, {f})), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::IsInf, {f})), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::IsInf, {f}, attrs({{"detect_negative", int64_t(0)}}))),
            (std::vector<bool>{false, false, true, false}));
}

TEST(ElementwiseLogic, RejectsWrongDTypes) {
  EXPECT_THROW(infer1(OpKind::And, {kF32N3, kF32N3}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Less, {TensorType(DType::Bool, shapeOf({2})), TensorType(DType::Bool, shapeOf({2}))}),
               dlc::UserError);
  EXPECT_THROW(infer1(OpKind::IsInf, {TensorType(DType::I32, shapeOf({2}))}), dlc::UserError);
}

// ---- Bitwise ----------------------------------------------------------------

TEST(ElementwiseBitwise, InfersAndEvaluates) {
  EXPECT_EQ(infer1(OpKind::BitShift, {TensorType(DType::U16, shapeOf({Dim::symbol("N")})), TensorType(DType::U16, shapeOf({1}))},
                   attrs({{"direction", std::string("LEFT")}})),
            "u16[N]");
  Tensor x = vec<uint16_t>({16, 4, 1});
  Tensor s = vec<uint16_t>({1, 2, 16});
  EXPECT_EQ(values<uint16_t>(runOp1(OpKind::BitShift, {x, s}, attrs({{"direction", std::string("RIGHT")}}))),
            (std::vector<uint16_t>{8, 1, 0}));
  EXPECT_EQ(values<uint16_t>(runOp1(OpKind::BitShift, {vec<uint16_t>({0xffff}), vec<uint16_t>({15})},
                                 attrs({{"direction", std::string("LEFT")}}))),
            (std::vector<uint16_t>{0x8000}));
  EXPECT_EQ(values<int32_t>(runOp1(OpKind::BitwiseAnd, {vec<int32_t>({12, -1}), vec<int32_t>({10, 7})})),
            (std::vector<int32_t>{8, 7}));
  EXPECT_EQ(values<uint8_t>(runOp1(OpKind::BitwiseOr, {vec<uint8_t>({12}), vec<uint8_t>({3})})), (std::vector<uint8_t>{15}));
  EXPECT_EQ(values<uint8_t>(runOp1(OpKind::BitwiseXor, {vec<uint8_t>({12}), vec<uint8_t>({10})})), (std::vector<uint8_t>{6}));
  EXPECT_EQ(values<int8_t>(runOp1(OpKind::BitwiseNot, {vec<int8_t>({0, 5})})), (std::vector<int8_t>{-1, -6}));
}

TEST(ElementwiseBitwise, RejectsBadInputs) {
  TensorType i32(DType::I32, shapeOf({2}));
  TensorType u8(DType::U8, shapeOf({2}));
  EXPECT_THROW(infer1(OpKind::BitShift, {i32, i32}, attrs({{"direction", std::string("LEFT")}})), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::BitShift, {u8, u8}, attrs({{"direction", std::string("UP")}})), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::BitwiseAnd, {kF32N3, kF32N3}), dlc::UserError);
}

// ---- Pow, Mod ---------------------------------------------------------------

TEST(ElementwiseArith, PowMixesDTypes) {
  EXPECT_EQ(infer1(OpKind::Pow, {kF32N3, TensorType(DType::I64, shapeOf({}))}), "f32[N,3]");
  EXPECT_EQ(infer1(OpKind::Pow, {TensorType(DType::I32, shapeOf({2})), TensorType(DType::F32, shapeOf({Dim::symbol("M"), 1}))}),
            "i32[M,2]");
  expectNear(doubles(runOp1(OpKind::Pow, {vec<float>({2.0f, 3.0f}), vec<int64_t>({3, -1})})), {8.0, 1.0 / 3.0});
  EXPECT_EQ(values<int32_t>(runOp1(OpKind::Pow, {vec<int32_t>({2, 3}), vec<float>({0.5f, 2.0f})})),
            (std::vector<int32_t>{1, 9}));
  EXPECT_EQ(values<int64_t>(runOp1(OpKind::Pow, {vec<int64_t>({3, 2, -1, 2}), vec<int64_t>({39, 62, -3, -1})})),
            (std::vector<int64_t>{4052555153018976267, int64_t(1) << 62, -1, 0}));
  EXPECT_THROW(runOp1(OpKind::Pow, {vec<int32_t>({0}), vec<int32_t>({-1})}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Pow, {TensorType(DType::Bool, shapeOf({2})), kF32N3}), dlc::UserError);
}

TEST(ElementwiseArith, ModFollowsSignConventions) {
  EXPECT_EQ(infer1(OpKind::Mod, {kF32N3, kF32N3}, attrs({{"fmod", int64_t(1)}})), "f32[N,3]");
  Tensor a = vec<int32_t>({-7, 7, -7, 7});
  Tensor b = vec<int32_t>({3, -3, -3, 3});
  EXPECT_EQ(values<int32_t>(runOp1(OpKind::Mod, {a, b})), (std::vector<int32_t>{2, -2, -1, 1}));
  EXPECT_EQ(values<int32_t>(runOp1(OpKind::Mod, {a, b}, attrs({{"fmod", int64_t(1)}}))),
            (std::vector<int32_t>{-1, 1, -1, 1}));
  expectNear(doubles(runOp1(OpKind::Mod, {vec<float>({-7.5f, 7.5f}), vec<float>({2.0f, -2.0f})}, attrs({{"fmod", int64_t(1)}}))),
             {-1.5, 1.5});
  expectNear(doubles(runOp1(OpKind::Mod, {vec<float>({-7.5f}), vec<float>({2.0f})})), {0.5});
  EXPECT_EQ(values<int64_t>(runOp1(OpKind::Mod, {vec<int64_t>({INT64_MIN}), vec<int64_t>({-1})})),
            (std::vector<int64_t>{0}));
  EXPECT_THROW(runOp1(OpKind::Mod, {vec<int32_t>({1}), vec<int32_t>({0})}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Mod, {kF32N3, kF32N3}, attrs({{"fmod", int64_t(2)}})), dlc::UserError);
}

// ---- Min, Max, Sum, Mean ----------------------------------------------------

TEST(ElementwiseVariadic, InfersBroadcastOfAllOperands) {
  EXPECT_EQ(infer1(OpKind::Max, {kF32N3, TensorType(DType::F32, shapeOf({1})),
                                 TensorType(DType::F32, shapeOf({2, 1, 1}))}),
            "f32[2,N,3]");
  EXPECT_EQ(infer1(OpKind::Sum, {kF32N3}), "f32[N,3]");
}

TEST(ElementwiseVariadic, Evaluates) {
  Tensor a = vec<float>({1.0f, 5.0f, float(kNaN)});
  Tensor b = Tensor::scalar<float>(3.0f);
  Tensor c = vec<float>({2.0f, 0.0f, 1.0f});
  expectNear(doubles(runOp1(OpKind::Max, {a, b, c})), {3.0, 5.0, kNaN});
  expectNear(doubles(runOp1(OpKind::Min, {a, b, c})), {1.0, 0.0, kNaN});
  expectNear(doubles(runOp1(OpKind::Sum, {a, b, c})), {6.0, 8.0, kNaN});
  expectNear(doubles(runOp1(OpKind::Mean, {vec<float>({1.0f, 2.0f}), vec<float>({3.0f, 6.0f})})), {2.0, 4.0});
  expectNear(doubles(runOp1(OpKind::Max, {c})), {2.0, 0.0, 1.0});
  EXPECT_EQ(values<uint32_t>(runOp1(OpKind::Min, {vec<uint32_t>({7, 4000000000u}), vec<uint32_t>({9, 3})})),
            (std::vector<uint32_t>{7, 3}));
}

TEST(ElementwiseVariadic, RejectsMixedDTypes) {
  EXPECT_THROW(infer1(OpKind::Max, {kF32N3, TensorType(DType::F64, shapeOf({3}))}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Mean, {TensorType(DType::I32, shapeOf({3}))}), dlc::UserError);
}

// ---- Where, Clip -----------------------------------------------------------

TEST(ElementwiseSelect, Where) {
  EXPECT_EQ(infer1(OpKind::Where, {TensorType(DType::Bool, shapeOf({Dim::symbol("N"), 1})),
                                   TensorType(DType::I64, shapeOf({3})), TensorType(DType::I64, shapeOf({}))}),
            "i64[N,3]");
  Tensor cond = Tensor::fromVector<bool>({2, 1}, {true, false});
  Tensor x = vec<int64_t>({1, 2});
  Tensor y = Tensor::scalar<int64_t>(-1);
  EXPECT_EQ(values<int64_t>(runOp1(OpKind::Where, {cond, x, y})), (std::vector<int64_t>{1, 2, -1, -1}));
  EXPECT_THROW(infer1(OpKind::Where, {kF32N3, kF32N3, kF32N3}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Where, {TensorType(DType::Bool, shapeOf({3})), kF32N3,
                                      TensorType(DType::F64, shapeOf({3}))}),
               dlc::UserError);
}

TEST(ElementwiseSelect, Clip) {
  EXPECT_EQ(infer1(OpKind::Clip, {kF32N3, TensorType(DType::F32, shapeOf({}))}), "f32[N,3]");
  Tensor x = vec<float>({-2.0f, 0.5f, 3.0f});
  expectNear(doubles(runOp1(OpKind::Clip, {x, Tensor::scalar<float>(-1.0f), Tensor::scalar<float>(1.0f)})), {-1.0, 0.5, 1.0});
  expectNear(doubles(runOp1(OpKind::Clip, {x, std::nullopt, Tensor::scalar<float>(0.0f)})), {-2.0, 0.0, 0.0});
  expectNear(doubles(runOp1(OpKind::Clip, {x})), {-2.0, 0.5, 3.0});
  EXPECT_EQ(values<int8_t>(runOp1(OpKind::Clip, {vec<int8_t>({-100, 5, 100}), Tensor::scalar<int8_t>(-10)})),
            (std::vector<int8_t>{-10, 5, 100}));
  EXPECT_THROW(infer1(OpKind::Clip, {kF32N3, TensorType(DType::F32, shapeOf({2}))}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Clip, {kF32N3, TensorType(DType::F64, shapeOf({}))}), dlc::UserError);
  EXPECT_THROW(runOp1(OpKind::Clip, {x, vec<float>({0.0f, 1.0f})}), dlc::UserError);
}

// ---- Cast ------------------------------------------------------------------

TEST(ElementwiseCast, InfersTargetDType) {
  EXPECT_EQ(infer1(OpKind::Cast, {kF32N3}, ops::castAttrs(DType::I64)), "i64[N,3]");
  EXPECT_EQ(infer1(OpKind::Cast, {TensorType::unranked(DType::Bool)}, ops::castAttrs(DType::F16)), "f16[*]");
}

TEST(ElementwiseCast, Converts) {
  Tensor f = vec<float>({-2.7f, 2.7f, float(kNaN), 1e20f, -1e20f, 0.0f});
  EXPECT_EQ(values<int32_t>(runOp1(OpKind::Cast, {f}, ops::castAttrs(DType::I32))),
            (std::vector<int32_t>{-2, 2, 0, INT32_MAX, INT32_MIN, 0}));
  EXPECT_EQ(values<bool>(runOp1(OpKind::Cast, {f}, ops::castAttrs(DType::Bool))),
            (std::vector<bool>{true, true, true, true, true, false}));
  expectNear(doubles(runOp1(OpKind::Cast, {vec<bool>({true, false})}, ops::castAttrs(DType::F64))), {1.0, 0.0});
  EXPECT_EQ(values<uint8_t>(runOp1(OpKind::Cast, {vec<int64_t>({256 + 7, -1})}, ops::castAttrs(DType::U8))),
            (std::vector<uint8_t>{7, 255}));
  Tensor h = runOp1(OpKind::Cast, {vec<double>({0.1, 65504.0})}, ops::castAttrs(DType::F16));
  EXPECT_EQ(h.dtype(), DType::F16);
  expectNear(doubles(h), {0.0999755859375, 65504.0});
  Tensor bf = runOp1(OpKind::Cast, {vec<float>({1.0f + 1.0f / 256.0f, 3.0f})}, ops::castAttrs(DType::BF16));
  expectNear(doubles(bf), {1.0, 3.0});  // round to nearest even
}

TEST(ElementwiseCast, TextFormRoundTrips) {
  const char* text = R"(graph @t(%x: f32[2]) {
  %y: i32[2] = Cast(%x) {to = "i32"}
  return %y
}
)";
  Graph g = parseGraph(text);
  EXPECT_EQ(printGraph(g), text);
  EXPECT_EQ(values<int32_t>(interpret(g, {{"x", vec<float>({3.5f, -0.5f})}})[0]), (std::vector<int32_t>{3, 0}));
}

TEST(ElementwiseCast, RejectsUnknownTarget) {
  Attributes bad;
  bad.set("to", std::string("float"));
  EXPECT_THROW(infer1(OpKind::Cast, {kF32N3}, bad), dlc::UserError);
}

// ---- Dropout -----------------------------------------------------------------

TEST(ElementwiseDropout, InferenceIsIdentity) {
  EXPECT_EQ(infer(OpKind::Dropout, {kF32N3}, {}, 2), (std::vector<std::string>{"f32[N,3]", "bool[N,3]"}));
  Tensor x = vec<float>({1.0f, -2.0f});
  auto out = runOp(OpKind::Dropout, {x, Tensor::scalar<float>(0.3f)}, {}, 2);
  expectNear(doubles(out[0]), {1.0, -2.0});
  EXPECT_EQ(values<bool>(out[1]), (std::vector<bool>{true, true}));
  // Training with ratio 0 keeps everything.
  out = runOp(OpKind::Dropout, {x, Tensor::scalar<float>(0.0f), Tensor::scalar<bool>(true)}, {}, 2);
  expectNear(doubles(out[0]), {1.0, -2.0});
}

TEST(ElementwiseDropout, RejectsTrainingAndBadRatio) {
  EXPECT_THROW(runOp(OpKind::Dropout, {vec<float>({1.0f}), Tensor::scalar<float>(0.5f), Tensor::scalar<bool>(true)}),
               dlc::UserError);
  EXPECT_THROW(runOp1(OpKind::Dropout, {vec<float>({1.0f}), Tensor::scalar<float>(1.5f)}), dlc::UserError);
  EXPECT_THROW(infer1(OpKind::Dropout, {TensorType(DType::I32, shapeOf({2}))}), dlc::UserError);
}

// ---- ONNX import of older opsets -------------------------------------------

namespace {

// A one-node ONNX model with float inputs of shape [n] named in0, in1, ...
struct OnnxModel {
  ::onnx::ModelProto proto;
  ::onnx::NodeProto* node;

  OnnxModel(const std::string& opType, int opset, std::vector<int> inputTypes, int numOutputs, int64_t n = 3) {
    proto.set_ir_version(7);
    proto.add_opset_import()->set_version(opset);
    auto* graph = proto.mutable_graph();
    graph->set_name("g");
    node = graph->add_node();
    node->set_op_type(opType);
    for (size_t i = 0; i < inputTypes.size(); ++i) {
      auto* in = graph->add_input();
      in->set_name("in" + std::to_string(i));
      auto* tt = in->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(inputTypes[i]);
      tt->mutable_shape()->add_dim()->set_dim_value(n);
      node->add_input(in->name());
    }
    for (int i = 0; i < numOutputs; ++i) {
      node->add_output("out" + std::to_string(i));
      graph->add_output()->set_name("out" + std::to_string(i));
    }
  }
  void setFloat(const std::string& name, float v) {
    auto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  void setInt(const std::string& name, int64_t v) {
    auto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  Graph import() const { return dlc::frontend::onnx::importOnnxBytes(proto.SerializeAsString(), ".").graph; }
};

}  // namespace

TEST(ElementwiseImport, ClipAttributesBecomeOperands) {
  OnnxModel m("Clip", 6, {::onnx::TensorProto::FLOAT}, 1);
  m.setFloat("min", -1.0f);
  Graph g = m.import();
  auto out = interpret(g, {{"in0", vec<float>({-5.0f, 0.5f, float(kInf)})}});
  // max defaults to the largest float.
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{-1.0f, 0.5f, std::numeric_limits<float>::max()}));
}

TEST(ElementwiseImport, CastCodesAndCastLike) {
  OnnxModel cast("Cast", 13, {::onnx::TensorProto::FLOAT}, 1);
  cast.setInt("to", ::onnx::TensorProto::INT64);
  Graph g = cast.import();
  EXPECT_EQ(typeText(g.outputs()[0]->type()), "i64[3]");
  EXPECT_EQ(values<int64_t>(interpret(g, {{"in0", vec<float>({1.9f, -1.9f, 0.0f})}})[0]),
            (std::vector<int64_t>{1, -1, 0}));

  OnnxModel like("CastLike", 15, {::onnx::TensorProto::FLOAT, ::onnx::TensorProto::DOUBLE}, 1);
  EXPECT_EQ(typeText(like.import().outputs()[0]->type()), "f64[3]");

  OnnxModel toString("Cast", 13, {::onnx::TensorProto::FLOAT}, 1);
  toString.setInt("to", ::onnx::TensorProto::STRING);
  EXPECT_THROW(toString.import(), dlc::UnsupportedError);
}

TEST(ElementwiseImport, OldDropoutMaskHasDataDType) {
  OnnxModel m("Dropout", 7, {::onnx::TensorProto::FLOAT}, 2);
  m.setFloat("ratio", 0.25f);
  Graph g = m.import();
  EXPECT_EQ(typeText(g.outputs()[1]->type()), "f32[3]");
  auto out = interpret(g, {{"in0", vec<float>({1.0f, 2.0f, 3.0f})}});
  expectNear(doubles(out[0]), {1.0, 2.0, 3.0});
  expectNear(doubles(out[1]), {1.0, 1.0, 1.0});
}
