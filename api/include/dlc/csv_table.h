// Reading training data: a table of numbers from a CSV file, plain or
// gzip-compressed (.csv.gz), one row a line, cells separated by commas.
// Used by `dlc train` and examples/train_digits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dlc {

struct CsvTable {
  int64_t rows = 0;
  int64_t columns = 0;
  std::vector<double> values;  // row-major, rows * columns
  double at(int64_t row, int64_t column) const { return values[size_t(row * columns + column)]; }
};

// Reads every non-blank line. Throws dlc::UserError naming the file (and the
// line and column) for a file that cannot be opened, a cell that is not a
// number, a line whose cell count differs from the first line's, or a file
// without rows.
CsvTable readCsv(const std::string& path);

}  // namespace dlc
