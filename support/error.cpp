#include "support/error.h"

namespace dlc {

void throwInternalError(const char* file, int line, const char* cond, const std::string& message) {
  throw InternalError(fmt::format("internal error at {}:{}: check '{}' failed{}{}", file, line,
                                  cond, message.empty() ? "" : ": ", message));
}

}  // namespace dlc
