// Signal ops: windows, DFT (forward, inverse, one-sided), STFT.
#include <gtest/gtest.h>

#include "tests/unit/op_test_util.h"

#include <cmath>

#include "ir/builder.h"
#include "ir/interpreter.h"
#include "support/error.h"

using namespace dlc;
using namespace dlc::ir;

using namespace dlc::ir::testing;

namespace {
}  // namespace

TEST(Signal, HannWindowPeriodicAndSymmetric) {
  Tensor periodic = runOp1(OpKind::HannWindow, {Tensor::scalar<int64_t>(4)});
  EXPECT_EQ(periodic.shape(), (std::vector<int64_t>{4}));
  EXPECT_NEAR(periodic.getDouble(1), 0.5, 1e-7);  // sin^2(pi/4)
  EXPECT_NEAR(periodic.getDouble(2), 1.0, 1e-7);
  Attributes symmetric;
  symmetric.set("periodic", int64_t(0));
  Tensor sym = runOp1(OpKind::HannWindow, {Tensor::scalar<int64_t>(5)}, symmetric);
  EXPECT_NEAR(sym.getDouble(4), 0.0, 1e-7);
  EXPECT_NEAR(sym.getDouble(2), 1.0, 1e-7);
}

TEST(Signal, DftOfAnImpulseIsFlatAndInverseRestoresIt) {
  // [batch 1, length 4, real]: an impulse at n = 1.
  Tensor x = Tensor::fromVector<float>({1, 4, 1}, {0, 1, 0, 0});
  Tensor spectrum = runOp1(OpKind::DFT, {x});
  ASSERT_EQ(spectrum.shape(), (std::vector<int64_t>{1, 4, 2}));
  // X[k] = exp(-2 pi i k / 4): X[1] = -i.
  EXPECT_NEAR(spectrum.getDouble(2), 0.0, 1e-6);
  EXPECT_NEAR(spectrum.getDouble(3), -1.0, 1e-6);
  Attributes inverse;
  inverse.set("inverse", int64_t(1));
  Tensor back = runOp1(OpKind::DFT, {spectrum}, inverse);
  EXPECT_NEAR(back.getDouble(2), 1.0, 1e-6);  // real part at n = 1
  EXPECT_NEAR(back.getDouble(3), 0.0, 1e-6);
  Attributes onesided;
  onesided.set("onesided", int64_t(1));
  EXPECT_EQ(runOp1(OpKind::DFT, {x}, onesided).shape(), (std::vector<int64_t>{1, 3, 2}));
}

TEST(Signal, DftRejectsASignalWithoutAComplexDim) {
  EXPECT_THROW(runOp1(OpKind::DFT, {Tensor::fromVector<float>({1, 4, 3}, std::vector<float>(12, 0))}), UserError);
}

TEST(Signal, StftFramesTheSignal) {
  std::vector<float> signal(8);
  for (int i = 0; i < 8; ++i) signal[size_t(i)] = float(i);
  Tensor out = runOp1(OpKind::STFT, {Tensor::fromVector<float>({1, 8, 1}, signal), Tensor::scalar<int64_t>(2),
                                     Tensor::fromVector<float>({4}, {1, 1, 1, 1})});
  // frames = 1 + (8 - 4) / 2 = 3, one-sided bins = 4 / 2 + 1 = 3.
  ASSERT_EQ(out.shape(), (std::vector<int64_t>{1, 3, 3, 2}));
  EXPECT_NEAR(out.getDouble((2 * 3 + 0) * 2), 4 + 5 + 6 + 7, 1e-5);  // DC of the last frame
}

// Operands that must hold one element (dft_length, DFT's axis, frame_step,
// frame_length, the mel edges) are checked before element 0 is read, in the
// kernel (runOp) and in inference (runOpOnConstants); an empty one was read
// past its end (ASan). STFT's window must be 1-D (inference read dim 0 of a
// scalar window).
TEST(Signal, ScalarOperandsMustHoldOneElement) {
  Tensor x = Tensor::fromVector<float>({1, 4, 1}, {0, 1, 0, 0});
  Tensor empty(DType::I64, {0});
  EXPECT_THROW(runOp1(OpKind::DFT, {x, empty}), UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::DFT, {x, empty}), UserError);
  EXPECT_THROW(runOp1(OpKind::DFT, {x, std::nullopt, empty}), UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::DFT, {x, std::nullopt, empty}), UserError);
  Tensor signal = Tensor::fromVector<float>({1, 8, 1}, std::vector<float>(8, 1.0f));
  EXPECT_THROW(runOp1(OpKind::STFT, {signal, empty}), UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::STFT, {signal, empty}), UserError);
  EXPECT_THROW(runOp1(OpKind::STFT, {signal, Tensor::scalar<int64_t>(2), std::nullopt, empty}), UserError);
  EXPECT_THROW(runOp1(OpKind::STFT, {signal, Tensor::scalar<int64_t>(2), Tensor::scalar<float>(1)}), UserError);
  EXPECT_THROW(runOpOnConstants(OpKind::STFT, {signal, Tensor::scalar<int64_t>(2), Tensor::scalar<float>(1)}),
               UserError);
  auto i64 = [](int64_t v) { return Tensor::scalar<int64_t>(v); };
  EXPECT_THROW(runOp1(OpKind::MelWeightMatrix, {i64(4), i64(8), i64(8000), Tensor(DType::F32, {0}),
                                                Tensor::scalar<float>(4000)}),
               UserError);
  EXPECT_NO_THROW(runOp1(OpKind::MelWeightMatrix, {i64(4), i64(8), i64(8000), Tensor::scalar<float>(0),
                                                   Tensor::scalar<float>(4000)}));
}
