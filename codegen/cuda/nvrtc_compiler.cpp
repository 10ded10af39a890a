#include "codegen/cuda/nvrtc_compiler.h"

#include <fmt/format.h>
#include <nvrtc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "support/error.h"

namespace dlc::codegen::cuda {

namespace {

void check(nvrtcResult r, const char* call) {
  if (r != NVRTC_SUCCESS) throw InternalError(fmt::format("{} failed: {}", call, nvrtcGetErrorString(r)));
}

// FNV-1a, 64 bits, with a seed: two seeds give a 128-bit cache key.
uint64_t fnv1a(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// "sm_90" -> 90; a UserError for anything else.
int parseArch(const std::string& arch) {
  int v = 0;
  if (arch.size() < 5 || arch.compare(0, 3, "sm_") != 0 ||
      !std::all_of(arch.begin() + 3, arch.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (v = std::atoi(arch.c_str() + 3)) < 50)
    throwUserError("unknown CUDA architecture '{}' (expected sm_XX, e.g. sm_80 or sm_90)", arch);
  return v;
}

// The source lines an NVRTC log names ("name(LINE): error ..."), each once.
std::string quoteLines(const std::string& log, const std::string& source, const std::string& name) {
  std::vector<std::string> lines;
  std::istringstream in(source);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  std::vector<long> seen;
  for (size_t p = log.find(name + "("); p != std::string::npos; p = log.find(name + "(", p + 1)) {
    long n = std::strtol(log.c_str() + p + name.size() + 1, nullptr, 10);
    if (n < 1 || size_t(n) > lines.size() || std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
    seen.push_back(n);
    out += fmt::format("  {:>5} | {}\n", n, lines[size_t(n - 1)]);
  }
  return out;
}

constexpr char kMagic[8] = {'d', 'l', 'c', 'c', 'u', 'b', '1', '\n'};

struct CacheHeader {
  char magic[8];
  uint64_t size;
  uint64_t hash;
};

std::optional<std::string> readCache(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  CacheHeader h{};
  if (!in.read(reinterpret_cast<char*>(&h), sizeof h) || std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 ||
      h.size > (uint64_t(1) << 31))
    return std::nullopt;
  std::string data(h.size, '\0');
  if (!in.read(data.data(), std::streamsize(h.size)) || in.peek() != EOF || fnv1a(data, 0) != h.hash)
    return std::nullopt;
  return data;
}

// Best effort: a cache that cannot be written only costs a recompile.
void writeCache(const std::filesystem::path& file, const std::string& data) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  std::filesystem::path tmp = file;
  tmp += fmt::format(".tmp.{}.{}", ::getpid(), std::random_device{}());
  {
    std::ofstream out(tmp, std::ios::binary);
    CacheHeader h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.size = data.size();
    h.hash = fnv1a(data, 0);
    out.write(reinterpret_cast<const char*>(&h), sizeof h);
    out.write(data.data(), std::streamsize(data.size()));
    if (!out) {
      out.close();
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) std::filesystem::remove(tmp, ec);
}

}  // namespace

std::string nvrtcVersion() {
  int major = 0, minor = 0;
  check(::nvrtcVersion(&major, &minor), "nvrtcVersion");
  return fmt::format("{}.{}", major, minor);
}

std::vector<int> nvrtcSupportedArchs() {
  int n = 0;
  check(nvrtcGetNumSupportedArchs(&n), "nvrtcGetNumSupportedArchs");
  std::vector<int> archs(size_t(std::max(n, 0)));
  if (n > 0) check(nvrtcGetSupportedArchs(archs.data()), "nvrtcGetSupportedArchs");
  return archs;
}

std::string defaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/dlc/cuda";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/dlc/cuda";
  return "";
}

CompiledImage compileCuda(const std::string& source, const std::string& name, const NvrtcOptions& options) {
  auto start = std::chrono::steady_clock::now();
  int sm = parseArch(options.arch);
  std::vector<int> known = nvrtcSupportedArchs();
  int newest = known.empty() ? sm : known.back();
  CompiledImage out;
  // An arch newer than this NVRTC knows gets PTX for the newest one it knows.
  out.isPtx = options.ptx || sm > newest;
  int target = std::min(sm, newest);
  out.arch = fmt::format("{}_{}", out.isPtx ? "compute" : "sm", target);
  std::vector<std::string> flags = {"--gpu-architecture=" + out.arch, "-default-device", "--std=c++17",
                                    "--fmad=false"};

  std::filesystem::path cacheFile;
  if (!options.cacheDir.empty()) {
    std::string key = fmt::format("{}\n{}\n{}\n{}", nvrtcVersion(), fmt::join(flags, " "), name, source);
    cacheFile = std::filesystem::path(options.cacheDir) /
                fmt::format("{:016x}{:016x}.{}", fnv1a(key, 0), fnv1a(key, 0x9e3779b97f4a7c15ull),
                            out.isPtx ? "ptx" : "cubin");
    if (std::optional<std::string> cached = readCache(cacheFile)) {
      out.image = std::move(*cached);
      out.fromCache = true;
      out.compileMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      return out;
    }
  }

  nvrtcProgram prog = nullptr;
  check(nvrtcCreateProgram(&prog, source.c_str(), name.c_str(), 0, nullptr, nullptr), "nvrtcCreateProgram");
  struct Destroy {
    nvrtcProgram* p;
    ~Destroy() { nvrtcDestroyProgram(p); }
  } destroy{&prog};
  std::vector<const char*> argv;
  for (const std::string& f : flags) argv.push_back(f.c_str());
  nvrtcResult r = nvrtcCompileProgram(prog, int(argv.size()), argv.data());
  size_t logSize = 0;
  check(nvrtcGetProgramLogSize(prog, &logSize), "nvrtcGetProgramLogSize");
  out.log.assign(logSize, '\0');
  if (logSize) check(nvrtcGetProgramLog(prog, out.log.data()), "nvrtcGetProgramLog");
  while (!out.log.empty() && (out.log.back() == '\0' || out.log.back() == '\n')) out.log.pop_back();
  if (r != NVRTC_SUCCESS)
    throw InternalError(fmt::format("NVRTC {} could not compile {} for {} ({}):\n{}\n{}", nvrtcVersion(), name,
                                    out.arch, nvrtcGetErrorString(r), out.log, quoteLines(out.log, source, name)));
  size_t size = 0;
  if (out.isPtx) {
    check(nvrtcGetPTXSize(prog, &size), "nvrtcGetPTXSize");
    out.image.assign(size, '\0');
    check(nvrtcGetPTX(prog, out.image.data()), "nvrtcGetPTX");
  } else {
    check(nvrtcGetCUBINSize(prog, &size), "nvrtcGetCUBINSize");
    out.image.assign(size, '\0');
    check(nvrtcGetCUBIN(prog, out.image.data()), "nvrtcGetCUBIN");
  }
  if (!cacheFile.empty()) writeCache(cacheFile, out.image);
  out.compileMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace dlc::codegen::cuda
