// The export table: one case per IR op, saying how it is written as ONNX
// (see frontend/onnx/node_exporter.h). No default, so that a new op fails
// to compile (-Werror=switch) until it is given a form here.
#include "frontend/onnx/node_exporter.h"

namespace dlc::frontend::onnx {

namespace {

void exportAsIr(NodeExporter& ne) { ne.writeAsIr(); }

}  // namespace

ExportHandler exportHandler(ir::OpKind op) {
  using ir::OpKind;
  switch (op) {
    // The IR form is the ONNX form at kExportOpset: written as they are.
    // ir/ops/elementwise.def
    case OpKind::Identity: case OpKind::Relu: case OpKind::Add: case OpKind::Sub: case OpKind::Mul:
    case OpKind::Div: case OpKind::Abs: case OpKind::Neg: case OpKind::Sign: case OpKind::Exp:
    case OpKind::Log: case OpKind::Sqrt: case OpKind::Reciprocal: case OpKind::Sin: case OpKind::Cos:
    case OpKind::Tan: case OpKind::Asin: case OpKind::Acos: case OpKind::Atan: case OpKind::Sinh:
    case OpKind::Cosh: case OpKind::Tanh: case OpKind::Asinh: case OpKind::Acosh: case OpKind::Atanh:
    case OpKind::Erf: case OpKind::Ceil: case OpKind::Floor: case OpKind::Round: case OpKind::Sigmoid:
    case OpKind::HardSigmoid: case OpKind::HardSwish: case OpKind::LeakyRelu: case OpKind::Elu:
    case OpKind::Selu: case OpKind::Celu: case OpKind::Softplus: case OpKind::Softsign:
    case OpKind::ThresholdedRelu: case OpKind::Shrink: case OpKind::PRelu: case OpKind::Gelu:
    case OpKind::Mish: case OpKind::Equal: case OpKind::Greater: case OpKind::Less:
    case OpKind::GreaterOrEqual: case OpKind::LessOrEqual: case OpKind::And: case OpKind::Or:
    case OpKind::Xor: case OpKind::Not: case OpKind::IsNaN: case OpKind::IsInf: case OpKind::BitShift:
    case OpKind::BitwiseAnd: case OpKind::BitwiseOr: case OpKind::BitwiseXor: case OpKind::BitwiseNot:
    case OpKind::Pow: case OpKind::Mod: case OpKind::Min: case OpKind::Max: case OpKind::Sum:
    case OpKind::Mean: case OpKind::Where: case OpKind::Clip: case OpKind::Dropout:
    // ir/ops/reduction.def
    case OpKind::ReduceSum: case OpKind::ReduceMean: case OpKind::ReduceMax: case OpKind::ReduceMin:
    case OpKind::ReduceProd: case OpKind::ReduceL1: case OpKind::ReduceL2: case OpKind::ReduceLogSum:
    case OpKind::ReduceLogSumExp: case OpKind::ReduceSumSquare: case OpKind::ArgMax: case OpKind::ArgMin:
    case OpKind::Softmax: case OpKind::LogSoftmax: case OpKind::Hardmax: case OpKind::BatchNormalization:
    case OpKind::InstanceNormalization: case OpKind::LayerNormalization: case OpKind::GroupNormalization:
    case OpKind::LRN: case OpKind::MeanVarianceNormalization: case OpKind::CumSum: case OpKind::TopK:
    case OpKind::NegativeLogLikelihoodLoss: case OpKind::SoftmaxCrossEntropyLoss:
    // ir/ops/tensor.def
    case OpKind::Reshape: case OpKind::Transpose: case OpKind::Concat: case OpKind::Slice:
    case OpKind::Squeeze: case OpKind::Unsqueeze: case OpKind::Expand: case OpKind::Flatten: case OpKind::Pad:
    case OpKind::Tile: case OpKind::Shape: case OpKind::Size: case OpKind::ConstantOfShape:
    case OpKind::Range: case OpKind::Trilu: case OpKind::DepthToSpace: case OpKind::SpaceToDepth:
    // ir/ops/nn.def
    case OpKind::MatMul: case OpKind::Gemm: case OpKind::Conv: case OpKind::ConvTranspose:
    case OpKind::MaxPool: case OpKind::AveragePool: case OpKind::LpPool: case OpKind::GlobalAveragePool:
    case OpKind::GlobalMaxPool: case OpKind::GlobalLpPool: case OpKind::MaxUnpool: case OpKind::Einsum:
    case OpKind::RNN: case OpKind::GRU: case OpKind::LSTM: case OpKind::QuantizeLinear:
    case OpKind::DequantizeLinear: case OpKind::MatMulInteger: case OpKind::QLinearMatMul:
    case OpKind::ConvInteger: case OpKind::QLinearConv: case OpKind::Det:
    // ir/ops/index.def
    case OpKind::Gather: case OpKind::GatherElements: case OpKind::GatherND: case OpKind::ScatterElements:
    case OpKind::ScatterND: case OpKind::OneHot: case OpKind::NonZero: case OpKind::Compress:
    case OpKind::ReverseSequence: case OpKind::Unique: case OpKind::Resize: case OpKind::GridSample:
    case OpKind::RoiAlign: case OpKind::NonMaxSuppression:
    // ir/ops/control.def
    case OpKind::If: case OpKind::Loop: case OpKind::Scan:
    // ir/ops/signal.def
    case OpKind::DFT: case OpKind::STFT:
      return exportAsIr;
    // `to` / `dtype` / `output_datatype`: an IR dtype name, an ONNX code.
    case OpKind::Cast: return exportCast;
    case OpKind::EyeLike: return exportEyeLike;
    // Equal parts need num_outputs from opset 18.
    case OpKind::Split: return exportSplit;
    case OpKind::HannWindow:
    case OpKind::HammingWindow:
    case OpKind::BlackmanWindow:
    case OpKind::MelWeightMatrix: return exportWithOutputDType;
    // ONNX requires all three results.
    case OpKind::DynamicQuantizeLinear: return exportDynamicQuantizeLinear;
    // ai.onnx.preview.training.
    case OpKind::Adagrad:
    case OpKind::Adam:
    case OpKind::Momentum: return exportTrainingOp;
    // IR-only (kInternal): fused kernels formed by passes/fusion.cpp, the CPU's
    // channel-blocked convolutions (passes/blocked_layout.cpp).
    case OpKind::Fused:
    case OpKind::BlockedConv: return nullptr;
  }
  return nullptr;
}

}  // namespace dlc::frontend::onnx
