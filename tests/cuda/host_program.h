// Tests only: the part of host emulation shared by HostEmulation
// (host_emulation.h, kernels known as kir::Kernel) and the fake CUDA
// device's emulation builder (fake_cuda/emulation_builder.h, kernels found in
// a program's text): a generated CUDA program becomes plain C++ with the shim
// (host_shim.h) first and one host entry per kernel,
//
//   extern "C" void host_NAME(void* const* b, unsigned grid, unsigned block)
//
// which casts buffer i to the kernel's parameter type and runs the grid
// (dlc_emu::runGrid); the whole is compiled into a shared library.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace dlc::testing {

// A kernel as the host entry sees it: its name and the C++ type of each
// pointer parameter ("const f32*", "u16*", ...).
struct HostKernel {
  std::string name;
  std::vector<std::string> paramTypes;
};

// The host entry of one kernel (above).
inline std::string hostEntry(const HostKernel& k) {
  std::string s = "extern \"C\" void host_" + k.name + "(void* const* b, unsigned grid, unsigned block) {\n";
  s += "  gridDim.x = grid; blockDim.x = block;\n  auto call = [&] { " + k.name + "(";
  for (size_t i = 0; i < k.paramTypes.size(); ++i)
    s += (i ? ", (" : "(") + k.paramTypes[i] + ")b[" + std::to_string(i) + "]";
  s += "); };\n  dlc_emu::runGrid(call);\n}\n";
  return s;
}

// The shim include, then `program` (prelude + kernels), then `extra` (host
// entries and anything else the caller adds).
inline std::string hostProgram(const std::string& program, const std::string& extra) {
  return "#include \"host_shim.h\"\n" + program + "\n" + extra;
}

// Writes `source` to dir/program.cpp and compiles it with `compiler` (the
// shim in `shimDir`) into `output`. Returns "" on success, else the
// compiler's messages.
inline std::string compileHostProgram(const std::string& source, const std::filesystem::path& dir,
                                      const std::filesystem::path& output, const std::string& compiler,
                                      const std::string& shimDir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "program.cpp") << source;
  // -O1: the programs are compiled once per test run and the kernels run
  // on small data, so compile time dominates; -ffp-contract=off as NVRTC's
  // --fmad=false.
  std::string cmd = compiler + " -std=c++17 -O1 -ffp-contract=off -fPIC -shared -w -I" + shimDir + " -o " +
                    output.string() + " " + (dir / "program.cpp").string() + " 2> " + (dir / "log.txt").string();
  if (std::system(cmd.c_str()) == 0) return "";
  std::ifstream log(dir / "log.txt");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  return text.empty() ? "the host compiler failed: " + cmd : text;
}

}  // namespace dlc::testing
