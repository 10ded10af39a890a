// Runs test folders in the ONNX backend-test layout:
//   DIR/model.onnx, DIR/test_data_set_N/input_K.pb, DIR/test_data_set_N/output_K.pb
#pragma once

#include <string>
#include <vector>

#include "ir/tensor_compare.h"

namespace dlc::tools {

enum class TestStatus { Pass, Fail, Unsupported };
const char* testStatusName(TestStatus s);

struct ConformanceResult {
  std::string name;  // the folder's name
  TestStatus status;
  std::string detail;  // why it failed or is unsupported
  double seconds = 0;
};

// Folders under `path` that hold a test (or `path` itself if it is one), sorted.
std::vector<std::string> findConformanceTests(const std::string& path);

struct CompileOptions;
// Round trip through the ONNX exporter: the imported graph is exported and
// imported again; that second graph must give the test's expected outputs
// and exactly (bit for bit, NaN equal to NaN) the outputs of the first.
struct RoundTripExport {
  bool enabled = false;
  std::string saveDir;  // if set, each exported model is written there as <test>.onnx
};
ConformanceResult runConformanceTest(const std::string& dir, const std::string& target, ir::Tolerance tol,
                                     const CompileOptions& options, const RoundTripExport& roundTrip = {});

}  // namespace dlc::tools
