// dlc: the command-line tool of the dlc neural-network compiler.
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "support/error.h"
#include "tools/dlc/commands.h"

namespace {

constexpr const char* kUsage = R"(dlc: a neural-network compiler for ONNX models

usage: dlc <command> [options]

commands:
  inspect MODEL.onnx       inputs, outputs, op histogram, parameters, IR
  run MODEL.onnx           run a model on inputs from files or random data
  compile MODEL.onnx       compile ahead of time: object file, C header, runtime (.so, executable)
  bench MODEL.onnx         compile time and latency (median, p90) on a target
  conformance PATH...      run tests in the ONNX backend-test layout
  train MODEL.onnx         train a model on a CSV of numbers, write the trained model
  version                  dlc's version, its LLVM, the host CPU and its features

Run `dlc <command> --help` for a command's options.
Exit codes: 0 success, 1 user error (bad model, input or option), 2 internal error.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 1 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "inspect") return dlc::tools::cmdInspect(args);
    if (command == "run") return dlc::tools::cmdRun(args);
    if (command == "compile") return dlc::tools::cmdCompile(args);
    if (command == "bench") return dlc::tools::cmdBench(args);
    if (command == "conformance") return dlc::tools::cmdConformance(args);
    if (command == "train") return dlc::tools::cmdTrain(args);
    if (command == "version" || command == "--version") return dlc::tools::cmdVersion(args);
    fmt::print(stderr, "dlc: unknown command '{}'\n\n{}", command, kUsage);
    return 1;
  } catch (const dlc::InternalError& e) {
    fmt::print(stderr, "dlc {}: {}\nThis is a bug in dlc; please report it.\n", command, e.what());
    return 2;
  } catch (const dlc::UserError& e) {
    fmt::print(stderr, "dlc {}: error: {}\n", command, e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "dlc {}: error: out of memory\n", command);
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dlc {}: internal error: {}\n", command, e.what());
    return 2;
  }
}
