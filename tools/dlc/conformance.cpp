#include "tools/dlc/conformance.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "support/error.h"
#include "tools/dlc/targets.h"

namespace dlc::tools {

namespace fs = std::filesystem;

const char* testStatusName(TestStatus s) {
  switch (s) {
    case TestStatus::Pass: return "pass";
    case TestStatus::Fail: return "fail";
    case TestStatus::Unsupported: return "unsupported";
  }
  return "?";
}

std::vector<std::string> findConformanceTests(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throwUserError("'{}' is not a folder", path);
  if (fs::exists(fs::path(path) / "model.onnx")) return {path};
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.is_directory() && fs::exists(e.path() / "model.onnx")) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  if (out.empty()) throwUserError("'{}' holds no test folders (folders with a model.onnx)", path);
  return out;
}

// Older ONNX test data (e.g. onnx 1.12's) stores bfloat16 tensors as
// uint16 bit patterns; read those as the bfloat16 they hold.
static ir::Tensor asDeclaredBf16(ir::Tensor t, ir::DType declared) {
  if (declared != ir::DType::BF16 || t.dtype() != ir::DType::U16) return t;
  ir::Tensor bf(ir::DType::BF16, t.shape());
  std::memcpy(bf.rawData(), t.rawData(), t.byteSize());
  return bf;
}

// input_0.pb, input_1.pb, ... in numeric order.
static std::vector<fs::path> numberedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (size_t k = 0;; ++k) {
    fs::path p = dir / fmt::format("{}_{}.pb", prefix, k);
    if (!fs::exists(p)) break;
    out.push_back(p);
  }
  return out;
}

ConformanceResult runConformanceTest(const std::string& dir, const std::string& target, ir::Tolerance tol,
                                     const CompileOptions& options, const RoundTripExport& roundTrip) {
  auto start = std::chrono::steady_clock::now();
  fs::path folder = fs::path(dir).lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();  // "dir/" names dir
  ConformanceResult result{folder.filename().string(), TestStatus::Pass, "", 0};
  try {
    frontend::onnx::ImportOptions importOptions;
    importOptions.maxTensorBytes = options.maxTensorBytes;
    auto model = frontend::onnx::importOnnxFile((fs::path(dir) / "model.onnx").string(), importOptions);
    // Files are matched to the graph inputs by the name stored in the file,
    // falling back to position.
    std::vector<std::pair<std::string, ir::DType>> graphInputs;
    for (const auto* v : model.graph.inputs()) graphInputs.emplace_back(v->name(), v->dtype());
    // Round trip: `firstImport` runs the graph as imported, `program` the
    // graph read back from its export.
    std::unique_ptr<Executable> firstImport;
    if (roundTrip.enabled) {
      std::string bytes;
      try {
        bytes = frontend::onnx::exportOnnxBytes(model.graph);
      } catch (const UserError& e) {
        throwUserError("export: {}", e.what());
      }
      if (!roundTrip.saveDir.empty()) {
        std::ofstream f(fs::path(roundTrip.saveDir) / (result.name + ".onnx"), std::ios::binary);
        if (!f.write(bytes.data(), std::streamsize(bytes.size())))
          throwUserError("cannot write {}.onnx in '{}'", result.name, roundTrip.saveDir);
      }
      ir::Graph again;
      try {
        again = frontend::onnx::importOnnxBytes(bytes, dir, importOptions).graph;
      } catch (const std::exception& e) {  // an unsupported op is a failure here too
        throwUserError("importing the exported model: {}", e.what());
      }
      firstImport = compileForTarget(std::move(model.graph), target, options);
      model.graph = std::move(again);
    }
    auto program = compileForTarget(std::move(model.graph), target, options);
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) throwUserError("no test_data_set_N folders");
    for (const auto& set : sets) {
      ir::NamedTensors inputs;
      auto inputFiles = numberedFiles(set, "input");
      for (size_t k = 0; k < inputFiles.size(); ++k) {
        std::string name;
        ir::Tensor t = frontend::onnx::readTensorProtoFile(inputFiles[k].string(), &name);
        auto known = std::find_if(graphInputs.begin(), graphInputs.end(), [&](const auto& in) { return in.first == name; });
        if (known == graphInputs.end()) {
          if (k >= graphInputs.size()) throwUserError("{} has more inputs than the model", set.filename().string());
          known = graphInputs.begin() + long(k);
          name = known->first;
        }
        inputs[name] = asDeclaredBf16(std::move(t), known->second);
      }
      auto outputs = program->run(inputs);
      if (firstImport) {
        auto first = firstImport->run(inputs);
        for (size_t k = 0; k < outputs.size() && k < first.size(); ++k)
          if (auto diff = ir::compareTensors(outputs[k], first[k], ir::Tolerance{0, 0}))
            throwUserError("{} output {}: the exported model differs from the imported one: {}",
                           set.filename().string(), k, *diff);
      }
      auto expectedFiles = numberedFiles(set, "output");
      if (expectedFiles.size() != outputs.size())
        throwUserError("model has {} outputs but {} holds {}", outputs.size(), set.filename().string(),
                       expectedFiles.size());
      for (size_t k = 0; k < outputs.size(); ++k) {
        ir::Tensor expected = asDeclaredBf16(frontend::onnx::readTensorProtoFile(expectedFiles[k].string()),
                                             outputs[k].dtype());
        if (auto diff = ir::compareTensors(outputs[k], expected, tol)) {
          result.status = TestStatus::Fail;
          result.detail = fmt::format("{} output {}: {}", set.filename().string(), k, *diff);
          break;
        }
      }
      if (result.status != TestStatus::Pass) break;
    }
  } catch (const UnsupportedError& e) {
    result.status = TestStatus::Unsupported;
    result.detail = e.what();
  } catch (const std::exception& e) {
    result.status = TestStatus::Fail;
    result.detail = e.what();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace dlc::tools
