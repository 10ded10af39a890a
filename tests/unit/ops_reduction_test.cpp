// Unit tests of the reduction family: shape inference (with symbolic dims),
// reference kernels on small hand-computed values, input validation, and
// the importers of older ONNX opsets.
#include <gtest/gtest.h>

#include "tests/unit/op_test_util.h"
#include <onnx/onnx_pb.h>

#include <cmath>
#include <functional>

#include "frontend/onnx/importer.h"
#include "ir/builder.h"
#include "ir/interpreter.h"
#include "support/error.h"

using namespace dlc::ir;

using namespace dlc::ir::testing;

namespace {

const Dim N = Dim::symbol("N");

TensorType f32(std::vector<Dim> dims) { return TensorType(DType::F32, Shape(std::move(dims))); }


Tensor floats(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::fromVector<float>(std::move(shape), values);
}
Tensor ints(std::vector<int64_t> values) {
  return Tensor::fromVector<int64_t>({int64_t(values.size())}, values);
}


void expectValues(const Tensor& t, std::vector<int64_t> shape, std::vector<double> expected, double tol = 1e-5) {
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(t.numel(), int64_t(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(t.getDouble(int64_t(i)), expected[i], tol) << "at " << i;
}

}  // namespace

// ---------------------------------------------------------------- Reduce*

TEST(Reduce, InfersKeptAndDroppedDims) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(3), Dim(4)}));
  Value* axes = b.constant("axes", ints({-1}));
  EXPECT_EQ(b.op(OpKind::ReduceSum, {x, axes})->type(), f32({N, Dim(3), Dim(1)}));
  EXPECT_EQ(b.op(OpKind::ReduceMean, {x, axes}, attrs({{"keepdims", int64_t(0)}}))->type(), f32({N, Dim(3)}));
  EXPECT_EQ(b.op(OpKind::ReduceMax, {x}, attrs({{"keepdims", int64_t(0)}}))->type(), f32({}));
  // Axes not known at compile time: rank kept with unknown dims.
  Value* dynAxes = b.input("axes_in", TensorType(DType::I64, Shape({Dim(1)})));
  EXPECT_EQ(b.op(OpKind::ReduceL2, {x, dynAxes})->type(), f32({Dim(), Dim(), Dim()}));
}

TEST(Reduce, EvaluatesEachKind) {
  Tensor x = floats({2, 2}, {1, -2, 3, -4});
  Tensor axis1 = ints({1});
  Attributes drop = attrs({{"keepdims", int64_t(0)}});
  expectValues(runOp1(OpKind::ReduceSum, {x, axis1}, drop), {2}, {-1, -1});
  expectValues(runOp1(OpKind::ReduceMean, {x, ints({0})}, drop), {2}, {2, -3});
  expectValues(runOp1(OpKind::ReduceMax, {x}), {1, 1}, {3});
  expectValues(runOp1(OpKind::ReduceMin, {x, axis1}, drop), {2}, {-2, -4});
  expectValues(runOp1(OpKind::ReduceProd, {x}, drop), {}, {24});
  expectValues(runOp1(OpKind::ReduceL1, {x}, drop), {}, {10});
  expectValues(runOp1(OpKind::ReduceL2, {floats({2}, {3, 4})}, drop), {}, {5});
  expectValues(runOp1(OpKind::ReduceSumSquare, {x, axis1}, drop), {2}, {5, 25});
  expectValues(runOp1(OpKind::ReduceLogSum, {floats({2}, {1, 2})}, drop), {}, {std::log(3.0)});
  // Large inputs must not overflow exp.
  expectValues(runOp1(OpKind::ReduceLogSumExp, {floats({2}, {1000, 1000})}, drop), {}, {1000 + std::log(2.0)}, 1e-3);
}

TEST(Reduce, IntegerSumWrapsAndEmptyAxesCanBeANoop) {
  Tensor x = Tensor::fromVector<int8_t>({2}, {100, 100});
  Tensor sum = runOp1(OpKind::ReduceSum, {x}, attrs({{"keepdims", int64_t(0)}}));
  EXPECT_EQ(sum.dtype(), DType::I8);
  EXPECT_EQ(sum.getInt(0), -56);  // 200 mod 256, as two's complement
  Tensor y = floats({2}, {1, 2});
  expectValues(runOp1(OpKind::ReduceSum, {y, ints({})}, attrs({{"noop_with_empty_axes", int64_t(1)}})), {2}, {1, 2});
}

TEST(Reduce, RejectsBadAxesAndTypes) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(3)}));
  EXPECT_THROW(b.op(OpKind::ReduceSum, {x, b.constant("axes", ints({2}))}), dlc::UserError);
  Value* flags = b.input("flags", TensorType(DType::Bool, Shape({Dim(3)})));
  EXPECT_THROW(b.op(OpKind::ReduceSum, {flags}), dlc::UserError);
  EXPECT_THROW(runOp1(OpKind::ReduceMean, {floats({2}, {1, 2}), ints({1})}), dlc::UserError);
}

// ---------------------------------------------------------------- ArgMax / ArgMin

TEST(ArgMaxMin, InfersI64Result) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(3)}));
  EXPECT_EQ(b.op(OpKind::ArgMax, {x}, attrs({{"axis", int64_t(1)}}))->type(),
            TensorType(DType::I64, Shape({N, Dim(1)})));
  EXPECT_EQ(b.op(OpKind::ArgMin, {x}, attrs({{"axis", int64_t(-1)}, {"keepdims", int64_t(0)}}))->type(),
            TensorType(DType::I64, Shape({N})));
  EXPECT_THROW(b.op(OpKind::ArgMax, {x}, attrs({{"axis", int64_t(2)}})), dlc::UserError);
}

TEST(ArgMaxMin, PicksFirstOrLastOfTies) {
  Tensor x = floats({2, 3}, {1, 5, 5, 7, 2, 7});
  expectValues(runOp1(OpKind::ArgMax, {x}, attrs({{"axis", int64_t(1)}})), {2, 1}, {1, 0});
  expectValues(runOp1(OpKind::ArgMax, {x}, attrs({{"axis", int64_t(1)}, {"select_last_index", int64_t(1)}})), {2, 1},
               {2, 2});
  expectValues(runOp1(OpKind::ArgMin, {x}, attrs({{"keepdims", int64_t(0)}})), {3}, {0, 1, 0});
}

// ---------------------------------------------------------------- Softmax family

TEST(Softmax, InfersSameTypeAndRejectsIntegers) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(4)}));
  EXPECT_EQ(b.op(OpKind::Softmax, {x})->type(), f32({N, Dim(4)}));
  EXPECT_EQ(b.op(OpKind::Hardmax, {x}, attrs({{"axis", int64_t(0)}}))->type(), f32({N, Dim(4)}));
  Value* i = b.input("i", TensorType(DType::I32, Shape({Dim(4)})));
  EXPECT_THROW(b.op(OpKind::LogSoftmax, {i}), dlc::UserError);
}

TEST(Softmax, EvaluatesSoftmaxLogSoftmaxHardmax) {
  Tensor x = floats({3}, {1, 2, 3});
  expectValues(runOp1(OpKind::Softmax, {x}), {3}, {0.09003057, 0.24472847, 0.66524096});
  expectValues(runOp1(OpKind::LogSoftmax, {x}), {3}, {-2.40760596, -1.40760596, -0.40760596});
  expectValues(runOp1(OpKind::Hardmax, {floats({2, 3}, {1, 3, 3, 2, 0, 1})}), {2, 3}, {0, 1, 0, 1, 0, 0});
  // Along axis 0 of a 2x2 matrix, with values that would overflow exp unshifted.
  expectValues(runOp1(OpKind::Softmax, {floats({2, 2}, {1000, 0, 1000, 0})}, attrs({{"axis", int64_t(0)}})), {2, 2},
               {0.5, 0.5, 0.5, 0.5});
}

// ---------------------------------------------------------------- CumSum

TEST(CumSum, EvaluatesExclusiveAndReverse) {
  Tensor x = floats({4}, {1, 2, 3, 4});
  Tensor axis = Tensor::scalar<int32_t>(0);
  expectValues(runOp1(OpKind::CumSum, {x, axis}), {4}, {1, 3, 6, 10});
  expectValues(runOp1(OpKind::CumSum, {x, axis}, attrs({{"exclusive", int64_t(1)}})), {4}, {0, 1, 3, 6});
  expectValues(runOp1(OpKind::CumSum, {x, axis}, attrs({{"reverse", int64_t(1)}})), {4}, {10, 9, 7, 4});
  expectValues(runOp1(OpKind::CumSum, {x, axis}, attrs({{"reverse", int64_t(1)}, {"exclusive", int64_t(1)}})), {4},
               {9, 7, 4, 0});
}

TEST(CumSum, InfersAndRejectsBadAxis) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(2)}));
  EXPECT_EQ(b.op(OpKind::CumSum, {x, b.constant("axis", Tensor::scalar<int64_t>(1))})->type(), f32({N, Dim(2)}));
  EXPECT_THROW(b.op(OpKind::CumSum, {x, b.constant("bad", Tensor::scalar<int64_t>(2))}), dlc::UserError);
}

// ---------------------------------------------------------------- TopK

TEST(TopK, InfersFromConstantK) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(5)}));
  auto outs = b.opN(OpKind::TopK, {x, b.constant("k", ints({3}))}, 2);
  EXPECT_EQ(outs[0]->type(), f32({N, Dim(3)}));
  EXPECT_EQ(outs[1]->type(), TensorType(DType::I64, Shape({N, Dim(3)})));
  EXPECT_THROW(b.opN(OpKind::TopK, {x, b.constant("k6", ints({6}))}, 2), dlc::UserError);
}

TEST(TopK, EvaluatesLargestAndSmallestWithStableTies) {
  Tensor x = floats({1, 4}, {1, 4, 2, 4});
  auto largest = runOp(OpKind::TopK, {x, ints({2})}, {}, 2);
  expectValues(largest[0], {1, 2}, {4, 4});
  expectValues(largest[1], {1, 2}, {1, 3});
  auto smallest = runOp(OpKind::TopK, {x, ints({2})}, attrs({{"largest", int64_t(0)}}), 2);
  expectValues(smallest[0], {1, 2}, {1, 2});
  expectValues(smallest[1], {1, 2}, {0, 2});
  EXPECT_THROW(runOp(OpKind::TopK, {x, ints({5})}, {}, 2), dlc::UserError);
}

// ---------------------------------------------------------------- BatchNormalization / InstanceNormalization

TEST(BatchNorm, InfersAndChecksParameterLengths) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(2), Dim(3)}));
  Value* p = b.input("p", f32({Dim(2)}));
  EXPECT_EQ(b.op(OpKind::BatchNormalization, {x, p, p, p, p})->type(), f32({N, Dim(2), Dim(3)}));
  auto outs = b.opN(OpKind::BatchNormalization, {x, p, p, p, p}, 3, attrs({{"training_mode", int64_t(1)}}));
  EXPECT_EQ(outs[1]->type(), f32({Dim(2)}));
  Value* wrong = b.input("wrong", f32({Dim(3)}));
  EXPECT_THROW(b.op(OpKind::BatchNormalization, {x, wrong, p, p, p}), dlc::UserError);
  EXPECT_THROW(b.opN(OpKind::BatchNormalization, {x, p, p, p, p}, 3), dlc::UserError);  // needs training_mode
}

TEST(BatchNorm, EvaluatesInferenceAndTrainingMode) {
  Tensor x = floats({1, 2, 2}, {1, 3, 2, 4});
  Tensor scale = floats({2}, {1, 2}), bias = floats({2}, {0, 1});
  Tensor mean = floats({2}, {2, 3}), var = floats({2}, {1, 4});
  expectValues(runOp1(OpKind::BatchNormalization, {x, scale, bias, mean, var}, attrs({{"epsilon", 0.0}})), {1, 2, 2},
               {-1, 1, 0, 2});
  auto train = runOp(OpKind::BatchNormalization, {x, scale, bias, floats({2}, {0, 0}), floats({2}, {1, 1})},
                   attrs({{"epsilon", 0.0}, {"training_mode", int64_t(1)}}), 3);
  expectValues(train[0], {1, 2, 2}, {-1, 1, -1, 3});  // batch mean (2, 3), variance (1, 1)
  expectValues(train[1], {2}, {0.2, 0.3});            // 0.9 * 0 + 0.1 * batch mean
  expectValues(train[2], {2}, {1, 1});
}

TEST(InstanceNorm, InfersAndEvaluates) {
  GraphBuilder b;
  Value* xs = b.input("x", f32({N, Dim(1), Dim(4)}));
  Value* p = b.input("p", f32({Dim(1)}));
  EXPECT_EQ(b.op(OpKind::InstanceNormalization, {xs, p, p})->type(), f32({N, Dim(1), Dim(4)}));
  Tensor x = floats({1, 1, 4}, {1, 2, 3, 4});
  double s = std::sqrt(1.25);  // population std of 1..4
  expectValues(runOp1(OpKind::InstanceNormalization, {x, floats({1}, {2}), floats({1}, {1})}, attrs({{"epsilon", 0.0}})),
               {1, 1, 4}, {1 - 3 / s, 1 - 1 / s, 1 + 1 / s, 1 + 3 / s});
  EXPECT_THROW(runOp1(OpKind::InstanceNormalization, {x, floats({2}, {1, 1}), floats({1}, {0})}), dlc::UserError);
}

// ---------------------------------------------------------------- LayerNormalization / GroupNormalization

TEST(LayerNorm, InfersStatisticsShapes) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(4)}));
  Value* scale = b.input("scale", f32({Dim(4)}));
  auto outs = b.opN(OpKind::LayerNormalization, {x, scale}, 3);
  EXPECT_EQ(outs[0]->type(), f32({N, Dim(4)}));
  EXPECT_EQ(outs[1]->type(), f32({N, Dim(1)}));
  EXPECT_EQ(outs[2]->type(), f32({N, Dim(1)}));
  Value* wrong = b.input("wrong", f32({Dim(3)}));
  EXPECT_THROW(b.op(OpKind::LayerNormalization, {x, wrong}), dlc::UserError);
}

TEST(LayerNorm, EvaluatesWithMeanAndInvStdDev) {
  Tensor x = floats({2, 2}, {1, 3, 2, 6});
  auto outs = runOp(OpKind::LayerNormalization, {x, floats({2}, {1, 2}), floats({2}, {0, 1})},
                  attrs({{"epsilon", 0.0}}), 3);
  expectValues(outs[0], {2, 2}, {-1, 3, -1, 3});
  expectValues(outs[1], {2, 1}, {2, 4});
  expectValues(outs[2], {2, 1}, {1, 0.5});
  // Without the optional bias.
  expectValues(runOp1(OpKind::LayerNormalization, {x, floats({2}, {1, 1})}, attrs({{"epsilon", 0.0}})), {2, 2},
               {-1, 1, -1, 1});
}

TEST(GroupNorm, EvaluatesPerGroupAndChecksDivisibility) {
  Tensor x = floats({1, 4, 1}, {1, 3, 10, 20});
  Tensor ones = floats({4}, {1, 1, 1, 1}), zeros = floats({4}, {0, 0, 0, 0});
  expectValues(runOp1(OpKind::GroupNormalization, {x, ones, zeros}, attrs({{"num_groups", int64_t(2)}, {"epsilon", 0.0}})),
               {1, 4, 1}, {-1, 1, -1, 1});
  GraphBuilder b;
  Value* xs = b.input("x", f32({N, Dim(4), Dim(5)}));
  Value* p = b.input("p", f32({Dim(4)}));
  EXPECT_EQ(b.op(OpKind::GroupNormalization, {xs, p, p}, attrs({{"num_groups", int64_t(2)}}))->type(),
            f32({N, Dim(4), Dim(5)}));
  EXPECT_THROW(b.op(OpKind::GroupNormalization, {xs, p, p}, attrs({{"num_groups", int64_t(3)}})), dlc::UserError);
}

// ---------------------------------------------------------------- LRN / MeanVarianceNormalization

TEST(Lrn, EvaluatesChannelWindow) {
  // size 2: channel c sums squares of channels c and c+1; alpha/size = 1.
  Tensor x = floats({1, 2, 1, 1}, {1, 2});
  expectValues(runOp1(OpKind::LRN, {x}, attrs({{"size", int64_t(2)}, {"alpha", 2.0}, {"beta", 1.0}, {"bias", 1.0}})),
               {1, 2, 1, 1}, {1.0 / 6, 2.0 / 5});
  GraphBuilder b;
  Value* xs = b.input("x", f32({N, Dim(3), Dim(4), Dim(4)}));
  EXPECT_EQ(b.op(OpKind::LRN, {xs}, attrs({{"size", int64_t(3)}}))->type(), f32({N, Dim(3), Dim(4), Dim(4)}));
  EXPECT_THROW(b.op(OpKind::LRN, {xs}, attrs({{"size", int64_t(0)}})), dlc::UserError);
}

TEST(Mvn, NormalisesOverAxes) {
  Tensor x = floats({1, 1, 1, 2}, {1, 3});
  expectValues(runOp1(OpKind::MeanVarianceNormalization, {x}, attrs({{"axes", std::vector<int64_t>{3}}})), {1, 1, 1, 2},
               {-1, 1});
  GraphBuilder b;
  Value* xs = b.input("x", f32({N, Dim(2)}));
  EXPECT_EQ(b.op(OpKind::MeanVarianceNormalization, {xs}, attrs({{"axes", std::vector<int64_t>{0}}}))->type(),
            f32({N, Dim(2)}));
  EXPECT_THROW(b.op(OpKind::MeanVarianceNormalization, {xs}), dlc::UserError);  // default axes 0,2,3 need rank 4
}

// ---------------------------------------------------------------- Losses

TEST(NllLoss, InfersReducedAndUnreducedShapes) {
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(3), Dim(5)}));
  Value* t = b.input("t", TensorType(DType::I64, Shape({N, Dim(5)})));
  EXPECT_EQ(b.op(OpKind::NegativeLogLikelihoodLoss, {x, t})->type(), f32({}));
  EXPECT_EQ(b.op(OpKind::NegativeLogLikelihoodLoss, {x, t}, attrs({{"reduction", std::string("none")}}))->type(),
            f32({N, Dim(5)}));
  Value* badTarget = b.input("bad", TensorType(DType::I64, Shape({N, Dim(4)})));
  EXPECT_THROW(b.op(OpKind::NegativeLogLikelihoodLoss, {x, badTarget}), dlc::UserError);
  EXPECT_THROW(b.op(OpKind::NegativeLogLikelihoodLoss, {x, t}, attrs({{"reduction", std::string("max")}})),
               dlc::UserError);
}

TEST(NllLoss, EvaluatesWeightsReductionsAndIgnoreIndex) {
  Tensor x = floats({2, 2}, {-1, -2, -3, -4});
  Tensor target = ints({0, 1});
  Tensor weight = floats({2}, {1, 3});
  Attributes none = attrs({{"reduction", std::string("none")}});
  expectValues(runOp1(OpKind::NegativeLogLikelihoodLoss, {x, target}, none), {2}, {1, 4});
  expectValues(runOp1(OpKind::NegativeLogLikelihoodLoss, {x, target}), {}, {2.5});
  expectValues(runOp1(OpKind::NegativeLogLikelihoodLoss, {x, target, weight}, none), {2}, {1, 12});
  expectValues(runOp1(OpKind::NegativeLogLikelihoodLoss, {x, target, weight}), {}, {13.0 / 4});
  expectValues(runOp1(OpKind::NegativeLogLikelihoodLoss, {x, target, weight}, attrs({{"reduction", std::string("sum")}})),
               {}, {13});
  expectValues(runOp1(OpKind::NegativeLogLikelihoodLoss, {x, target}, attrs({{"ignore_index", int64_t(1)}})), {}, {1});
  EXPECT_THROW(runOp1(OpKind::NegativeLogLikelihoodLoss, {x, ints({0, 5})}), dlc::UserError);
}

TEST(SoftmaxCrossEntropy, EvaluatesLossAndLogProb) {
  Tensor scores = floats({1, 2}, {0, 0});
  auto outs = runOp(OpKind::SoftmaxCrossEntropyLoss, {scores, ints({1})}, {}, 2);
  expectValues(outs[0], {}, {std::log(2.0)});
  expectValues(outs[1], {1, 2}, {-std::log(2.0), -std::log(2.0)});
  GraphBuilder b;
  Value* x = b.input("x", f32({N, Dim(3)}));
  Value* t = b.input("t", TensorType(DType::I32, Shape({N})));
  auto types = b.opN(OpKind::SoftmaxCrossEntropyLoss, {x, t}, 2, attrs({{"reduction", std::string("none")}}));
  EXPECT_EQ(types[0]->type(), f32({N}));
  EXPECT_EQ(types[1]->type(), f32({N, Dim(3)}));
  Value* floatTarget = b.input("ft", f32({N}));
  EXPECT_THROW(b.op(OpKind::SoftmaxCrossEntropyLoss, {x, floatTarget}), dlc::UserError);
}

// ---------------------------------------------------------------- Importers of older opsets

namespace {

// A one-node ONNX model with float inputs of the given shapes (-1: the
// symbolic dim "N").
struct OnnxNode {
  std::string opType;
  int opset;
  std::vector<std::vector<int64_t>> inputShapes;
  size_t numOutputs = 1;
  std::function<void(::onnx::NodeProto&)> setAttributes = [](::onnx::NodeProto&) {};
};

Graph importOneNode(const OnnxNode& spec) {
  ::onnx::ModelProto model;
  model.set_ir_version(7);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(spec.opset);
  auto* graph = model.mutable_graph();
  graph->set_name("g");
  auto* node = graph->add_node();
  node->set_op_type(spec.opType);
  for (size_t i = 0; i < spec.inputShapes.size(); ++i) {
    std::string name = "x" + std::to_string(i);
    node->add_input(name);
    auto* in = graph->add_input();
    in->set_name(name);
    auto* tensorType = in->mutable_type()->mutable_tensor_type();
    tensorType->set_elem_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : spec.inputShapes[i]) {
      auto* dim = tensorType->mutable_shape()->add_dim();
      if (d < 0) dim->set_dim_param("N");
      else dim->set_dim_value(d);
    }
  }
  for (size_t i = 0; i < spec.numOutputs; ++i) {
    std::string name = "y" + std::to_string(i);
    node->add_output(name);
    graph->add_output()->set_name(name);
  }
  spec.setAttributes(*node);
  return dlc::frontend::onnx::importOnnxBytes(model.SerializeAsString(), ".").graph;
}

void addInts(::onnx::NodeProto& node, const std::string& name, std::vector<int64_t> values) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}
void addInt(::onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(value);
}

}  // namespace

TEST(ReductionImport, AxesAttributeBecomesInput) {
  Graph g = importOneNode({"ReduceMean", 13, {{2, 3}}, 1, [](auto& n) {
                             addInts(n, "axes", {1});
                             addInt(n, "keepdims", 0);
                           }});
  auto out = interpret(g, {{"x0", floats({2, 3}, {1, 2, 3, 4, 5, 6})}});
  expectValues(out.at(0), {2}, {2, 5});
}

TEST(ReductionImport, OldSoftmaxCoercesTo2D) {
  // Opset 11, axis 1 on [1, 2, 2]: softmax over all four elements.
  Graph g = importOneNode({"Softmax", 11, {{1, 2, 2}}, 1, [](auto& n) { addInt(n, "axis", 1); }});
  auto out = interpret(g, {{"x0", floats({1, 2, 2}, {0, 0, 0, 0})}});
  expectValues(out.at(0), {1, 2, 2}, {0.25, 0.25, 0.25, 0.25});
}

TEST(ReductionImport, OldLogSoftmaxWithSymbolicBatchDim) {
  // Opset 12, axis 1 on [N, 2, 1, 2]: log-softmax over the last three dims.
  Graph g = importOneNode({"LogSoftmax", 12, {{-1, 2, 1, 2}}, 1, [](auto& n) { addInt(n, "axis", 1); }});
  auto out = interpret(g, {{"x0", floats({2, 2, 1, 2}, {0, 0, 0, 0, 1, 1, 1, 1})}});
  double l = -std::log(4.0);
  expectValues(out.at(0), {2, 2, 1, 2}, {l, l, l, l, l, l, l, l});
}

TEST(ReductionImport, TopKAttributeBecomesInput) {
  Graph g = importOneNode({"TopK", 9, {{3}}, 2, [](auto& n) { addInt(n, "k", 1); }});
  auto out = interpret(g, {{"x0", floats({3}, {2, 7, 1})}});
  expectValues(out.at(0), {1}, {7});
  expectValues(out.at(1), {1}, {1});
}
