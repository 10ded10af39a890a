// Which of a CUDA bundle's GPU images a device loads. Plain data (no CUDA):
// unit-tested without a GPU.
#pragma once

#include <string>
#include <vector>

namespace dlc::runtime::cuda {

// "sm_90" (a cubin) or "compute_80" (PTX); anything else is not an image arch.
struct ImageArch {
  bool isPtx = false;
  int version = 0;  // 90 for sm_90
};
bool parseImageArch(const std::string& arch, ImageArch& out);

// The index in `archs` of the image for a device of compute capability
// `cc` (90 for 9.0), or -1 when none can run there. Preference: the cubin
// for exactly that arch; else a cubin of the same major version and a lower
// minor (binary compatible, newest first); else PTX for an arch at most
// `cc` (the driver JIT-compiles it; newest first).
int selectImage(const std::vector<std::string>& archs, int cc);

}  // namespace dlc::runtime::cuda
