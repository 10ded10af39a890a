#include "codegen/cuda/cuda_program.h"

#include <fmt/format.h>

#include <limits>

#include "codegen/cuda/conv_kernels.h"
#include "codegen/cuda/cuda_emitter.h"

namespace dlc::codegen::cuda {

CudaPlan planCuda(const ir::Graph& graph) {
  CudaPlan plan;
  plan.planned = cpu::planProgram(graph);
  plan.kernels = plan.planned.kernels;
  runtime::ProgramSpec& spec = plan.planned.spec;
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    auto* conv = std::get_if<runtime::ConvStepSpec>(&spec.steps[i].op);
    if (!conv || runtime::cuda::planConv(conv->shape).pointwise) continue;
    conv->im2col = int32_t(plan.kernels.size());
    plan.kernels.push_back(im2colKernel(conv->shape, fmt::format("dlc_im2col_{}", i)));
    spec.kernelNames.push_back(plan.kernels.back().name);
  }
  for (const kir::Kernel& k : plan.kernels) {
    LaunchShape shape = launchShape(k, std::numeric_limits<unsigned>::max());
    spec.launches.push_back({shape.grid, shape.block});
  }
  plan.source = emitProgram(plan.kernels);
  plan.describeLines = spec.describeLines;
  // Each kernel step says how it is launched (`dlc inspect --target cuda`).
  for (runtime::StepSpec& s : spec.steps)
    if (const auto* k = std::get_if<runtime::KernelStepSpec>(&s.op))
      s.what += fmt::format(" (launch {})", describeLaunch(launchShape(plan.kernels.at(k->kernel))));
  return plan;
}

}  // namespace dlc::codegen::cuda
