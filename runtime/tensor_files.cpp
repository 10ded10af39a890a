// Tensor files for libdlcrt (dlcrt_read_tensor / dlcrt_write_tensor): .npy
// (version 1-3, C order) and ONNX TensorProto .pb, decoded by hand (libdlcrt
// links no protobuf): dims, data_type, raw_data and the typed repeated
// fields.
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "dlc_runtime.h"
#include "runtime/c_api_internal.h"
#include "support/error_types.h"

namespace {

using dlc::UserError;

struct DtypeNames {
  int dtype;
  const char* npy;  // descr without the byte-order character
  int onnx;         // TensorProto.DataType
  int size;
};
constexpr DtypeNames kDtypes[] = {
    {DLCRT_DTYPE_F32, "f4", 1, 4},  {DLCRT_DTYPE_F64, "f8", 11, 8}, {DLCRT_DTYPE_F16, "f2", 10, 2},
    {DLCRT_DTYPE_BF16, "", 16, 2},  {DLCRT_DTYPE_I8, "i1", 3, 1},   {DLCRT_DTYPE_I16, "i2", 5, 2},
    {DLCRT_DTYPE_I32, "i4", 6, 4},  {DLCRT_DTYPE_I64, "i8", 7, 8},  {DLCRT_DTYPE_U8, "u1", 2, 1},
    {DLCRT_DTYPE_U16, "u2", 4, 2},  {DLCRT_DTYPE_U32, "u4", 12, 4}, {DLCRT_DTYPE_U64, "u8", 13, 8},
    {DLCRT_DTYPE_BOOL, "b1", 9, 1},
};

const DtypeNames& dtypeOf(int dtype) {
  for (const DtypeNames& d : kDtypes)
    if (d.dtype == dtype) return d;
  throw UserError("unknown dtype code " + std::to_string(dtype));
}

std::string shapeText(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
  return t + "]";
}

std::vector<int64_t> shapeOf(const dlcrt_tensor_info& info) {
  if (info.rank < 0 || info.rank > DLCRT_MAX_RANK) throw UserError("rank out of range");
  return {info.shape, info.shape + info.rank};
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot open '" + path + "'");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool endsWith(const std::string& s, const char* suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

void checkMatch(const std::string& path, const dlcrt_tensor_info& info, const std::string& dtypeName, bool dtypeOk,
                const std::vector<int64_t>& shape) {
  if (!dtypeOk || shape != shapeOf(info))
    throw UserError("'" + path + "' holds " + dtypeName + " " + shapeText(shape) + ", expected " +
                    dtypeOf(info.dtype).npy + " " + shapeText(shapeOf(info)) + " for '" +
                    (info.name ? info.name : "?") + "'");
}

// ------------------------------------------------------------------ .npy

void readNpy(const std::string& path, const std::string& bytes, const dlcrt_tensor_info& info, void* data) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw UserError("'" + path + "' is not a .npy file");
  size_t headerLen = 0, start = 0;
  if (bytes[6] == 1) {
    headerLen = uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8;
    start = 10;
  } else {
    if (bytes.size() < 12) throw UserError("'" + path + "' is truncated");
    for (int i = 0; i < 4; ++i) headerLen |= size_t(uint8_t(bytes[8 + i])) << (8 * i);
    start = 12;
  }
  if (start + headerLen > bytes.size()) throw UserError("'" + path + "' is truncated");
  std::string header = bytes.substr(start, headerLen);
  auto field = [&](const char* key) {
    size_t k = header.find(key);
    if (k == std::string::npos) throw UserError("'" + path + "': no " + key + " in the .npy header");
    return header.substr(header.find(':', k) + 1);
  };
  std::string descr = field("'descr'");
  size_t q = descr.find('\'');
  std::string d = descr.substr(q + 1, descr.find('\'', q + 1) - q - 1);  // e.g. <f4
  if (field("'fortran_order'").find("True") < field("'fortran_order'").find(','))
    throw UserError("'" + path + "': Fortran-order arrays are not supported");
  std::string shapeField = field("'shape'");
  std::string dims = shapeField.substr(shapeField.find('(') + 1, shapeField.find(')') - shapeField.find('(') - 1);
  std::vector<int64_t> shape;
  for (size_t p = 0; p < dims.size();) {
    size_t comma = dims.find(',', p);
    std::string part = dims.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
    if (part.find_first_of("0123456789") != std::string::npos) shape.push_back(std::stoll(part));
    if (comma == std::string::npos) break;
    p = comma + 1;
  }
  const DtypeNames& want = dtypeOf(info.dtype);
  bool little = !d.empty() && (d[0] == '<' || d[0] == '|');
  checkMatch(path, info, d, little && d.substr(1) == want.npy && *want.npy, shape);
  size_t need = size_t(info.num_bytes);
  if (bytes.size() - start - headerLen < need) throw UserError("'" + path + "' is truncated");
  std::memcpy(data, bytes.data() + start + headerLen, need);
}

void writeNpy(std::ofstream& out, const dlcrt_tensor_info& info, const void* data) {
  const DtypeNames& d = dtypeOf(info.dtype);
  if (!*d.npy) throw UserError("bf16 tensors cannot be written as .npy");
  std::string shape = "(";
  for (int i = 0; i < info.rank; ++i) shape += std::to_string(info.shape[i]) + (info.rank == 1 ? "," : i + 1 < info.rank ? ", " : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + (d.size == 1 ? "|" : "<") + d.npy +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  out.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
  out.write(len, 2);
  out.write(header.data(), std::streamsize(header.size()));
  out.write(static_cast<const char*>(data), std::streamsize(info.num_bytes));
}

// ------------------------------------------------------------------ .pb

class Wire {
 public:
  Wire(const std::string& b, const std::string& path) : b_(b), path_(path) {}
  bool done() const { return pos_ >= b_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) bad();
      uint8_t c = uint8_t(b_[pos_++]);
      v |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    bad();
  }
  std::string_view bytes() {
    uint64_t n = varint();
    if (n > b_.size() - pos_) bad();
    std::string_view s(b_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  void skip(int wireType) {
    switch (wireType) {
      case 0: varint(); return;
      case 1: advance(8); return;
      case 2: bytes(); return;
      case 5: advance(4); return;
      default: bad();
    }
  }
  void advance(size_t n) {
    if (n > b_.size() - pos_) bad();
    pos_ += n;
  }
  const char* at() const { return b_.data() + pos_; }
  [[noreturn]] void bad() const { throw UserError("'" + path_ + "' is not a valid TensorProto"); }

 private:
  const std::string& b_;
  const std::string& path_;
  size_t pos_ = 0;
};

void readPb(const std::string& path, const std::string& bytes, const dlcrt_tensor_info& info, void* data) {
  Wire w(bytes, path);
  std::vector<int64_t> shape;
  int onnxType = 0;
  std::string_view raw;
  bool haveRaw = false;
  std::vector<uint64_t> ints;  // int32_data / int64_data / uint64_data (as bits)
  std::vector<float> floats;
  std::vector<double> doubles;
  while (!w.done()) {
    uint64_t key = w.varint();
    int field = int(key >> 3), type = int(key & 7);
    auto repeatedVarints = [&](auto&& sink) {
      if (type == 2) {
        std::string_view packed = w.bytes();
        std::string copy(packed);
        Wire inner(copy, path);
        while (!inner.done()) sink(inner.varint());
      } else {
        sink(w.varint());
      }
    };
    if (field == 1) {
      repeatedVarints([&](uint64_t v) { shape.push_back(int64_t(v)); });
    } else if (field == 2 && type == 0) {
      onnxType = int(w.varint());
    } else if (field == 9 && type == 2) {
      raw = w.bytes();
      haveRaw = true;
    } else if ((field == 5 || field == 7 || field == 11) && (type == 0 || type == 2)) {
      repeatedVarints([&](uint64_t v) { ints.push_back(v); });
    } else if (field == 4 && type == 2) {
      std::string_view p = w.bytes();
      if (p.size() % 4) w.bad();
      floats.resize(floats.size() + p.size() / 4);
      std::memcpy(floats.data() + floats.size() - p.size() / 4, p.data(), p.size());
    } else if (field == 10 && type == 2) {
      std::string_view p = w.bytes();
      if (p.size() % 8) w.bad();
      doubles.resize(doubles.size() + p.size() / 8);
      std::memcpy(doubles.data() + doubles.size() - p.size() / 8, p.data(), p.size());
    } else {
      w.skip(type);
    }
  }
  const DtypeNames& want = dtypeOf(info.dtype);
  checkMatch(path, info, "onnx type " + std::to_string(onnxType), onnxType == want.onnx, shape);
  size_t n = size_t(info.num_elements), need = size_t(info.num_bytes);
  if (haveRaw) {
    if (raw.size() != need) w.bad();
    std::memcpy(data, raw.data(), need);
  } else if (want.dtype == DLCRT_DTYPE_F32 && floats.size() == n) {
    std::memcpy(data, floats.data(), need);
  } else if (want.dtype == DLCRT_DTYPE_F64 && doubles.size() == n) {
    std::memcpy(data, doubles.data(), need);
  } else if (ints.size() == n) {
    auto* out = static_cast<uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) std::memcpy(out + i * size_t(want.size), &ints[i], size_t(want.size));
  } else {
    throw UserError("'" + path + "' holds no data of the expected size");
  }
}

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char(v | 0x80);
    v >>= 7;
  }
  out += char(v);
}

void writePb(std::ofstream& out, const dlcrt_tensor_info& info, const void* data) {
  std::string b;
  for (int i = 0; i < info.rank; ++i) {
    putVarint(b, 1 << 3);
    putVarint(b, uint64_t(info.shape[i]));
  }
  putVarint(b, 2 << 3);
  putVarint(b, uint64_t(dtypeOf(info.dtype).onnx));
  if (info.name) {
    putVarint(b, 8 << 3 | 2);
    putVarint(b, std::strlen(info.name));
    b += info.name;
  }
  putVarint(b, 9 << 3 | 2);
  putVarint(b, uint64_t(info.num_bytes));
  b.append(static_cast<const char*>(data), size_t(info.num_bytes));
  out.write(b.data(), std::streamsize(b.size()));
}

}  // namespace

using dlc::runtime::capi::fail;

extern "C" {

dlcrt_status dlcrt_read_tensor(const char* path, const dlcrt_tensor_info* info, void* data) {
  if (!path || !info || (!data && info->num_bytes > 0)) return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_read_tensor: NULL argument");
  try {
    std::string p(path), bytes = readFile(p);
    if (endsWith(p, ".pb")) readPb(p, bytes, *info, data);
    else readNpy(p, bytes, *info, data);
    return DLCRT_OK;
  } catch (const std::exception& e) {
    return fail(DLCRT_IO_ERROR, e.what());
  }
}

dlcrt_status dlcrt_write_tensor(const char* path, const dlcrt_tensor_info* info, const void* data) {
  if (!path || !info || (!data && info->num_bytes > 0)) return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_write_tensor: NULL argument");
  try {
    std::string p(path);
    std::ofstream out(p, std::ios::binary);
    if (!out) throw UserError("cannot write '" + p + "'");
    if (endsWith(p, ".pb")) writePb(out, *info, data);
    else writeNpy(out, *info, data);
    if (!out) throw UserError("cannot write '" + p + "'");
    return DLCRT_OK;
  } catch (const std::exception& e) {
    return fail(DLCRT_IO_ERROR, e.what());
  }
}

}  // extern "C"
