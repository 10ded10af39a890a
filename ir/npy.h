// Reading and writing tensors as NumPy .npy files (format versions 1-3,
// little-endian, C order).
#pragma once

#include <string>

#include "ir/tensor.h"

namespace dlc::ir {

// Throws UserError on a bad file, and before allocating when the header's
// shape needs more than maxBytes or more bytes than the file holds.
Tensor readNpy(const std::string& path, int64_t maxBytes = kDefaultMaxTensorBytes);
void writeNpy(const std::string& path, const Tensor& t);

}  // namespace dlc::ir
