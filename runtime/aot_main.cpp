// dlcrt_main: the main() of `dlc compile --emit exe` (see dlc_runtime.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "dlc_runtime.h"

namespace {

const char* kUsage =
    "usage: %s [--threads N] [--device N] [--weights FILE] [-o DIR] [--pb] [--bench N] INPUT...\n"
    "  INPUT      one .npy or ONNX TensorProto .pb file per model input, in order\n"
    "  -o DIR     write each output to DIR/<output name>.npy (default: .)\n"
    "  --pb       write DIR/output_<i>.pb instead (ONNX backend-test layout)\n"
    "  --weights  the bundle's .weights file (default: embedded, else <program>.weights)\n"
    "  --threads  worker threads of a CPU bundle (default 0: every core)\n"
    "  --device   the CUDA device of a CUDA bundle (default 0)\n"
    "  --bench N  run N more times and print the median latency\n";

struct Aligned {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<void, Aligned>;

Buffer allocate(int64_t bytes) {
  Buffer b(std::aligned_alloc(64, size_t(std::max<int64_t>(64, (bytes + 63) / 64 * 64))));
  if (!b) std::fprintf(stderr, "out of memory\n"), std::exit(2);
  std::memset(b.get(), 0, size_t(bytes));
  return b;
}

int error(const char* what) {
  std::fprintf(stderr, "error: %s%s%s\n", what, *dlcrt_last_error() ? ": " : "", dlcrt_last_error());
  return 1;
}

std::string fileName(std::string name) {
  for (char& c : name)
    if (c == '/' || c == '\\') c = '_';
  return name;
}

}  // namespace

extern "C" int dlcrt_main(const dlcrt_bundle* bundle, int argc, char** argv) {
  int threads = 0, device = 0, bench = 0;
  bool pb = false;
  std::string outDir = ".", weights;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) std::fprintf(stderr, "error: %s needs a value\n", a.c_str()), std::exit(1);
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::printf(kUsage, argv[0]);
      return 0;
    } else if (a == "--threads") {
      threads = std::atoi(value().c_str());
    } else if (a == "--device") {
      device = std::atoi(value().c_str());
    } else if (a == "--bench") {
      bench = std::atoi(value().c_str());
    } else if (a == "--weights") {
      weights = value();
    } else if (a == "-o") {
      outDir = value();
    } else if (a == "--pb") {
      pb = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "error: unknown option %s\n", a.c_str());
      std::fprintf(stderr, kUsage, argv[0]);
      return 1;
    } else {
      inputs.push_back(a);
    }
  }
  if (weights.empty() && !bundle->weights) weights = std::string(argv[0]) + ".weights";
  dlcrt_model* raw = nullptr;
  const char* weightsPath = weights.empty() ? nullptr : weights.c_str();
  dlcrt_status created = bundle->device == DLCRT_DEVICE_CUDA
                             ? dlcrt_model_create_cuda(bundle, weightsPath, device, &raw)
                             : dlcrt_model_create(bundle, weightsPath, threads, &raw);
  if (created != DLCRT_OK) return error("cannot load the model");
  std::unique_ptr<dlcrt_model, void (*)(dlcrt_model*)> model(raw, dlcrt_model_destroy);
  size_t numIn = dlcrt_model_num_inputs(raw), numOut = dlcrt_model_num_outputs(raw);
  if (inputs.size() != numIn) {
    std::fprintf(stderr, "error: the model has %zu inputs, %zu files given:\n", numIn, inputs.size());
    for (size_t i = 0; i < numIn; ++i) {
      dlcrt_tensor_info info;
      dlcrt_model_input(raw, i, &info);
      std::fprintf(stderr, "  %s\n", info.name);
    }
    return 1;
  }
  std::vector<Buffer> inBuffers, outBuffers;
  std::vector<const void*> in;
  std::vector<void*> out;
  std::vector<dlcrt_tensor_info> outInfo(numOut);
  for (size_t i = 0; i < numIn; ++i) {
    dlcrt_tensor_info info;
    dlcrt_model_input(raw, i, &info);
    inBuffers.push_back(allocate(info.num_bytes));
    if (dlcrt_read_tensor(inputs[i].c_str(), &info, inBuffers.back().get()) != DLCRT_OK)
      return error("cannot read an input");
    in.push_back(inBuffers.back().get());
  }
  for (size_t i = 0; i < numOut; ++i) {
    dlcrt_model_output(raw, i, &outInfo[i]);
    outBuffers.push_back(allocate(outInfo[i].num_bytes));
    out.push_back(outBuffers.back().get());
  }
  if (dlcrt_model_run(raw, in.data(), numIn, out.data(), numOut) != DLCRT_OK) return error("the run failed");
  if (bench > 0) {
    std::vector<double> ms;
    for (int r = 0; r < bench; ++r) {
      auto start = std::chrono::steady_clock::now();
      if (dlcrt_model_run(raw, in.data(), numIn, out.data(), numOut) != DLCRT_OK) return error("the run failed");
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%s: median %.3f ms, min %.3f ms over %d runs\n", bundle->name, ms[ms.size() / 2], ms[0], bench);
  }
  mkdir(outDir.c_str(), 0777);
  for (size_t i = 0; i < numOut; ++i) {
    std::string path = outDir + "/" + (pb ? "output_" + std::to_string(i) + ".pb" : fileName(outInfo[i].name) + ".npy");
    if (dlcrt_write_tensor(path.c_str(), &outInfo[i], out[i]) != DLCRT_OK) return error("cannot write an output");
  }
  return 0;
}
