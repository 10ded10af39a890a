// CI without a GPU: every CUDA kernel dlc generates for a set of models is
// compiled by NVRTC for each given arch. Usage:
//
//   cuda_compile_kernels [--arch sm_80 --arch sm_90] [--expect LIST] [--batch N] PATH...
//
// PATH is a folder in the ONNX backend-test layout (model.onnx +
// test_data_set_0/input_K.pb) or a folder of them; with --expect, only the
// tests named in LIST (one per line, # comments) are planned. Each model is
// specialised to its first test set's input shapes, optimised and planned
// exactly as `dlc run --target cuda` does (codegen/cuda/cuda_program.h);
// identical kernels (same code up to names) are compiled once; kernels go to
// NVRTC N at a time (default 400) with no disk cache, one thread per arch.
// Exit 0 when everything compiles, 1 with NVRTC's log otherwise.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <unordered_set>

#include "codegen/cuda/cuda_emitter.h"
#include "codegen/cuda/cuda_model.h"
#include "codegen/cuda/cuda_program.h"
#include "codegen/cuda/nvrtc_compiler.h"
#include "frontend/onnx/importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "support/error.h"

namespace fs = std::filesystem;
using namespace dlc;
namespace kir = dlc::codegen::kir;

namespace {

std::vector<fs::path> testFolders(const fs::path& p) {
  if (fs::exists(p / "model.onnx")) return {p};
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(p))
    if (e.is_directory() && fs::exists(e.path() / "model.onnx")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Input shapes from test_data_set_0 (by the name in each file, else by position).
std::map<std::string, std::vector<int64_t>> inputShapes(const fs::path& dir, const ir::Graph& g) {
  std::map<std::string, std::vector<int64_t>> shapes;
  fs::path set = dir / "test_data_set_0";
  for (size_t k = 0; k < g.inputs().size(); ++k) {
    fs::path file = set / fmt::format("input_{}.pb", k);
    if (!fs::exists(file)) break;
    std::string name;
    ir::Tensor t = frontend::onnx::readTensorProtoFile(file.string(), &name);
    bool known = std::any_of(g.inputs().begin(), g.inputs().end(), [&](const ir::Value* v) { return v->name() == name; });
    shapes[known ? name : g.inputs()[k]->name()] = t.shape();
  }
  return shapes;
}

std::string canonical(kir::Kernel k) {
  k.name = "k";
  for (size_t i = 0; i < k.buffers.size(); ++i) k.buffers[i].name = "";
  return kir::print(k);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> archs, paths;
  std::string expectFile;
  size_t batch = 400;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--arch" && i + 1 < argc) archs.push_back(argv[++i]);
    else if (a == "--expect" && i + 1 < argc) expectFile = argv[++i];
    else if (a == "--batch" && i + 1 < argc) batch = std::max<size_t>(1, std::stoul(argv[++i]));
    else paths.push_back(a);
  }
  if (archs.empty()) archs = {"sm_80", "sm_90"};
  if (paths.empty()) {
    fmt::print(stderr, "usage: cuda_compile_kernels [--arch sm_XX]... [--expect LIST] [--batch N] PATH...\n");
    return 1;
  }
  std::set<std::string> expected;
  if (!expectFile.empty()) {
    std::ifstream in(expectFile);
    if (!in) {
      fmt::print(stderr, "cannot read {}\n", expectFile);
      return 1;
    }
    for (std::string line; std::getline(in, line);) {
      line = line.substr(0, line.find('#'));
      line.erase(line.find_last_not_of(" \t\r") + 1);
      if (!line.empty()) expected.insert(line);
    }
  }

  auto start = std::chrono::steady_clock::now();
  std::vector<kir::Kernel> kernels;
  std::unordered_set<std::string> seen;
  int models = 0, interpreted = 0, total = 0, failures = 0;
  for (const std::string& p : paths)
    for (const fs::path& dir : testFolders(p)) {
      if (!expected.empty() && !expected.count(dir.filename().string())) continue;
      try {
        auto model = frontend::onnx::importOnnxFile((dir / "model.onnx").string());
        // Planned as CudaModel plans them (attention kernels included).
        ir::Graph g = codegen::cpu::specialiseGraph(model.graph, inputShapes(dir, model.graph),
                                                    {.fuseAttention = codegen::cuda::CudaOptions{}.fuseAttention});
        ++models;
        if (codegen::cpu::firstDynamicValue(g)) {
          ++interpreted;  // shapes depend on data: runs on the interpreter, no kernels
          continue;
        }
        codegen::cuda::CudaPlan plan = codegen::cuda::planCuda(g);
        for (kir::Kernel& k : plan.kernels) {
          ++total;
          if (!seen.insert(canonical(k)).second) continue;
          k.name = fmt::format("k{}", kernels.size());
          kernels.push_back(std::move(k));
        }
      } catch (const std::exception& e) {
        ++failures;
        fmt::print(stderr, "{}: planning failed: {}\n", dir.string(), e.what());
      }
    }
  double planSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{} models ({} on the interpreter): {} kernels, {} distinct, planned in {:.1f} s\n", models, interpreted,
             total, kernels.size(), planSeconds);

  // One thread per arch; each compiles the batches in turn.
  std::vector<std::future<std::string>> jobs;
  for (const std::string& arch : archs)
    jobs.push_back(std::async(std::launch::async, [&, arch] {
      std::string errors;
      double ms = 0;
      size_t bytes = 0;
      for (size_t b = 0; b < kernels.size(); b += batch) {
        std::span<const kir::Kernel> part(kernels.data() + b, std::min(batch, kernels.size() - b));
        std::string name = fmt::format("batch{}.cu", b / batch);
        try {
          codegen::cuda::CompiledImage img =
              codegen::cuda::compileCuda(codegen::cuda::emitProgram(part), name, {arch, false, ""});
          ms += img.compileMs;
          bytes += img.image.size();
        } catch (const std::exception& e) {
          errors += fmt::format("{} {}: {}\n", arch, name, e.what());
        }
      }
      return errors.empty() ? fmt::format("{}: {} kernels compiled to cubins ({} KiB) in {:.1f} s\n", arch,
                                          kernels.size(), bytes / 1024, ms / 1000)
                            : "FAILED " + errors;
    }));
  bool ok = failures == 0;
  for (auto& j : jobs) {
    std::string r = j.get();
    if (r.rfind("FAILED", 0) == 0) ok = false;
    fmt::print("{}", r);
  }
  fmt::print("{} in {:.1f} s\n", ok ? "ok" : "FAILED",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return ok ? 0 : 1;
}
