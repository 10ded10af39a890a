#include "ir/npy.h"

#include <fstream>
#include <sstream>

#include "support/error.h"

namespace dlc::ir {

static const char* npyDescr(DType t) {
  switch (t) {
    case DType::F32: return "<f4";
    case DType::F64: return "<f8";
    case DType::F16: return "<f2";
    case DType::I8: return "|i1";
    case DType::I16: return "<i2";
    case DType::I32: return "<i4";
    case DType::I64: return "<i8";
    case DType::U8: return "|u1";
    case DType::U16: return "<u2";
    case DType::U32: return "<u4";
    case DType::U64: return "<u8";
    case DType::Bool: return "|b1";
    case DType::BF16:  // numpy has no bfloat16
    case DType::Undefined: break;
  }
  throwUserError("dtype {} cannot be written as .npy", dtypeName(t));
}

static DType dtypeFromDescr(const std::string& d, const std::string& path) {
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::I8, DType::I16, DType::I32, DType::I64,
                  DType::U8, DType::U16, DType::U32, DType::U64, DType::Bool}) {
    std::string want = npyDescr(t);
    if (d == want || (want[0] == '<' && d == "|" + want.substr(1)) ||
        (want[0] == '|' && d == "<" + want.substr(1)))
      return t;
  }
  throwUserError("{}: unsupported .npy dtype '{}' (only little-endian numeric types)", path, d);
}

// Extracts the value text of 'key' from the header dict.
static std::string headerField(const std::string& header, const std::string& key, const std::string& path) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) throwUserError("{}: .npy header has no '{}'", path, key);
  size_t colon = header.find(':', k);
  if (colon == std::string::npos) throwUserError("{}: malformed .npy header", path);
  size_t start = colon + 1;
  while (start < header.size() && header[start] == ' ') ++start;
  size_t end = start;
  if (start < header.size() && header[start] == '(') {
    end = header.find(')', start);
    if (end == std::string::npos) throwUserError("{}: malformed .npy header", path);
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  return header.substr(start, end - start);
}

Tensor readNpy(const std::string& path, int64_t maxBytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throwUserError("cannot open '{}'", path);
  char magic[8];
  if (!f.read(magic, 8) || std::string(magic, 6) != "\x93NUMPY")
    throwUserError("'{}' is not a .npy file", path);
  uint8_t major = uint8_t(magic[6]);
  uint32_t headerLen = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) throwUserError("{}: truncated .npy header", path);
    headerLen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) throwUserError("{}: truncated .npy header", path);
    headerLen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  if (headerLen > (1u << 20)) throwUserError("{}: .npy header too large", path);
  std::string header(headerLen, '\0');
  if (!f.read(header.data(), headerLen)) throwUserError("{}: truncated .npy header", path);
  std::string descr = headerField(header, "descr", path);
  if (descr.size() < 2) throwUserError("{}: malformed .npy dtype", path);
  descr = descr.substr(1, descr.size() - 2);  // strip quotes
  if (headerField(header, "fortran_order", path).find("True") != std::string::npos)
    throwUserError("{}: Fortran-order .npy files are not supported", path);
  std::string shapeText = headerField(header, "shape", path);
  if (shapeText.size() < 2 || shapeText.front() != '(' || shapeText.back() != ')')
    throwUserError("{}: bad .npy shape '{}'", path, shapeText);
  std::vector<int64_t> shape;
  std::stringstream ss(shapeText.substr(1, shapeText.size() - 2));
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(' ');
    if (a == std::string::npos) continue;
    try {
      shape.push_back(std::stoll(item.substr(a)));
    } catch (const std::exception&) {
      throwUserError("{}: bad .npy shape '{}'", path, shapeText);
    }
  }
  DType dtype = dtypeFromDescr(descr, path);
  checkTensorBytes(dtype, shape, maxBytes, fmt::format("'{}'", path));
  std::streamoff dataStart = f.tellg();
  f.seekg(0, std::ios::end);
  std::streamoff fileEnd = f.tellg();
  f.seekg(dataStart);
  if (fileEnd - dataStart < std::streamoff(checkedNumElements(shape) * int64_t(dtypeSize(dtype))))
    throwUserError("{}: .npy data is shorter than its shape [{}] needs", path, fmt::join(shape, ","));
  Tensor t(dtype, shape);
  if (!f.read(reinterpret_cast<char*>(t.rawData()), std::streamsize(t.byteSize())))
    throwUserError("{}: .npy data is shorter than its shape [{}] needs", path, fmt::join(shape, ","));
  return t;
}

void writeNpy(const std::string& path, const Tensor& t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.rank(); ++i) shape += std::to_string(t.dim(i)) + (t.rank() == 1 ? "," : (i + 1 < t.rank() ? ", " : ""));
  shape += ")";
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", npyDescr(t.dtype()), shape);
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) throwUserError("cannot write '{}'", path);
  f.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
  f.write(len, 2);
  f.write(header.data(), std::streamsize(header.size()));
  f.write(reinterpret_cast<const char*>(t.rawData()), std::streamsize(t.byteSize()));
  if (!f) throwUserError("failed writing '{}'", path);
}

}  // namespace dlc::ir
