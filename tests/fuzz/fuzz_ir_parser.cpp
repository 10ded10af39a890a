// libFuzzer target: arbitrary text through the IR parser, then type
// inference and the verifier, then the printer. A UserError is the expected
// answer to bad text; anything else that escapes, or any sanitizer report,
// is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ir/infer.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "support/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    dlc::ir::Graph g = dlc::ir::parseGraph(text);
    dlc::ir::verifyOrThrow(g);
    dlc::ir::inferTypes(g);
    dlc::ir::printGraph(g);
  } catch (const dlc::UserError&) {
  }
  return 0;
}
