// Two error channels (Halide's user_error vs internal_assert):
//  - dlc::UserError: the model, the input or the command line is wrong; the
//    message says what was expected and what was found. Tools exit with 1.
//  - dlc::InternalError: an invariant of dlc itself broke (DLC_CHECK). Tools
//    exit with 2.
#pragma once

#include <fmt/format.h>

#include <string>

#include "support/error_types.h"

namespace dlc {

template <typename... Args>
[[noreturn]] void throwUserError(fmt::format_string<Args...> f, Args&&... args) {
  throw UserError(fmt::format(f, std::forward<Args>(args)...));
}

[[noreturn]] void throwInternalError(const char* file, int line, const char* cond,
                                     const std::string& message);

}  // namespace dlc

// Internal invariant: a failure is a bug in dlc, never the user's fault.
#define DLC_CHECK(cond, ...)                                                       \
  do {                                                                             \
    if (!(cond)) ::dlc::throwInternalError(__FILE__, __LINE__, #cond,              \
                                           ::fmt::format("" __VA_ARGS__));         \
  } while (0)
