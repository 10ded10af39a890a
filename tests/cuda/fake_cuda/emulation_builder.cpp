#include "tests/cuda/fake_cuda/emulation_builder.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>

#include "tests/cuda/host_program.h"

namespace dlc::testing::fake_cuda {

namespace {

constexpr std::string_view kSignaturePrefix = "extern \"C\" __global__ void __launch_bounds__(";

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t end = text.find('\n');
    out.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return out;
}

// "extern "C" __global__ void __launch_bounds__(256) k3(const f32* b0, f32* b1) {"
KernelSignature parseSignature(std::string_view line) {
  static const std::regex re(R"(^extern "C" __global__ void __launch_bounds__\((\d+)\) (\w+)\((.*)\) \{$)");
  std::cmatch m;
  if (!std::regex_match(line.begin(), line.end(), m, re))
    throw std::runtime_error("fake CUDA emulation: unreadable kernel signature: " + std::string(line));
  KernelSignature k;
  k.launchBounds = unsigned(std::stoul(m[1].str()));
  k.name = m[2].str();
  std::string params = m[3].str();
  size_t index = 0;
  for (size_t start = 0; start < params.size();) {
    size_t comma = params.find(", ", start);
    std::string p = params.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? params.size() : comma + 2;
    // "const f32* b0": every parameter is a pointer named b<index>.
    std::string name = " b" + std::to_string(index++);
    if (p.size() <= name.size() || p.compare(p.size() - name.size(), name.size(), name) != 0 ||
        p[p.size() - name.size() - 1] != '*')
      throw std::runtime_error("fake CUDA emulation: kernel " + k.name + ": parameter '" + p +
                               "' is not a pointer named" + name);
    std::string type = p.substr(0, p.size() - name.size());
    k.params.push_back({type, -1, type.compare(0, 6, "const ") != 0});
  }
  return k;
}

}  // namespace

std::string_view programOf(std::string_view text) {
  constexpr std::string_view marker = "// ---- CUDA C++";
  size_t at = text.rfind(marker);
  if (at == std::string_view::npos || (at > 0 && text[at - 1] != '\n')) return text;
  size_t eol = text.find('\n', at);
  return eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
}

std::vector<KernelSignature> findKernels(std::string_view program) {
  // The emitter's comment before each kernel: "//   b3: name f32[24] (written)".
  static const std::regex comment(R"(^//   b(\d+): .* \w+\[(\d+)\]( \(written\))?$)");
  std::vector<KernelSignature> out;
  std::vector<int64_t> sizes;  // from the comment lines since the last kernel
  for (std::string_view line : lines(program)) {
    std::cmatch m;
    if (line.substr(0, kSignaturePrefix.size()) == kSignaturePrefix) {
      KernelSignature k = parseSignature(line);
      if (sizes.size() == k.params.size())
        for (size_t i = 0; i < sizes.size(); ++i) k.params[i].elements = sizes[i];
      out.push_back(std::move(k));
      sizes.clear();
    } else if (std::regex_match(line.begin(), line.end(), m, comment)) {
      size_t i = std::stoul(m[1].str());
      if (i == 0) sizes.clear();
      if (i == sizes.size()) sizes.push_back(std::stoll(m[2].str()));
    }
  }
  return out;
}

std::string emulationSource(std::string_view program) {
  std::vector<KernelSignature> kernels = findKernels(program);
  std::string extra = "// ---- host entries and tables for the fake CUDA driver (emulation_abi.h)\n";
  std::string names;
  for (const KernelSignature& k : kernels) {
    HostKernel hk{k.name, {}};
    std::string bytes, align, written;
    for (const KernelParam& p : k.params) {
      hk.paramTypes.push_back(p.type);
      std::string pointee = p.type.substr(0, p.type.size() - 1);  // "const f32"
      bytes += (bytes.empty() ? "" : ", ") +
               (p.elements < 0 ? std::string("1") : std::to_string(p.elements) + "ull * sizeof(" + pointee + ")");
      align += (align.empty() ? "" : ", ") + std::string("alignof(") + pointee + ")";
      written += (written.empty() ? "" : ", ") + std::string(p.written ? "1" : "0");
    }
    extra += hostEntry(hk);
    std::string prefix = "extern \"C\" const ";
    extra += prefix + "unsigned host_" + k.name + "_num_params = " + std::to_string(k.params.size()) + ";\n";
    extra += prefix + "unsigned long long host_" + k.name + "_param_bytes[] = {" + (bytes.empty() ? "0" : bytes) +
             "};\n";
    extra += prefix + "unsigned long long host_" + k.name + "_param_align[] = {" + (align.empty() ? "1" : align) +
             "};\n";
    extra += prefix + "unsigned char host_" + k.name + "_param_written[] = {" + (written.empty() ? "0" : written) +
             "};\n";
    extra += prefix + "unsigned host_" + k.name + "_launch_bounds = " + std::to_string(k.launchBounds) + ";\n";
    names += "\"" + k.name + "\", ";
  }
  extra += "extern \"C\" const char* const dlc_fake_cuda_kernels[] = {" + names + "nullptr};\n";
  return hostProgram(std::string(program), extra);
}

std::filesystem::path buildEmulation(std::string_view text, const std::filesystem::path& cacheDir) {
  std::string_view program = programOf(text);
  if (findKernels(program).empty())
    throw std::runtime_error("fake CUDA emulation: the program has no kernel (no line starting with " +
                             std::string(kSignaturePrefix) + ")");
  std::string source = emulationSource(program);
  char hash[17];
  // Keyed by everything the library is made of: the compiler, the shim and the source.
  std::ifstream shimFile(std::string(DLC_CUDA_SHIM_DIR) + "/host_shim.h");
  std::string shim((std::istreambuf_iterator<char>(shimFile)), {});
  std::snprintf(hash, sizeof hash, "%016llx",
                (unsigned long long)fnv1a(std::string(DLC_HOST_CXX) + "\n" + shim + "\n" + source));
  std::filesystem::path dir = cacheDir / hash, so = dir / "emulation.so";
  if (std::filesystem::exists(so)) return so;
  // Built in a folder of this process's own, then renamed into place: two
  // test processes building the same program never see half a library.
  std::filesystem::path work = dir / ("build." + std::to_string(::getpid()));
  std::string log = compileHostProgram(source, work, work / "emulation.so", DLC_HOST_CXX, DLC_CUDA_SHIM_DIR);
  if (!log.empty())
    throw std::runtime_error("fake CUDA emulation: host compile failed (source in " + work.string() + "):\n" +
                             log.substr(0, 4000));
  std::filesystem::rename(work / "emulation.so", so);
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  return so;
}

}  // namespace dlc::testing::fake_cuda
