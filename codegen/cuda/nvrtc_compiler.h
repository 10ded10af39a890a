// CUDA C++ -> a GPU image with NVRTC (linked: CUDA::nvrtc; needs no GPU).
// A whole program (every kernel of a model) is one NVRTC compilation, to
// amortise its per-call cost. The image is a cubin for the requested arch
// (sm_80, sm_90, ...), or PTX (compute_XX) when asked, or when the arch is
// newer than this NVRTC knows (the driver then JIT-compiles the PTX for it).
//
// Options: --gpu-architecture, -default-device, --std=c++17, --fmad=false
// (the CPU backend does not contract a*b+c into an FMA either, so results
// agree), precise division and square root (NVRTC's defaults).
//
// Disk cache: one file per (source, arch, image kind, NVRTC version,
// options), named by a hash of them all, holding a small header (magic, the
// payload's length and hash) and the image. Written atomically (a temporary
// file renamed into place); an entry that fails its header check is
// recompiled and replaced. Safe to share between processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dlc::codegen::cuda {

struct NvrtcOptions {
  std::string arch = "sm_90";  // sm_XX
  bool ptx = false;            // PTX (compute_XX) instead of a cubin
  // The cache folder; empty: no disk cache. defaultCacheDir() gives the
  // usual one.
  std::string cacheDir;
};

struct CompiledImage {
  std::string arch;      // what the image is for: "sm_90" or "compute_90"
  bool isPtx = false;
  std::string image;     // cubin bytes, or PTX text
  std::string log;       // NVRTC's log (warnings)
  bool fromCache = false;
  double compileMs = 0;
};

// "13.0" (of the NVRTC linked in).
std::string nvrtcVersion();
// The SM versions this NVRTC can make cubins for, e.g. {75, 80, 86, 89, 90, ...}.
std::vector<int> nvrtcSupportedArchs();
// $XDG_CACHE_HOME/dlc/cuda, else $HOME/.cache/dlc/cuda; empty if neither is set.
std::string defaultCacheDir();

// Compiles `source` (named `name` in messages). A compile error is an
// InternalError (generated code must compile) carrying NVRTC's log and the
// source lines it names; a bad arch name is a UserError.
CompiledImage compileCuda(const std::string& source, const std::string& name, const NvrtcOptions& options);

}  // namespace dlc::codegen::cuda
