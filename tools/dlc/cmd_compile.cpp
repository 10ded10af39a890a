// dlc compile: ahead-of-time compilation of a model into a self-contained
// folder (object file, weights, C header, libdlcrt) and optionally a shared
// library or an executable linked with the system compiler.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "codegen/cpu/aot.h"
#if DLC_HAVE_CUDA
#include "codegen/cuda/cuda_aot.h"
#include "codegen/cuda/nvrtc_compiler.h"
#endif
#include "frontend/onnx/importer.h"
#include "support/error.h"
#include "tools/dlc/cli_args.h"
#include "tools/dlc/commands.h"
#include "tools/dlc/model_io.h"

namespace dlc::tools {

namespace fs = std::filesystem;

static constexpr const char* kHelp = R"(usage: dlc compile MODEL.onnx [--target cpu|cuda] -o DIR [options]

Compiles the model ahead of time into DIR, a self-contained bundle for C,
C++ or any language with a C FFI (see the README's "Ahead-of-time
compilation"): NAME.o (the kernels, the program and, with --embed-weights,
the weights), NAME.weights (unless embedded), NAME.h (typed entry points
NAME_create / NAME_run / NAME_destroy, and each input's and output's shape
and dtype), libdlcrt.a and dlc_runtime.h (the runtime: no LLVM, protobuf or
ONNX). Every shape must be static: pin symbolic dims with --shape.

With --target cuda, NAME.o holds the kernels as GPU images compiled by
NVRTC (a cubin per --arch, plus PTX for the oldest, which newer GPUs
compile at load time) and DIR/NAME.cu their CUDA C++ source; at run time
the program needs only the CUDA driver and cuBLAS (loaded with dlopen), and
NAME_create takes a device ordinal. No GPU is needed to compile.

options:
  -o DIR, --output DIR  the output folder (created)
  --target T            cpu (default) or cuda
  --emit KIND           obj (default): the object file and the rest above;
                        shared: also DIR/libNAME.so (linked with c++);
                        exe: also DIR/NAME, a program that reads inputs from
                        .npy/.pb files and writes .npy outputs (--help there)
  --name NAME           symbol prefix and file name (a C identifier; default:
                        the model file's name); bundles with different names
                        link into one program
  --embed-weights       put the weights into the object file
  --cpu NAME            compile for this LLVM CPU (default host; e.g.
                        x86-64-v3 for AVX2, x86-64-v4 for AVX-512)
  --arch LIST           cuda: the GPU archs to compile cubins for (default
                        sm_80,sm_90; comma-separated or repeated)
  --attention-fusion on|off  one kernel per attention (MatMul, scale/mask,
                        Softmax, MatMul); default on for cuda, off for cpu
  --blocked-layout on|off  cpu: 2-D convolutions and what follows them on
                      channel-blocked (NCHWc) tensors with direct-convolution
                      micro-kernels (default on)
  --precision P         cuda: fp32 (default), fp16 or bf16 matrix products
                        (MatMul, Gemm) on tensor cores, the rest in f32
  --shape NAME=DIMS     pin input NAME's shape (e.g. input=1x3x224x224), or a
                        symbolic dim: --shape N=1 (repeatable)
  --max-tensor-bytes B  refuse any weight over B bytes (default 16 GiB)
)";

namespace {

void writeFile(const fs::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), std::streamsize(size));
  if (!out) throwUserError("cannot write {}", path.string());
}

fs::path selfDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

// libdlcrt.a and dlc_runtime.h: next to the dlc executable (the build
// folder), or in the library and include folders of its install prefix.
fs::path findRuntimeFile(const std::string& name) {
  fs::path dir = selfDir();
  for (const fs::path& p :
       {dir / name, dir / ".." / DLC_INSTALL_LIBDIR / name, dir / ".." / DLC_INSTALL_INCLUDEDIR / name})
    if (fs::exists(p)) return p;
  throwUserError("cannot find {} next to dlc ({}): build the dlcrt target", name, dir.string());
}

std::string findOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, end - start)) / program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "";
}

// Runs the system C++ compiler driver (the link needs libstdc++).
void link(const std::vector<std::string>& args) {
  std::string cxx = findOnPath("c++");
  if (cxx.empty()) cxx = findOnPath("g++");
  if (cxx.empty()) cxx = findOnPath("clang++");
  if (cxx.empty())
    throwUserError("--emit shared/exe links with the system C++ compiler, but none (c++, g++, clang++) is on PATH; "
                   "use --emit obj and link NAME.o with libdlcrt.a yourself");
  std::vector<char*> argv;
  argv.push_back(cxx.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throwUserError("cannot start {}", cxx);
  if (pid == 0) {
    execv(cxx.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throwUserError("linking failed: {} {}", cxx, fmt::join(args, " "));
}

std::map<std::string, std::vector<int64_t>> pinnedShapes(const ir::Graph& g, const std::vector<std::string>& specs) {
  std::vector<std::string> names;
  for (const ir::Value* in : g.inputs()) names.push_back(in->name());
  ShapeSpecs split = splitShapeSpecs(specs, names);
  std::map<std::string, int64_t> dims = parseDimBindings(split.symbols);
  bindInputShapes(g, split.inputs, dims);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const ir::Value* in : g.inputs()) {
    if (in->type().isStatic()) continue;
    std::vector<int64_t> extents;
    for (size_t i = 0; i < in->type().shape->rank(); ++i) {
      const ir::Dim& d = (*in->type().shape)[i];
      if (d.isStatic()) {
        extents.push_back(d.value());
      } else if (d.isSymbolic() && dims.count(d.symbolName())) {
        extents.push_back(dims.at(d.symbolName()));
      } else {
        throwUserError("input '{}' has symbolic dims ({}): pin them with --shape {}=D1xD2x... or --shape SYM=V",
                       in->name(), in->type().str(), in->name());
      }
    }
    shapes[in->name()] = extents;
  }
  return shapes;
}

struct CudaAotResult {
  codegen::cpu::AotBundle bundle;
  std::string source;
};

CudaAotResult compileForCuda(const ir::Graph& graph, const std::map<std::string, std::vector<int64_t>>& shapes,
                             const codegen::cpu::AotOptions& cpuOptions, const std::vector<std::string>& archLists,
                             ir::DType precision) {
#if DLC_HAVE_CUDA
  codegen::cuda::CudaAotOptions options;
  options.precision = precision;
  options.name = cpuOptions.name;
  options.embedWeights = cpuOptions.embedWeights;
  options.emitMain = cpuOptions.emitMain;
  options.fuseAttention = cpuOptions.fuseAttention;
  options.cacheDir = codegen::cuda::defaultCacheDir();
  if (!archLists.empty()) {
    options.archs.clear();
    for (const std::string& list : archLists)
      for (size_t start = 0; start <= list.size();) {
        size_t end = std::min(list.find(',', start), list.size());
        if (end > start) options.archs.push_back(list.substr(start, end - start));
        start = end + 1;
      }
  }
  codegen::cuda::CudaAotBundle b = codegen::cuda::compileCudaAot(graph, shapes, options);
  return {std::move(b.bundle), std::move(b.source)};
#else
  throwUserError("--target cuda: this dlc was built without the CUDA backend (DLC_CUDA=OFF)");
#endif
}

}  // namespace

int cmdCompile(const std::vector<std::string>& argv) {
  std::vector<std::string> normalized = argv;
  for (std::string& a : normalized)
    if (a == "-o") a = "--output";
  CliArgs args(normalized, {"output", "target", "emit", "name", "cpu", "arch", "shape", "max-tensor-bytes", "precision",
                            "attention-fusion", "blocked-layout"},
               {"help", "embed-weights"});
  if (args.flag("help")) {
    fmt::print("{}", kHelp);
    return 0;
  }
  if (args.positional().size() != 1) throwUserError("expected one model file (see --help)");
  std::string target = args.value("target").value_or("cpu");
  if (target != "cpu" && target != "cuda") throwUserError("--target {}: expected cpu or cuda", target);
  if (target == "cpu" && args.value("arch")) throwUserError("--arch is for --target cuda (the CPU takes --cpu)");
  if (target == "cuda" && args.value("cpu")) throwUserError("--cpu is for --target cpu (CUDA takes --arch)");
  ir::DType precision = parsePrecision(args.value("precision").value_or("fp32"));
  if (target == "cpu" && precision != ir::DType::F32) throwUserError("--precision is for --target cuda");
  auto outDir = args.value("output");
  if (!outDir) throwUserError("missing -o DIR (the output folder)");
  std::string emit = args.value("emit").value_or("obj");
  if (emit != "obj" && emit != "shared" && emit != "exe")
    throwUserError("--emit {}: expected obj, shared or exe", emit);
  fs::path modelPath = args.positional()[0];
  codegen::cpu::AotOptions options;
  options.name = args.value("name").value_or(modelPath.stem().string());
  if (!args.value("name") && !codegen::cpu::isCIdentifier(options.name)) options.name = "model";
  options.cpu = args.value("cpu").value_or("host");
  options.embedWeights = args.flag("embed-weights");
  options.emitMain = emit == "exe";
  std::optional<bool> fuseAttention = attentionFusion(args);
  options.fuseAttention = fuseAttention.value_or(target == "cuda");
  options.blockedLayout = blockedLayout(args);

  auto start = std::chrono::steady_clock::now();
  frontend::onnx::ImportOptions importOptions;
  importOptions.maxTensorBytes = maxTensorBytes(args);
  auto model = frontend::onnx::importOnnxFile(modelPath.string(), importOptions);
  auto shapes = pinnedShapes(model.graph, args.values("shape"));
  codegen::cpu::AotBundle bundle;
  std::string cudaSource;
  if (target == "cuda") {
    CudaAotResult cuda = compileForCuda(model.graph, shapes, options, args.values("arch"), precision);
    bundle = std::move(cuda.bundle);
    cudaSource = std::move(cuda.source);
  } else {
    bundle = codegen::cpu::compileAot(model.graph, shapes, options);
  }

  fs::path dir(*outDir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throwUserError("cannot create {}: {}", dir.string(), ec.message());
  const std::string& name = options.name;
  writeFile(dir / (name + ".o"), bundle.object.data(), bundle.object.size());
  writeFile(dir / (name + ".h"), bundle.header.data(), bundle.header.size());
  if (!options.embedWeights) writeFile(dir / (name + ".weights"), bundle.weights.data(), bundle.weights.size());
  for (const char* file : {"libdlcrt.a", "dlc_runtime.h"})
    fs::copy_file(findRuntimeFile(file), dir / file, fs::copy_options::overwrite_existing);
  std::vector<std::string> written = {name + ".o", name + ".h"};
  if (!options.embedWeights) written.push_back(name + ".weights");
  if (!cudaSource.empty()) {
    writeFile(dir / (name + ".cu"), cudaSource.data(), cudaSource.size());
    written.push_back(name + ".cu");
  }
  // libdl: libdlcrt dlopens the CUDA driver for CUDA bundles (part of libc
  // since glibc 2.34, a separate library before).
  std::vector<std::string> runtimeLibs = {(dir / "libdlcrt.a").string(), "-lm", "-pthread", "-ldl"};
  if (emit == "shared") {
    // The whole runtime goes in (its C API is useful from any language);
    // only NAME_* and dlcrt_* are exported.
    fs::path exports = dir / (name + ".exports.tmp");
    std::string script = fmt::format("{{ global: {}_*; dlcrt_*; local: *; }};\n", name);
    writeFile(exports, script.data(), script.size());
    std::vector<std::string> cmd = {"-shared",
                                    "-o",
                                    (dir / ("lib" + name + ".so")).string(),
                                    (dir / (name + ".o")).string(),
                                    "-Wl,--whole-archive",
                                    (dir / "libdlcrt.a").string(),
                                    "-Wl,--no-whole-archive",
                                    "-Wl,--version-script=" + exports.string(),
                                    "-lm",
                                    "-pthread",
                                    "-ldl"};
    link(cmd);
    fs::remove(exports);
    written.push_back("lib" + name + ".so");
  } else if (emit == "exe") {
    std::vector<std::string> cmd = {"-o", (dir / name).string(), (dir / (name + ".o")).string()};
    cmd.insert(cmd.end(), runtimeLibs.begin(), runtimeLibs.end());
    link(cmd);
    written.push_back(name);
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  fmt::print("compiled {} for {} ({} kernels, {} steps, {} bytes of weights) in {:.0f} ms\n", modelPath.string(),
             bundle.target, bundle.numKernels, bundle.numSteps, bundle.weights.size(), ms);
  fmt::print("wrote {}/: {}, libdlcrt.a, dlc_runtime.h\n", dir.string(), fmt::join(written, ", "));
  return 0;
}

}  // namespace dlc::tools
