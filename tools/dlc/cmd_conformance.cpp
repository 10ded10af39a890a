// dlc conformance: run ONNX backend-test folders and report per test.
#include <fmt/format.h>

#include <fstream>
#include <set>

#include "support/error.h"
#include "tools/dlc/cli_args.h"
#include "tools/dlc/commands.h"
#include "tools/dlc/conformance.h"
#include "tools/dlc/targets.h"

namespace dlc::tools {

static constexpr const char* kHelp = R"(usage: dlc conformance PATH... [options]

Runs tests in the ONNX backend-test layout: PATH is a folder holding
model.onnx and test_data_set_N/{input,output}_K.pb, or a folder of such
folders. Prints pass / fail / unsupported per test and a summary. Exits 1
when a test fails or is unsupported (with --expect: when a listed one does).

options:
  --target T      where to run: ref (default), cpu or cuda
  --allow-tf32    cuda: cuBLAS may use TF32 tensor cores
  --precision P   cuda: fp32 (default), fp16 or bf16 matrix products
  --threads N     cpu: worker threads (default 0: every core)
  --cpu NAME      cpu: the LLVM CPU to compile for (default host)
  --rtol X        relative tolerance (default 1e-3)
  --atol X        absolute tolerance (default 1e-7)
  --filter S      run only tests whose name contains S
  --json          print one JSON object instead of text
  --expect FILE   exit 1 only if a test named in FILE (one per line, #
                  comments) does not pass: a regression check over a folder
                  where some tests are known to fail
  --quiet         print only failures and the summary
  --optimize      run the optimisation passes before each test
  --max-tensor-bytes B  refuse any tensor over B bytes (default 16 GiB)
  --roundtrip-export    also export each imported model to ONNX and import it
                  again: that model must pass too, with outputs identical to
                  the first import's
  --save-exported DIR   with --roundtrip-export: write each exported model
                  to DIR/<test>.onnx
)";

std::string jsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", int(c));
        else out += c;
    }
  }
  return out;
}

static std::set<std::string> readExpectList(const std::string& path) {
  std::ifstream f(path);
  if (!f) throwUserError("cannot read expectation list '{}'", path);
  std::set<std::string> names;
  std::string line;
  while (std::getline(f, line)) {
    if (size_t hash = line.find('#'); hash != std::string::npos) line = line.substr(0, hash);
    size_t a = line.find_first_not_of(" \t"), b = line.find_last_not_of(" \t\r");
    if (a != std::string::npos) names.insert(line.substr(a, b - a + 1));
  }
  return names;
}

int cmdConformance(const std::vector<std::string>& argv) {
  CliArgs args(argv, {"target", "rtol", "atol", "filter", "expect", "threads", "cpu", "max-tensor-bytes", "save-exported",
                      "precision"},
               {"json", "help", "quiet", "optimize", "allow-tf32", "roundtrip-export"});
  if (args.flag("help")) {
    fmt::print("{}", kHelp);
    return 0;
  }
  if (args.positional().empty()) throwUserError("no test folder given (see --help)");
  std::string target = args.value("target").value_or("ref");
  ir::Tolerance tol{args.number("rtol", 1e-3), args.number("atol", 1e-7)};
  std::string filter = args.value("filter").value_or("");
  bool json = args.flag("json"), quiet = args.flag("quiet");

  std::vector<std::string> dirs;
  for (const auto& p : args.positional())
    for (auto& d : findConformanceTests(p))
      if (filter.empty() || d.find(filter) != std::string::npos) dirs.push_back(d);

  RoundTripExport roundTrip{args.flag("roundtrip-export"), args.value("save-exported").value_or("")};
  if (!roundTrip.saveDir.empty() && !roundTrip.enabled) throwUserError("--save-exported needs --roundtrip-export");
  std::vector<ConformanceResult> results;
  size_t counts[3] = {0, 0, 0};
  for (const auto& d : dirs) {
    ConformanceResult r = runConformanceTest(d, target, tol, compileOptions(args), roundTrip);
    ++counts[int(r.status)];
    if (!json && (!quiet || r.status == TestStatus::Fail)) {
      std::string detail = r.detail.substr(0, 300);
      for (char& c : detail)
        if (c == '\n') c = ' ';
      fmt::print("{:<12} {}{}{}\n", testStatusName(r.status), r.name, detail.empty() ? "" : ": ", detail);
      std::fflush(stdout);
    }
    results.push_back(std::move(r));
  }

  std::vector<std::string> regressions;
  if (auto expectPath = args.value("expect")) {
    std::set<std::string> expected = readExpectList(*expectPath);
    std::set<std::string> ran;
    for (const auto& r : results) {
      ran.insert(r.name);
      if (expected.count(r.name) && r.status != TestStatus::Pass) regressions.push_back(r.name);
    }
    for (const auto& name : expected)
      if (!ran.count(name) && filter.empty()) regressions.push_back(name + " (not found)");
  }

  if (json) {
    std::string out = fmt::format("{{\"target\": \"{}\", \"passed\": {}, \"failed\": {}, \"unsupported\": {}, \"tests\": [",
                                  jsonEscape(target), counts[0], counts[1], counts[2]);
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      out += fmt::format("{}{{\"name\": \"{}\", \"status\": \"{}\", \"seconds\": {:.4f}, \"detail\": \"{}\"}}",
                         i ? ", " : "", jsonEscape(r.name), testStatusName(r.status), r.seconds, jsonEscape(r.detail));
    }
    out += fmt::format("], \"regressions\": [");
    for (size_t i = 0; i < regressions.size(); ++i) out += fmt::format("{}\"{}\"", i ? ", " : "", jsonEscape(regressions[i]));
    out += "]}\n";
    fmt::print("{}", out);
  } else {
    fmt::print("\n{} tests on target {}: {} passed, {} failed, {} unsupported\n", results.size(), target, counts[0],
               counts[1], counts[2]);
    if (!regressions.empty())
      fmt::print("{} expected passes regressed: {}\n", regressions.size(), fmt::join(regressions, ", "));
  }
  if (args.value("expect")) return regressions.empty() ? 0 : 1;
  return counts[1] == 0 && counts[2] == 0 && !results.empty() ? 0 : 1;
}

}  // namespace dlc::tools
