// Reading and writing tensors as NumPy .npy files (format versions 1-3,
// little-endian, C order).
#pragma once

#include <string>

#include "ir/tensor.h"

namespace dlc::ir {

Tensor readNpy(const std::string& path);  // throws UserError on a bad file
void writeNpy(const std::string& path, const Tensor& t);

}  // namespace dlc::ir
