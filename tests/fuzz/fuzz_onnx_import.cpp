// libFuzzer target: arbitrary bytes as an ONNX model through the importer
// (protobuf parsing, tensor decoding, op import, shape inference, verifier)
// and then the IR printer and parser. A UserError (UnsupportedError
// included) is the expected answer to a bad model; anything else that
// escapes (InternalError, std::exception) or any sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/onnx/importer.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "support/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dlc::frontend::onnx::ImportOptions options;
  // Well under libFuzzer's default -malloc_limit_mb (2048): a model that
  // declares a huge weight must be refused by this limit, not by the fuzzer.
  options.maxTensorBytes = int64_t(64) << 20;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  std::string text;
  try {
    // No model folder: external data is refused without touching the disk.
    auto model = dlc::frontend::onnx::importOnnxBytes(bytes, "", options);
    dlc::ir::PrintOptions print;
    print.elideConstantsOver = 64;
    text = dlc::ir::printGraph(model.graph, print);
  } catch (const dlc::UserError&) {
    return 0;
  }
  try {
    dlc::ir::parseGraph(text);
  } catch (const dlc::UserError&) {
    // Elided constants do not parse back; that is documented, not a bug.
  }
  return 0;
}
