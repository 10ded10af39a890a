// The error classes of support/error.h without fmt: the runtime library
// (libdlcrt, linked into AOT bundles) throws these and must not depend on fmt.
#pragma once

#include <stdexcept>

namespace dlc {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UserError : public Error {
 public:
  using Error::Error;
};

class InternalError : public Error {
 public:
  using Error::Error;
};

// The input is valid but uses something dlc does not implement (an op, a
// dtype, an attribute value). Conformance reports these as "unsupported".
class UnsupportedError : public UserError {
 public:
  using UserError::UserError;
};

}  // namespace dlc
