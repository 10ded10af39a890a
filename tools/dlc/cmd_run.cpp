// dlc run: run a model on given or random inputs.
#include <fmt/format.h>

#include "frontend/onnx/importer.h"
#include "support/error.h"
#include "tools/dlc/cli_args.h"
#include "tools/dlc/commands.h"
#include "tools/dlc/model_io.h"
#include "tools/dlc/targets.h"

namespace dlc::tools {

static constexpr const char* kHelp = R"(usage: dlc run MODEL.onnx [options]

Runs the model and prints a summary of each output (dtype, shape, first
values, min/max/mean).

options:
  --input NAME=FILE   an input from a .npy or ONNX TensorProto .pb file;
                      NAME=random for random data (repeatable). Inputs not
                      given are random.
  --shape N=V         bind a symbolic dim for random inputs (default 1)
  --seed S            seed for random inputs (default 0)
  --output-dir DIR    write each output to DIR/<output name>.npy
  --target T          where to run: ref (default, the reference interpreter),
                      cpu (LLVM-compiled for this machine; the default passes,
                      fusion included, always run) or cuda (an NVIDIA GPU)
  --allow-tf32        cuda: cuBLAS may use TF32 tensor cores
  --precision P       cuda: fp32 (default), fp16 or bf16 for the matrix
                      products (MatMul, Gemm), the rest in f32 (torch.autocast)
  --attention-fusion on|off  one kernel per attention (MatMul, scale/mask,
                      Softmax, MatMul); default on for cuda, off for cpu
  --blocked-layout on|off  cpu: 2-D convolutions and what follows them on
                      channel-blocked (NCHWc) tensors with direct-convolution
                      micro-kernels (default on)
  --threads N         cpu: worker threads (default 0: every core)
  --cpu NAME          cpu: compile for this LLVM CPU (default host; e.g.
                      x86-64-v3 for AVX2, x86-64-v4 for AVX-512)
  --optimize          run the optimisation passes first (constant folding, CSE, DCE)
  --print-after P     print the IR after pass P (comma-separated, or "all")
  --max-tensor-bytes B  refuse any weight, input or intermediate tensor over
                      B bytes, before allocating it (default 16 GiB)
)";

int cmdRun(const std::vector<std::string>& argv) {
  CliArgs args(argv, {"input", "shape", "seed", "output-dir", "target", "print-after", "threads", "cpu", "max-tensor-bytes",
                      "precision", "attention-fusion", "blocked-layout"},
               {"help", "optimize", "allow-tf32"});
  if (args.flag("help")) {
    fmt::print("{}", kHelp);
    return 0;
  }
  if (args.positional().size() != 1) throwUserError("expected one model file (see --help)");
  auto dims = parseDimBindings(args.values("shape"));
  CompileOptions compile = compileOptions(args);
  frontend::onnx::ImportOptions importOptions;
  importOptions.maxTensorBytes = compile.maxTensorBytes;
  auto model = frontend::onnx::importOnnxFile(args.positional()[0], importOptions);
  const ir::Graph& g = model.graph;
  ir::NamedTensors inputs = gatherInputs(g, args, dims, compile.maxTensorBytes);

  std::vector<std::string> outputNames;
  for (const auto* v : g.outputs()) outputNames.push_back(v->name());
  auto exe = compileForTarget(std::move(model.graph), args.value("target").value_or("ref"), compile);
  auto outputs = exe->run(inputs);
  for (size_t i = 0; i < outputs.size(); ++i) fmt::print("{}: {}\n", outputNames[i], outputs[i].summary());
  if (auto outDir = args.value("output-dir")) writeOutputs(*outDir, outputNames, outputs);
  return 0;
}

}  // namespace dlc::tools
