// Conversion between ONNX TensorProto and ir::Tensor.
#pragma once

#include <filesystem>
#include <string>

#include "ir/tensor.h"

namespace onnx {
class TensorProto;
}

namespace dlc::frontend::onnx {

// ONNX TensorProto.DataType -> DType; throws UnsupportedError for strings,
// complex and 8-bit float types.
ir::DType dtypeFromOnnx(int onnxType);
int dtypeToOnnx(ir::DType t);

// Converts a tensor. External data is read relative to `modelDir`; a
// location that leaves modelDir (.., an absolute path, a symlink out) is
// refused. `modelDir` empty: external data is refused. A tensor over
// maxBytes is refused before anything is allocated or read.
ir::Tensor tensorFromProto(const ::onnx::TensorProto& proto, const std::filesystem::path& modelDir,
                           int64_t maxBytes = ir::kDefaultMaxTensorBytes);
void tensorToProto(const ir::Tensor& t, ::onnx::TensorProto& proto);

// Reads a serialized TensorProto file (as in test_data_set_N/input_K.pb).
ir::Tensor readTensorProtoFile(const std::string& path, std::string* nameOut = nullptr,
                               int64_t maxBytes = ir::kDefaultMaxTensorBytes);

}  // namespace dlc::frontend::onnx
