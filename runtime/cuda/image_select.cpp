#include "runtime/cuda/image_select.h"

namespace dlc::runtime::cuda {

bool parseImageArch(const std::string& arch, ImageArch& out) {
  std::string digits;
  if (arch.rfind("sm_", 0) == 0) {
    out.isPtx = false;
    digits = arch.substr(3);
  } else if (arch.rfind("compute_", 0) == 0) {
    out.isPtx = true;
    digits = arch.substr(8);
  } else {
    return false;
  }
  if (digits.size() < 2 || digits.size() > 3) return false;
  out.version = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    out.version = out.version * 10 + (c - '0');
  }
  return true;
}

int selectImage(const std::vector<std::string>& archs, int cc) {
  int best = -1, bestRank = 0;
  for (size_t i = 0; i < archs.size(); ++i) {
    ImageArch a;
    if (!parseImageArch(archs[i], a) || a.version > cc) continue;
    // Higher rank wins: an exact cubin, then a compatible cubin, then PTX;
    // within a kind the newest arch.
    int rank = 0;
    if (!a.isPtx && a.version == cc) rank = 3000;
    else if (!a.isPtx && a.version / 10 == cc / 10) rank = 2000 + a.version;
    else if (a.isPtx) rank = 1000 + a.version;
    if (rank > bestRank) {
      best = int(i);
      bestRank = rank;
    }
  }
  return best;
}

}  // namespace dlc::runtime::cuda
