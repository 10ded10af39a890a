#include "codegen/cuda/cuda_aot.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "codegen/cuda/cuda_program.h"
#include "codegen/cuda/nvrtc_compiler.h"
#include "codegen/llvm/cpu_object.h"
#include "ir/graph_clone.h"
#include "passes/pass.h"
#include "runtime/cuda/image_select.h"
#include "runtime/spec_format.h"
#include "support/error.h"

namespace dlc::codegen::cuda {

CudaAotBundle compileCudaAot(const ir::Graph& model, const std::map<std::string, std::vector<int64_t>>& shapes,
                             const CudaAotOptions& options) {
  if (options.archs.empty()) throwUserError("--arch: at least one GPU arch (e.g. sm_90)");
  std::vector<std::string> archs;
  for (const std::string& a : options.archs) {
    runtime::cuda::ImageArch parsed;
    if (!runtime::cuda::parseImageArch(a, parsed) || parsed.isPtx)
      throwUserError("--arch {}: expected sm_XX (e.g. sm_80, sm_90)", a);
    if (std::find(archs.begin(), archs.end(), a) == archs.end()) archs.push_back(a);
  }
  ir::Graph graph;
  if (options.precision != ir::DType::F32) {
    ir::Graph mixed = ir::cloneGraph(model);
    passes::autocastMatrixProducts(mixed, options.precision);
    graph = cpu::prepareAotGraph(mixed, shapes, options.name, {.fuseAttention = options.fuseAttention});
  } else {
    graph = cpu::prepareAotGraph(model, shapes, options.name, {.fuseAttention = options.fuseAttention});
  }
  CudaPlan plan = planCuda(graph);
  cpu::refuseLibraryCalls(plan.planned.libraryCalls);
  const runtime::ProgramSpec& spec = plan.planned.spec;

  cpu::AotObjectOptions o;
  o.cuda = true;
  for (const std::string& arch : archs) {
    CompiledImage image = compileCuda(plan.source, options.name + ".cu", {arch, false, options.cacheDir});
    o.gpuImages.push_back({image.arch, std::move(image.image)});
  }
  // PTX of the oldest arch: any newer GPU's driver compiles it.
  std::string oldest = *std::min_element(archs.begin(), archs.end(), [](const std::string& a, const std::string& b) {
    runtime::cuda::ImageArch x, y;
    runtime::cuda::parseImageArch(a, x);
    runtime::cuda::parseImageArch(b, y);
    return x.version < y.version;
  });
  CompiledImage ptx = compileCuda(plan.source, options.name + ".cu", {oldest, true, options.cacheDir});
  o.gpuImages.push_back({ptx.arch, std::move(ptx.image)});
  std::vector<std::string> imageArchs;
  for (const cpu::GpuImageBlob& g : o.gpuImages) imageArchs.push_back(g.arch);
  o.gpuTarget = fmt::format("cuda {} (NVRTC {})", fmt::join(imageArchs, ", "), nvrtcVersion());

  runtime::SerializedSpec blobs = runtime::serializeSpec(spec);
  o.target = cpu::CpuTargetOptions{"x86-64"};  // only the entry points run on the host
  o.name = options.name;
  o.spec = std::move(blobs.spec);
  o.embedWeights = options.embedWeights;
  if (options.embedWeights) o.weights = blobs.weights;
  o.numInputs = spec.inputs.size();
  o.numOutputs = spec.outputs.size();
  o.emitMain = options.emitMain;
  cpu::AotObject object = cpu::emitAotObject({}, {}, {}, o);

  CudaAotBundle out;
  cpu::AotBundle& b = out.bundle;
  b.object = std::move(object.bytes);
  b.weights = std::move(blobs.weights);
  b.inputs = spec.inputs;
  b.outputs = spec.outputs;
  b.target = o.gpuTarget;
  b.numKernels = plan.kernels.size();
  b.numSteps = spec.steps.size();
  b.header = cpu::aotHeader(options.name, b.inputs, b.outputs, options.embedWeights, b.target, /*cuda=*/true);
  out.source = plan.source;
  return out;
}

}  // namespace dlc::codegen::cuda
