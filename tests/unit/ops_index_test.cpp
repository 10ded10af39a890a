// Unit tests of the index op family: shape inference (with symbolic dims),
// reference kernels on small hand-computed values, and clear errors for bad
// inputs.
#include <gtest/gtest.h>

#include "tests/unit/op_test_util.h"

#include <limits>
#include <variant>

#include "ir/builder.h"
#include "ir/interpreter.h"
#include "ir/ops/op_util.h"
#include "support/error.h"

using namespace dlc::ir;

using namespace dlc::ir::testing;

namespace {

// An operand of a one-node test graph: a graph input of some type, a
// constant, or absent (an optional input left out).
struct Absent {};
using Operand = std::variant<TensorType, Tensor, Absent>;

Tensor f32(std::vector<int64_t> shape, std::vector<float> v) { return Tensor::fromVector<float>(std::move(shape), v); }
Tensor i64(std::vector<int64_t> shape, std::vector<int64_t> v) { return Tensor::fromVector<int64_t>(std::move(shape), v); }


// Builds a graph with one `op` node; returns its output types.
std::vector<TensorType> inferOp(OpKind op, const std::vector<Operand>& operands, Attributes a = {},
                                size_t numOutputs = 1) {
  GraphBuilder b;
  std::vector<Value*> inputs;
  for (size_t i = 0; i < operands.size(); ++i) {
    const Operand& o = operands[i];
    if (auto* t = std::get_if<TensorType>(&o)) inputs.push_back(b.input("in" + std::to_string(i), *t));
    else if (auto* c = std::get_if<Tensor>(&o)) inputs.push_back(b.constant("c" + std::to_string(i), *c));
    else inputs.push_back(nullptr);
  }
  std::vector<TensorType> types;
  for (Value* v : b.opN(op, inputs, numOutputs, std::move(a))) types.push_back(v->type());
  return types;
}


std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.getDouble(i));
  return v;
}

const Dim N = Dim::symbol("N");

}  // namespace

// ---- Gather family ----

TEST(IndexGather, InfersShapeWithSymbolicDim) {
  auto t = inferOp(OpKind::Gather, {TensorType(DType::F32, Shape({N, Dim(5), Dim(7)})),
                                    TensorType(DType::I64, Shape({Dim(2), Dim(3)}))},
                   attrs({{"axis", int64_t(1)}}));
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({N, Dim(2), Dim(3), Dim(7)})));
}

TEST(IndexGather, GathersWithNegativeIndices) {
  auto out = runOp(OpKind::Gather, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({3}, {2, -1, 0})},
                   attrs({{"axis", int64_t(1)}}));
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{3, 3, 1, 6, 6, 4}));
}

TEST(IndexGather, RejectsOutOfRangeIndex) {
  EXPECT_THROW(runOp(OpKind::Gather, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({1}, {3})},
                     attrs({{"axis", int64_t(1)}})),
               dlc::UserError);
  EXPECT_THROW(inferOp(OpKind::Gather, {TensorType(DType::F32, Shape({Dim(2)})),
                                        TensorType(DType::F32, Shape({Dim(1)}))}),
               dlc::UserError);
}

TEST(IndexGatherElements, InfersAndGathers) {
  auto t = inferOp(OpKind::GatherElements, {TensorType(DType::F32, Shape({N, Dim(3)})),
                                            TensorType(DType::I32, Shape({N, Dim(2)}))},
                   attrs({{"axis", int64_t(1)}}));
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({N, Dim(2)})));
  // out[i][j] = data[i][indices[i][j]]
  auto out = runOp(OpKind::GatherElements, {f32({2, 2}, {1, 2, 3, 4}), i64({2, 2}, {0, 0, 1, -2})},
                   attrs({{"axis", int64_t(1)}}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{1, 1, 4, 3}));
  EXPECT_THROW(inferOp(OpKind::GatherElements, {TensorType(DType::F32, Shape({Dim(2), Dim(2)})),
                                                TensorType(DType::I64, Shape({Dim(2)}))}),
               dlc::UserError);
}

TEST(IndexGatherND, InfersAndGathersWithBatchDims) {
  auto t = inferOp(OpKind::GatherND, {TensorType(DType::F32, Shape({N, Dim(4), Dim(5)})),
                                      TensorType(DType::I64, Shape({N, Dim(3), Dim(1)}))},
                   attrs({{"batch_dims", int64_t(1)}}));
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({N, Dim(3), Dim(5)})));
  // batch 0 picks row 1, batch 1 picks row 0.
  auto out = runOp(OpKind::GatherND, {f32({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}), i64({2, 1}, {1, 0})},
                   attrs({{"batch_dims", int64_t(1)}}));
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{2, 3, 4, 5}));
  auto full = runOp(OpKind::GatherND, {f32({2, 2}, {0, 1, 2, 3}), i64({2, 2}, {0, 0, 1, 1})});
  EXPECT_EQ(values(full[0]), (std::vector<double>{0, 3}));
  EXPECT_THROW(runOp(OpKind::GatherND, {f32({2, 2}, {0, 1, 2, 3}), i64({1, 2}, {0, 2})}), dlc::UserError);
}

// ---- Scatter family ----

TEST(IndexScatterElements, InfersAndReduces) {
  auto t = inferOp(OpKind::ScatterElements, {TensorType(DType::F32, Shape({N, Dim(3)})),
                                             TensorType(DType::I64, Shape({Dim(1), Dim(2)})),
                                             TensorType(DType::F32, Shape({Dim(1), Dim(2)}))});
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({N, Dim(3)})));
  Tensor data = f32({1, 5}, {1, 2, 3, 4, 5});
  Tensor idx = i64({1, 3}, {1, 1, -1});
  Tensor upd = f32({1, 3}, {10, 20, 7});
  auto add = runOp(OpKind::ScatterElements, {data, idx, upd},
                   attrs({{"axis", int64_t(1)}, {"reduction", std::string("add")}}));
  EXPECT_EQ(values(add[0]), (std::vector<double>{1, 32, 3, 4, 12}));
  auto mx = runOp(OpKind::ScatterElements, {data, idx, upd},
                  attrs({{"axis", int64_t(1)}, {"reduction", std::string("max")}}));
  EXPECT_EQ(values(mx[0]), (std::vector<double>{1, 20, 3, 4, 7}));
  auto none = runOp(OpKind::ScatterElements, {data, i64({1, 1}, {0}), f32({1, 1}, {-1})},
                    attrs({{"axis", int64_t(1)}}));
  EXPECT_EQ(values(none[0]), (std::vector<double>{-1, 2, 3, 4, 5}));
  EXPECT_THROW(runOp(OpKind::ScatterElements, {data, i64({1, 1}, {5}), f32({1, 1}, {0})},
                     attrs({{"axis", int64_t(1)}})),
               dlc::UserError);
  EXPECT_THROW(runOp(OpKind::ScatterElements, {data, idx, upd}, attrs({{"reduction", std::string("avg")}})),
               dlc::UserError);
}

TEST(IndexScatterND, ScattersSlicesWithMul) {
  Tensor data = f32({2, 2}, {1, 2, 3, 4});
  auto out = runOp(OpKind::ScatterND, {data, i64({1, 1}, {1}), f32({1, 2}, {10, 100})},
                   attrs({{"reduction", std::string("mul")}}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{1, 2, 30, 400}));
  auto t = inferOp(OpKind::ScatterND, {TensorType(DType::F32, Shape({N, Dim(2)})),
                                       TensorType(DType::I64, Shape({Dim(3), Dim(1)})),
                                       TensorType(DType::F32, Shape({Dim(3), Dim(2)}))});
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({N, Dim(2)})));
  EXPECT_THROW(inferOp(OpKind::ScatterND, {TensorType(DType::F32, Shape({Dim(2), Dim(2)})),
                                           TensorType(DType::I64, Shape({Dim(3), Dim(1)})),
                                           TensorType(DType::F32, Shape({Dim(3)}))}),
               dlc::UserError);
  EXPECT_THROW(runOp(OpKind::ScatterND, {data, i64({1, 1}, {-3}), f32({1, 2}, {0, 0})}), dlc::UserError);
}

// ---- Selection ----

TEST(IndexOneHot, InfersAndEncodes) {
  auto t = inferOp(OpKind::OneHot, {TensorType(DType::I64, Shape({N})), Tensor::scalar<int64_t>(3),
                                    TensorType(DType::F32, Shape({Dim(2)}))},
                   attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({Dim(3), N})));
  // Index -1 wraps to 2; 5 is out of range and gives an all-off column.
  auto out = runOp(OpKind::OneHot, {i64({3}, {0, -1, 5}), Tensor::scalar<float>(3), f32({2}, {0, 9})});
  EXPECT_EQ(values(out[0]), (std::vector<double>{9, 0, 0, 0, 0, 9, 0, 0, 0}));
  EXPECT_THROW(runOp(OpKind::OneHot, {i64({1}, {0}), Tensor::scalar<float>(0), f32({2}, {0, 1})}),
               dlc::UserError);
}

TEST(IndexNonZero, ListsIndices) {
  auto t = inferOp(OpKind::NonZero, {TensorType(DType::F32, Shape({N, Dim(2)}))});
  EXPECT_EQ(t[0], TensorType(DType::I64, Shape({Dim(2), Dim::unknown()})));
  auto out = runOp(OpKind::NonZero, {f32({2, 2}, {1, 0, 0, 3})});
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{0, 1, 0, 1}));
}

TEST(IndexCompress, SelectsAlongAxisAndFlat) {
  Tensor cond = Tensor::fromVector<bool>({2}, {false, true});
  auto t = inferOp(OpKind::Compress, {TensorType(DType::F32, Shape({N, Dim(3)})), cond},
                   attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({Dim(1), Dim(3)})));
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto rows = runOp(OpKind::Compress, {x, cond}, attrs({{"axis", int64_t(0)}}));
  EXPECT_EQ(values(rows[0]), (std::vector<double>{4, 5, 6}));
  auto flat = runOp(OpKind::Compress, {x, Tensor::fromVector<bool>({3}, {true, false, true})});
  EXPECT_EQ(values(flat[0]), (std::vector<double>{1, 3}));
  EXPECT_THROW(runOp(OpKind::Compress, {x, Tensor::fromVector<bool>({3}, {true, false, true})},
                     attrs({{"axis", int64_t(0)}})),
               dlc::UserError);
}

TEST(IndexReverseSequence, ReversesPrefixes) {
  auto t = inferOp(OpKind::ReverseSequence, {TensorType(DType::F32, Shape({N, Dim(3)})),
                                             TensorType(DType::I64, Shape({N}))},
                   attrs({{"batch_axis", int64_t(0)}, {"time_axis", int64_t(1)}}));
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({N, Dim(3)})));
  auto out = runOp(OpKind::ReverseSequence, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({2}, {3, 2})},
                   attrs({{"batch_axis", int64_t(0)}, {"time_axis", int64_t(1)}}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{3, 2, 1, 5, 4, 6}));
  EXPECT_THROW(runOp(OpKind::ReverseSequence, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({2}, {4, 0})},
                     attrs({{"batch_axis", int64_t(0)}, {"time_axis", int64_t(1)}})),
               dlc::UserError);
}

TEST(IndexUnique, FindsUniqueElementsAndSlices) {
  auto t = inferOp(OpKind::Unique, {TensorType(DType::F32, Shape({N, Dim(2)}))},
                   attrs({{"axis", int64_t(0)}}), 4);
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({Dim::unknown(), Dim(2)})));
  EXPECT_EQ(t[2], TensorType(DType::I64, Shape({N})));
  Tensor x = f32({6}, {2, 1, 1, 3, 4, 3});
  auto unsorted = runOp(OpKind::Unique, {x}, attrs({{"sorted", int64_t(0)}}), 4);
  EXPECT_EQ(values(unsorted[0]), (std::vector<double>{2, 1, 3, 4}));
  EXPECT_EQ(values(unsorted[1]), (std::vector<double>{0, 1, 3, 4}));
  EXPECT_EQ(values(unsorted[2]), (std::vector<double>{0, 1, 1, 2, 3, 2}));
  EXPECT_EQ(values(unsorted[3]), (std::vector<double>{1, 2, 2, 1}));
  auto sorted = runOp(OpKind::Unique, {x}, {}, 4);
  EXPECT_EQ(values(sorted[0]), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(values(sorted[2]), (std::vector<double>{1, 0, 0, 2, 3, 2}));
  auto rows = runOp(OpKind::Unique, {f32({3, 2}, {1, 2, 0, 5, 1, 2})}, attrs({{"axis", int64_t(0)}}), 4);
  EXPECT_EQ(values(rows[0]), (std::vector<double>{0, 5, 1, 2}));
  EXPECT_EQ(values(rows[3]), (std::vector<double>{1, 2}));
  EXPECT_THROW(inferOp(OpKind::Unique, {TensorType(DType::F32, Shape({Dim(2)}))},
                       attrs({{"axis", int64_t(1)}})),
               dlc::UserError);
}

// ---- Resampling ----

TEST(IndexResize, InfersFromConstantScalesAndSizes) {
  TensorType x(DType::F32, Shape({N, Dim(3), Dim(4), Dim(4)}));
  auto byScales = inferOp(OpKind::Resize, {x, Absent{}, f32({4}, {1, 1, 2, 0.5})});
  EXPECT_EQ(byScales[0], TensorType(DType::F32, Shape({N, Dim(3), Dim(8), Dim(2)})));
  auto bySizes = inferOp(OpKind::Resize, {x, Absent{}, Absent{}, i64({2}, {5, 6})},
                         attrs({{"axes", std::vector<int64_t>{2, 3}}}));
  EXPECT_EQ(bySizes[0], TensorType(DType::F32, Shape({N, Dim(3), Dim(5), Dim(6)})));
  auto unknown = inferOp(OpKind::Resize, {x, Absent{}, TensorType(DType::F32, Shape({Dim(4)}))});
  EXPECT_EQ(unknown[0].shape->rank(), 4u);
  EXPECT_TRUE((*unknown[0].shape)[2].isUnknown());
}

TEST(IndexResize, NearestAndLinear) {
  Tensor x = f32({1, 2}, {1, 3});
  Tensor scales = f32({2}, {1, 2});
  // half_pixel + round_prefer_floor: source coords -0.25, 0.25, 0.75, 1.25.
  auto nearest = runOp(OpKind::Resize, {x, std::nullopt, scales});
  EXPECT_EQ(values(nearest[0]), (std::vector<double>{1, 1, 3, 3}));
  // half_pixel linear, clamped at the edges: 1, 1.5, 2.5, 3.
  auto linear = runOp(OpKind::Resize, {x, std::nullopt, scales}, attrs({{"mode", std::string("linear")}}));
  EXPECT_EQ(values(linear[0]), (std::vector<double>{1, 1.5, 2.5, 3}));
  // align_corners to 3 elements: 1, 2, 3.
  auto aligned = runOp(OpKind::Resize, {x, std::nullopt, std::nullopt, i64({2}, {1, 3})},
                       attrs({{"mode", std::string("linear")},
                              {"coordinate_transformation_mode", std::string("align_corners")}}));
  EXPECT_EQ(values(aligned[0]), (std::vector<double>{1, 2, 3}));
}

TEST(IndexResize, RejectsBadInputs) {
  Tensor x = f32({1, 2}, {1, 3});
  EXPECT_THROW(runOp(OpKind::Resize, {x, std::nullopt, f32({2}, {1, 2}), i64({2}, {1, 4})}), dlc::UserError);
  EXPECT_THROW(runOp(OpKind::Resize, {x, std::nullopt, f32({1}, {2})}), dlc::UserError);
  EXPECT_THROW(runOp(OpKind::Resize, {x, std::nullopt, f32({2}, {1, 2})}, attrs({{"mode", std::string("area")}})),
               dlc::UserError);
}

TEST(IndexGridSample, InfersAndSamplesBilinear) {
  auto t = inferOp(OpKind::GridSample, {TensorType(DType::F32, Shape({N, Dim(3), Dim(4), Dim(4)})),
                                        TensorType(DType::F32, Shape({N, Dim(2), Dim(5), Dim(2)}))});
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({N, Dim(3), Dim(2), Dim(5)})));
  // 1x1x1x2 input [1, 3]; align_corners: x=-1 -> 1, x=0 -> 2, x=1 -> 3.
  auto out = runOp(OpKind::GridSample, {f32({1, 1, 1, 2}, {1, 3}), f32({1, 1, 3, 2}, {-1, 0, 0, 0, 1, 0})},
                   attrs({{"align_corners", int64_t(1)}}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{1, 2, 3}));
  EXPECT_THROW(inferOp(OpKind::GridSample, {TensorType(DType::F32, Shape({Dim(1), Dim(1), Dim(4), Dim(4)})),
                                            TensorType(DType::F32, Shape({Dim(1), Dim(2), Dim(2), Dim(3)}))}),
               dlc::UserError);
}

TEST(IndexGridSample, FarAndNaNCoordinatesReadZeroPadding) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  auto out = runOp(OpKind::GridSample, {f32({1, 1, 2, 2}, {1, 2, 3, 4}),
                                        f32({1, 1, 3, 2}, {1e30f, 0, nan, 0, -1e30f, -1e30f})},
                   attrs({{"mode", std::string("cubic")}}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{0, 0, 0}));
  auto border = runOp(OpKind::GridSample, {f32({1, 1, 1, 2}, {1, 3}), f32({1, 1, 1, 2}, {1e30f, 0})},
                      attrs({{"padding_mode", std::string("border")}}));
  EXPECT_EQ(values(border[0]), (std::vector<double>{3}));
}

TEST(IndexRoiAlign, AveragesBins) {
  auto t = inferOp(OpKind::RoiAlign, {TensorType(DType::F32, Shape({Dim(1), Dim(2), Dim(4), Dim(4)})),
                                      TensorType(DType::F32, Shape({N, Dim(4)})),
                                      TensorType(DType::I64, Shape({N}))},
                   attrs({{"output_height", int64_t(2)}, {"output_width", int64_t(3)}}));
  EXPECT_EQ(t[0], TensorType(DType::F32, Shape({N, Dim(2), Dim(2), Dim(3)})));
  // A constant image averages to the constant.
  Tensor x = f32({1, 1, 2, 2}, {5, 5, 5, 5});
  auto out = runOp(OpKind::RoiAlign, {x, f32({1, 4}, {0, 0, 1, 1}), i64({1}, {0})},
                   attrs({{"sampling_ratio", int64_t(2)}}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{5}));
  EXPECT_THROW(runOp(OpKind::RoiAlign, {x, f32({1, 4}, {0, 0, 1, 1}), i64({1}, {1})}), dlc::UserError);
}

TEST(IndexNonMaxSuppression, SuppressesOverlaps) {
  auto t = inferOp(OpKind::NonMaxSuppression, {TensorType(DType::F32, Shape({Dim(1), N, Dim(4)})),
                                               TensorType(DType::F32, Shape({Dim(1), Dim(1), N}))});
  EXPECT_EQ(t[0], TensorType(DType::I64, Shape({Dim::unknown(), Dim(3)})));
  // Boxes 0 and 1 overlap heavily (IoU 0.81); box 2 is apart.
  Tensor boxes = f32({1, 3, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 5, 1, 6});
  Tensor scores = f32({1, 1, 3}, {0.9f, 0.95f, 0.5f});
  auto out = runOp(OpKind::NonMaxSuppression,
                   {boxes, scores, i64({1}, {10}), f32({1}, {0.5f}), f32({1}, {0.0f})});
  EXPECT_EQ(values(out[0]), (std::vector<double>{0, 0, 1, 0, 0, 2}));
  EXPECT_THROW(runOp(OpKind::NonMaxSuppression, {boxes, f32({1, 1, 2}, {0.9f, 0.95f})}), dlc::UserError);
}

// An axis on a rank-0 tensor is out of range (the range [-0, 0) is empty);
// normalizeAxis used to accept 0 and -1 there, and ops then indexed dim 0 of
// a scalar (UBSan, in Compress's inference).
TEST(IndexCompress, RejectsAnAxisOnAScalar) {
  EXPECT_THROW(ops::normalizeAxis(0, 0), dlc::UserError);
  EXPECT_THROW(ops::normalizeAxis(-1, 0), dlc::UserError);
  EXPECT_EQ(ops::normalizeAxis(-1, 2), 1);
  EXPECT_THROW(runOp(OpKind::Compress, {Tensor::scalar<float>(1), Tensor::fromVector<bool>({1}, {true})},
                     attrs({{"axis", int64_t(0)}})),
               dlc::UserError);
  EXPECT_THROW(runOp(OpKind::Gather, {Tensor::scalar<float>(1), Tensor::scalar<int64_t>(0)}), dlc::UserError);
}
