#include "frontend/onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <iterator>

#include "support/error.h"

namespace dlc::frontend::onnx {

using ir::DType;
using ir::Tensor;
namespace fs = std::filesystem;

const char* onnxDTypeName(int t) {
  // TensorProto.DataType as of onnx 1.23 (written out: the libonnx-dev
  // protobuf predates the newest codes).
  static constexpr const char* kNames[] = {
      "UNDEFINED", "FLOAT",        "UINT8",          "INT8",       "UINT16",         "INT16",
      "INT32",     "INT64",        "STRING",         "BOOL",       "FLOAT16",        "DOUBLE",
      "UINT32",    "UINT64",       "COMPLEX64",      "COMPLEX128", "BFLOAT16",       "FLOAT8E4M3FN",
      "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4",   "INT4",           "FLOAT4E2M1",
      "FLOAT8E8M0", "UINT2",       "INT2",           "FLOAT6E2M3", "FLOAT6E3M2"};
  return t >= 0 && size_t(t) < std::size(kNames) ? kNames[t] : nullptr;
}

DType dtypeFromOnnx(int t) {
  switch (t) {
    case ::onnx::TensorProto::FLOAT: return DType::F32;
    case ::onnx::TensorProto::DOUBLE: return DType::F64;
    case ::onnx::TensorProto::FLOAT16: return DType::F16;
    case ::onnx::TensorProto::BFLOAT16: return DType::BF16;
    case ::onnx::TensorProto::INT8: return DType::I8;
    case ::onnx::TensorProto::INT16: return DType::I16;
    case ::onnx::TensorProto::INT32: return DType::I32;
    case ::onnx::TensorProto::INT64: return DType::I64;
    case ::onnx::TensorProto::UINT8: return DType::U8;
    case ::onnx::TensorProto::UINT16: return DType::U16;
    case ::onnx::TensorProto::UINT32: return DType::U32;
    case ::onnx::TensorProto::UINT64: return DType::U64;
    case ::onnx::TensorProto::BOOL: return DType::Bool;
    case ::onnx::TensorProto::STRING: throw UnsupportedError("string tensors are not supported");
    case ::onnx::TensorProto::COMPLEX64:
    case ::onnx::TensorProto::COMPLEX128: throw UnsupportedError("complex tensors are not supported");
    default: break;
  }
  if (t == 0) throwUserError("tensor element type UNDEFINED (0) is not a type");
  if (const char* name = onnxDTypeName(t))
    throw UnsupportedError(fmt::format("tensor element type {} ({}) is not supported: dlc has no 8-, 6-, 4- or 2-bit "
                                       "float types and no 4- or 2-bit integer types",
                                       name, t));
  throwUserError("tensor element type {} is not an ONNX data type", t);
}

int dtypeToOnnx(DType t) {
  switch (t) {
    case DType::F32: return ::onnx::TensorProto::FLOAT;
    case DType::F64: return ::onnx::TensorProto::DOUBLE;
    case DType::F16: return ::onnx::TensorProto::FLOAT16;
    case DType::BF16: return ::onnx::TensorProto::BFLOAT16;
    case DType::I8: return ::onnx::TensorProto::INT8;
    case DType::I16: return ::onnx::TensorProto::INT16;
    case DType::I32: return ::onnx::TensorProto::INT32;
    case DType::I64: return ::onnx::TensorProto::INT64;
    case DType::U8: return ::onnx::TensorProto::UINT8;
    case DType::U16: return ::onnx::TensorProto::UINT16;
    case DType::U32: return ::onnx::TensorProto::UINT32;
    case DType::U64: return ::onnx::TensorProto::UINT64;
    case DType::Bool: return ::onnx::TensorProto::BOOL;
    case DType::Undefined: break;
  }
  DLC_CHECK(false, "undefined dtype");
}

// Resolves an external-data location inside modelDir, refusing escapes.
static fs::path resolveExternal(const std::string& location, const fs::path& modelDir,
                                const std::string& tensorName) {
  if (modelDir.empty())
    throwUserError("tensor '{}' uses external data, but no model folder is known", tensorName);
  fs::path rel(location);
  if (rel.is_absolute() || location.empty())
    throwUserError("tensor '{}': external data location '{}' must be a relative path inside the model's folder",
                   tensorName, location);
  std::error_code ec;
  fs::path base = fs::weakly_canonical(modelDir, ec);
  fs::path full = fs::weakly_canonical(modelDir / rel, ec);
  if (ec) throwUserError("tensor '{}': cannot resolve external data '{}'", tensorName, location);
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end())
    throwUserError("tensor '{}': external data location '{}' is outside the model's folder", tensorName,
                   location);
  return full;
}

static void readExternal(const ::onnx::TensorProto& proto, const fs::path& modelDir, Tensor& t) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : proto.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      throwUserError("tensor '{}': bad external data field '{}'", proto.name(), kv.key());
    }
  }
  fs::path path = resolveExternal(location, modelDir, proto.name());
  int64_t need = int64_t(t.byteSize());
  if (length >= 0 && length != need)
    throwUserError("tensor '{}': external data length {} differs from the {} bytes its shape needs",
                   proto.name(), length, need);
  std::ifstream f(path, std::ios::binary);
  if (!f) throwUserError("tensor '{}': cannot open external data file '{}'", proto.name(), location);
  f.seekg(0, std::ios::end);
  int64_t fileSize = f.tellg();
  if (offset < 0 || offset > fileSize || fileSize - offset < need)
    throwUserError("tensor '{}': external data file '{}' is too short ({} bytes, need {} at offset {})",
                   proto.name(), location, fileSize, need, offset);
  f.seekg(offset);
  f.read(reinterpret_cast<char*>(t.rawData()), need);
}

Tensor tensorFromProto(const ::onnx::TensorProto& proto, const fs::path& modelDir, int64_t maxBytes) {
  DType dtype = dtypeFromOnnx(proto.data_type());
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0) throwUserError("tensor '{}' has a negative dim {}", proto.name(), d);
  ir::checkTensorBytes(dtype, shape, maxBytes, fmt::format("tensor '{}'", proto.name()));
  Tensor t(dtype, shape);
  int64_t n = t.numel();
  auto expectCount = [&](int64_t count, const char* field) {
    if (count != n)
      throwUserError("tensor '{}' has {} values in {} but its shape [{}] needs {}", proto.name(), count,
                     field, fmt::join(shape, ","), n);
  };
  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL) {
    readExternal(proto, modelDir, t);
  } else if (proto.has_raw_data()) {
    if (proto.raw_data().size() != t.byteSize())
      throwUserError("tensor '{}' has {} bytes of raw data but its shape [{}] of {} needs {}", proto.name(),
                     proto.raw_data().size(), fmt::join(shape, ","), ir::dtypeName(dtype), t.byteSize());
    if (t.byteSize() > 0) std::memcpy(t.rawData(), proto.raw_data().data(), t.byteSize());
  } else {
    switch (dtype) {
      case DType::F32:
        expectCount(proto.float_data_size(), "float_data");
        for (int64_t i = 0; i < n; ++i) t.data<float>()[size_t(i)] = proto.float_data(int(i));
        break;
      case DType::F64:
        expectCount(proto.double_data_size(), "double_data");
        for (int64_t i = 0; i < n; ++i) t.data<double>()[size_t(i)] = proto.double_data(int(i));
        break;
      case DType::I64:
        expectCount(proto.int64_data_size(), "int64_data");
        for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[size_t(i)] = proto.int64_data(int(i));
        break;
      case DType::U32:
      case DType::U64:
        expectCount(proto.uint64_data_size(), "uint64_data");
        for (int64_t i = 0; i < n; ++i) t.setInt(i, int64_t(proto.uint64_data(int(i))));
        break;
      case DType::F16:
      case DType::BF16: {
        // int32_data holds the raw 16-bit patterns.
        expectCount(proto.int32_data_size(), "int32_data");
        auto* p = reinterpret_cast<uint16_t*>(t.rawData());
        for (int64_t i = 0; i < n; ++i) p[i] = uint16_t(proto.int32_data(int(i)));
        break;
      }
      default:  // int8/16/32, uint8/16, bool live in int32_data
        expectCount(proto.int32_data_size(), "int32_data");
        for (int64_t i = 0; i < n; ++i) t.setInt(i, proto.int32_data(int(i)));
        break;
    }
  }
  return t;
}

void tensorToProto(const Tensor& t, ::onnx::TensorProto& proto) {
  proto.set_data_type(dtypeToOnnx(t.dtype()));
  proto.clear_dims();
  for (int64_t d : t.shape()) proto.add_dims(d);
  proto.set_raw_data(std::string(reinterpret_cast<const char*>(t.rawData()), t.byteSize()));
}

Tensor readTensorProtoFile(const std::string& path, std::string* nameOut, int64_t maxBytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throwUserError("cannot open '{}'", path);
  ::onnx::TensorProto proto;
  if (!proto.ParseFromIstream(&f)) throwUserError("'{}' is not a valid ONNX TensorProto", path);
  if (nameOut) *nameOut = proto.name();
  return tensorFromProto(proto, fs::path(path).parent_path(), maxBytes);
}

}  // namespace dlc::frontend::onnx
