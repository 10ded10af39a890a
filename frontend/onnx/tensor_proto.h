// Conversion between ONNX TensorProto and ir::Tensor.
#pragma once

#include <filesystem>
#include <string>

#include "ir/tensor.h"

namespace onnx {
class TensorProto;
}

namespace dlc::frontend::onnx {

// ONNX TensorProto.DataType -> DType; throws UnsupportedError naming the type
// for strings, complex, float8/float6/float4 and 4-/2-bit integer types, and
// UserError for codes that are no ONNX type.
ir::DType dtypeFromOnnx(int onnxType);
// The ONNX name of a TensorProto.DataType code ("FLOAT8E4M3FN"), or nullptr
// for a code that is no ONNX type.
const char* onnxDTypeName(int onnxType);
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
