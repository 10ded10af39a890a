// CSV of numbers through zlib's gz* functions, which read gzip-compressed
// and plain files alike.
#include "dlc/csv_table.h"

#include <zlib.h>

#include <cstdlib>
#include <memory>

#include "support/error.h"

namespace dlc {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// The next line without its line break; false at the end of the file.
bool readLine(gzFile f, std::string& line) {
  line.clear();
  char buf[4096];
  while (gzgets(f, buf, sizeof buf)) {
    line += buf;
    if (!line.empty() && line.back() == '\n') break;
  }
  if (line.empty()) return false;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return true;
}

std::string trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

CsvTable readCsv(const std::string& path) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throwUserError("cannot open '{}'", path);
  CsvTable t;
  std::string line;
  int64_t lineNo = 0;
  while (readLine(f.get(), line)) {
    ++lineNo;
    if (trimmed(line).empty()) continue;
    int64_t cells = 0;
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      std::string cell = trimmed(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      char* end = nullptr;
      double v = std::strtod(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size())
        throwUserError("'{}': line {}, column {}: '{}' is not a number", path, lineNo, cells + 1, cell);
      t.values.push_back(v);
      ++cells;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (t.rows == 0) t.columns = cells;
    else if (cells != t.columns)
      throwUserError("'{}': line {} has {} columns, expected {} (as on the first row)", path, lineNo, cells, t.columns);
    ++t.rows;
  }
  int error = 0;
  const char* msg = gzerror(f.get(), &error);
  if (error != Z_OK && error != Z_STREAM_END) throwUserError("'{}': cannot read: {}", path, msg);
  if (t.rows == 0) throwUserError("'{}': no rows of numbers", path);
  return t;
}

}  // namespace dlc
