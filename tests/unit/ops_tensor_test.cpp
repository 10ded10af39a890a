// Shape inference, reference kernels and error reporting of the shape and
// data-movement ops (ir/ops/tensor_*.cpp).
#include <gtest/gtest.h>

#include "tests/unit/op_test_util.h"

#include "ir/builder.h"
#include "ir/interpreter.h"
#include "support/error.h"

using namespace dlc::ir;

using namespace dlc::ir::testing;

namespace {


Tensor ints(std::vector<int64_t> values) {
  int64_t n = int64_t(values.size());
  return Tensor::fromVector<int64_t>({n}, values);
}

Tensor iota(std::vector<int64_t> shape) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, double(i));
  return t;
}

std::vector<double> values(const Tensor& t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t.numel(); ++i) out.push_back(t.getDouble(i));
  return out;
}


// The inferred type of one node whose first operand is a graph input of
// `type` and whose other operands are constants.
TensorType inferWithInput(OpKind op, TensorType type, const std::vector<Tensor>& constants,
                          Attributes attrs = {}, size_t result = 0, size_t numOutputs = 1) {
  GraphBuilder b("t");
  std::vector<Value*> in{b.input("x", std::move(type))};
  for (size_t i = 0; i < constants.size(); ++i)
    in.push_back(constants[i].defined() ? b.constant("c" + std::to_string(i), constants[i]) : nullptr);
  return b.opN(op, in, numOutputs, std::move(attrs))[result]->type();
}

const Dim N = Dim::symbol("N");

TensorType f32(std::vector<Dim> dims) { return TensorType(DType::F32, Shape(std::move(dims))); }

}  // namespace

TEST(OpsTensor, Transpose) {
  EXPECT_EQ(inferWithInput(OpKind::Transpose, f32({N, 2, 3}), {}), f32({3, 2, N}));
  EXPECT_EQ(inferWithInput(OpKind::Transpose, f32({N, 2, 3}), {}, attrs({{"perm", std::vector<int64_t>{1, 0, 2}}})),
            f32({2, N, 3}));
  auto out = runOpOnConstants(OpKind::Transpose, {iota({2, 3})});
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(values(out[0]), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(runOpOnConstants(OpKind::Transpose, {iota({2, 3})}, attrs({{"perm", std::vector<int64_t>{0, 0}}})),
               dlc::UserError);
}

TEST(OpsTensor, ConcatAndSplit) {
  GraphBuilder b("t");
  Value* x = b.input("x", f32({N, 2}));
  Value* y = b.input("y", f32({N, 3}));
  EXPECT_EQ(b.op(OpKind::Concat, {x, y}, attrs({{"axis", int64_t(-1)}}))->type(), f32({N, 5}));
  EXPECT_EQ(b.op(OpKind::Concat, {x, x}, attrs({{"axis", int64_t(0)}}))->type(), f32({Dim(), 2}));
  EXPECT_THROW(b.op(OpKind::Concat, {x, y}, attrs({{"axis", int64_t(0)}})), dlc::UserError);

  auto cat = runOpOnConstants(OpKind::Concat, {iota({2, 1}), iota({2, 2})}, attrs({{"axis", int64_t(1)}}));
  EXPECT_EQ(values(cat[0]), (std::vector<double>{0, 0, 1, 1, 2, 3}));

  EXPECT_EQ(inferWithInput(OpKind::Split, f32({N, 5}), {ints({2, 3})}, attrs({{"axis", int64_t(1)}}), 1, 2),
            f32({N, 3}));
  // num_outputs with an uneven extent: the last piece is smaller.
  auto parts = runOpOnConstants(OpKind::Split, {iota({5})}, attrs({{"num_outputs", int64_t(2)}}), 2);
  EXPECT_EQ(values(parts[0]), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(values(parts[1]), (std::vector<double>{3, 4}));
  EXPECT_THROW(runOpOnConstants(OpKind::Split, {iota({5}), ints({2, 2})}, {}, 2), dlc::UserError);
}

TEST(OpsTensor, Slice) {
  Tensor noAxes;
  EXPECT_EQ(inferWithInput(OpKind::Slice, f32({N, 10}), {ints({1}), ints({-1}), ints({1}), ints({3})}),
            f32({N, 3}));
  EXPECT_EQ(inferWithInput(OpKind::Slice, f32({N, 10}), {ints({0}), ints({INT64_MAX}), noAxes, noAxes}),
            f32({N, 10}));
  // Negative step with clamped bounds: the whole axis reversed, every other.
  auto rev = runOpOnConstants(OpKind::Slice, {iota({5}), ints({100}), ints({-100}), ints({0}), ints({-2})});
  EXPECT_EQ(values(rev[0]), (std::vector<double>{4, 2, 0}));
  auto box = runOpOnConstants(OpKind::Slice, {iota({3, 4}), ints({1, -3}), ints({3, 3}), ints({0, 1})});
  EXPECT_EQ(values(box[0]), (std::vector<double>{5, 6, 9, 10}));
  EXPECT_THROW(runOpOnConstants(OpKind::Slice, {iota({5}), ints({0}), ints({5}), ints({0}), ints({0})}), dlc::UserError);
}

TEST(OpsTensor, SqueezeUnsqueezeFlatten) {
  EXPECT_EQ(inferWithInput(OpKind::Squeeze, f32({N, 1, 3}), {ints({1})}), f32({N, 3}));
  EXPECT_FALSE(inferWithInput(OpKind::Squeeze, f32({N, 1}), {}).isRanked());  // N might be 1
  EXPECT_EQ(inferWithInput(OpKind::Unsqueeze, f32({N, 3}), {ints({-1, 0})}), f32({1, N, 3, 1}));
  EXPECT_EQ(inferWithInput(OpKind::Flatten, f32({N, 2, 3}), {}, attrs({{"axis", int64_t(1)}})), f32({N, 6}));
  EXPECT_EQ(runOpOnConstants(OpKind::Squeeze, {iota({1, 3, 1})})[0].shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(runOpOnConstants(OpKind::Unsqueeze, {iota({3}), ints({1})})[0].shape(), (std::vector<int64_t>{3, 1}));
  auto flat = runOpOnConstants(OpKind::Flatten, {iota({2, 3, 2})}, attrs({{"axis", int64_t(-1)}}));
  EXPECT_EQ(flat[0].shape(), (std::vector<int64_t>{6, 2}));
  EXPECT_EQ(values(flat[0])[5], 5.0);
  EXPECT_THROW(runOpOnConstants(OpKind::Squeeze, {iota({2, 3}), ints({0})}), dlc::UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::Unsqueeze, {iota({3}), ints({0, 0})}), dlc::UserError);
}

TEST(OpsTensor, ExpandAndTile) {
  EXPECT_EQ(inferWithInput(OpKind::Expand, f32({N, 1}), {ints({2, 1, 4})}), f32({2, N, 4}));
  EXPECT_EQ(inferWithInput(OpKind::Tile, f32({N, 2}), {ints({1, 3})}), f32({N, 6}));
  auto e = runOpOnConstants(OpKind::Expand, {iota({2, 1}), ints({2, 3})});
  EXPECT_EQ(values(e[0]), (std::vector<double>{0, 0, 0, 1, 1, 1}));
  auto t = runOpOnConstants(OpKind::Tile, {iota({1, 2}), ints({2, 2})});
  EXPECT_EQ(values(t[0]), (std::vector<double>{0, 1, 0, 1, 0, 1, 0, 1}));
  EXPECT_THROW(runOpOnConstants(OpKind::Expand, {iota({3}), ints({2})}), dlc::UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::Tile, {iota({3}), ints({1, 2})}), dlc::UserError);
}

TEST(OpsTensor, Pad) {
  EXPECT_EQ(inferWithInput(OpKind::Pad, f32({N, 3}), {ints({0, 1, 0, 2})}), f32({N, 6}));
  auto padConst = [](const char* mode, std::vector<int64_t> pads) {
    return values(runOpOnConstants(OpKind::Pad, {iota({3}), ints(pads), Tensor::scalar<float>(9.0f)},
                        attrs({{"mode", std::string(mode)}}))[0]);
  };
  EXPECT_EQ(padConst("constant", {1, 2}), (std::vector<double>{9, 0, 1, 2, 9, 9}));
  EXPECT_EQ(padConst("reflect", {2, 2}), (std::vector<double>{2, 1, 0, 1, 2, 1, 0}));
  EXPECT_EQ(padConst("edge", {2, 1}), (std::vector<double>{0, 0, 0, 1, 2, 2}));
  EXPECT_EQ(padConst("wrap", {2, 1}), (std::vector<double>{1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(padConst("constant", {-1, 1}), (std::vector<double>{1, 2, 9}));
  EXPECT_THROW(padConst("mirror", {1, 1}), dlc::UserError);
  EXPECT_THROW(padConst("constant", {1}), dlc::UserError);
}

TEST(OpsTensor, ShapeAndSize) {
  EXPECT_EQ(inferWithInput(OpKind::Shape, f32({N, 2, 3}), {}, attrs({{"start", int64_t(-2)}})),
            TensorType(DType::I64, Shape{2}));
  EXPECT_EQ(inferWithInput(OpKind::Size, f32({N, 2}), {}), TensorType(DType::I64, Shape()));
  auto s = runOpOnConstants(OpKind::Shape, {iota({4, 5, 6})}, attrs({{"start", int64_t(1)}, {"end", int64_t(-1)}}));
  EXPECT_EQ(s[0].toInts(), (std::vector<int64_t>{5}));
  EXPECT_EQ(runOpOnConstants(OpKind::Size, {iota({4, 5})})[0].toInts(), (std::vector<int64_t>{20}));
  EXPECT_THROW(runOpOnConstants(OpKind::Shape, {iota({2})}, attrs({{"start", 1.5}})), dlc::UserError);
}

TEST(OpsTensor, ConstantOfShapeAndRange) {
  EXPECT_EQ(inferWithInput(OpKind::ConstantOfShape, TensorType(DType::I64, Shape{3}), {}),
            f32({Dim(), Dim(), Dim()}));
  auto c = runOpOnConstants(OpKind::ConstantOfShape, {ints({2, 2})},
                 attrs({{"value", Tensor::fromVector<int32_t>({1}, {7})}}));
  EXPECT_EQ(c[0].dtype(), DType::I32);
  EXPECT_EQ(c[0].toInts(), (std::vector<int64_t>{7, 7, 7, 7}));

  auto r = runOpOnConstants(OpKind::Range, {Tensor::scalar<int64_t>(10), Tensor::scalar<int64_t>(3), Tensor::scalar<int64_t>(-3)});
  EXPECT_EQ(r[0].toInts(), (std::vector<int64_t>{10, 7, 4}));
  auto rf = runOpOnConstants(OpKind::Range, {Tensor::scalar<float>(0), Tensor::scalar<float>(1), Tensor::scalar<float>(0.25f)});
  EXPECT_EQ(values(rf[0]), (std::vector<double>{0, 0.25, 0.5, 0.75}));
  EXPECT_THROW(runOpOnConstants(OpKind::Range, {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(3), Tensor::scalar<int64_t>(0)}),
               dlc::UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::ConstantOfShape, {ints({2, -1})}), dlc::UserError);
}

TEST(OpsTensor, TriluAndEyeLike) {
  EXPECT_EQ(inferWithInput(OpKind::Trilu, f32({N, 3, 3}), {}), f32({N, 3, 3}));
  auto upper = runOpOnConstants(OpKind::Trilu, {iota({3, 3})});
  EXPECT_EQ(values(upper[0]), (std::vector<double>{0, 1, 2, 0, 4, 5, 0, 0, 8}));
  auto lower = runOpOnConstants(OpKind::Trilu, {iota({2, 3}), Tensor::scalar<int64_t>(-1)}, attrs({{"upper", int64_t(0)}}));
  EXPECT_EQ(values(lower[0]), (std::vector<double>{0, 0, 0, 3, 0, 0}));

  EXPECT_EQ(inferWithInput(OpKind::EyeLike, f32({N, 3}), {}, attrs({{"dtype", std::string("i32")}})),
            TensorType(DType::I32, Shape(std::vector<Dim>{N, 3})));
  auto eye = runOpOnConstants(OpKind::EyeLike, {iota({2, 3})}, attrs({{"k", int64_t(1)}}));
  EXPECT_EQ(values(eye[0]), (std::vector<double>{0, 1, 0, 0, 0, 1}));
  EXPECT_THROW(runOpOnConstants(OpKind::EyeLike, {iota({3})}), dlc::UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::Trilu, {iota({3})}), dlc::UserError);
}

TEST(OpsTensor, DepthToSpaceAndSpaceToDepth) {
  Attributes block2 = attrs({{"blocksize", int64_t(2)}});
  EXPECT_EQ(inferWithInput(OpKind::DepthToSpace, f32({N, 8, 2, 3}), {}, block2), f32({N, 2, 4, 6}));
  EXPECT_EQ(inferWithInput(OpKind::SpaceToDepth, f32({N, 2, 4, 6}), {}, block2), f32({N, 8, 2, 3}));
  // DCR: output (0, 0, h, w) reads channel (h%2)*2 + w%2 at (h/2, w/2).
  auto d2s = runOpOnConstants(OpKind::DepthToSpace, {iota({1, 4, 1, 1})}, block2);
  EXPECT_EQ(d2s[0].shape(), (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_EQ(values(d2s[0]), (std::vector<double>{0, 1, 2, 3}));
  // SpaceToDepth inverts DepthToSpace (DCR).
  Tensor x = iota({1, 8, 2, 3});
  auto round = runOpOnConstants(OpKind::SpaceToDepth, {runOpOnConstants(OpKind::DepthToSpace, {x}, block2)[0]}, block2);
  EXPECT_EQ(values(round[0]), values(x));
  Attributes crd = attrs({{"blocksize", int64_t(2)}, {"mode", std::string("CRD")}});
  EXPECT_EQ(values(runOpOnConstants(OpKind::DepthToSpace, {iota({1, 4, 1, 1})}, crd)[0]), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_THROW(runOpOnConstants(OpKind::DepthToSpace, {iota({1, 6, 1, 1})}, block2), dlc::UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::SpaceToDepth, {iota({1, 1, 3, 2})}, block2), dlc::UserError);
}

TEST(OpsTensor, ReshapeOfConstantShape) {
  EXPECT_EQ(inferWithInput(OpKind::Reshape, f32({N, 2, 3}), {ints({0, -1})}), f32({N, Dim()}));
  EXPECT_EQ(inferWithInput(OpKind::Reshape, f32({4, 2, 3}), {ints({0, -1})}), f32({4, 6}));
  EXPECT_THROW(runOpOnConstants(OpKind::Reshape, {iota({2, 3}), ints({4, -1})}), dlc::UserError);
}
