#include "codegen/cuda/cuda_program.h"

#include <fmt/format.h>

#include "codegen/cuda/conv_kernels.h"
#include "codegen/cuda/cuda_emitter.h"

namespace dlc::codegen::cuda {

CudaPlan planCuda(const ir::Graph& graph) {
  CudaPlan plan;
  plan.planned = cpu::planProgram(graph);
  plan.kernels = plan.planned.kernels;
  runtime::ProgramSpec& spec = plan.planned.spec;
  plan.convPlans.resize(spec.steps.size());
  plan.im2colKernel.assign(spec.steps.size(), -1);
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    const auto* conv = std::get_if<runtime::ConvStepSpec>(&spec.steps[i].op);
    if (!conv) continue;
    plan.convPlans[i] = runtime::cuda::planConv(conv->shape);
    if (plan.convPlans[i].pointwise) continue;
    plan.im2colKernel[i] = int(plan.kernels.size());
    plan.kernels.push_back(im2colKernel(conv->shape, fmt::format("dlc_im2col_{}", i)));
    plan.convScratchElements = std::max(plan.convScratchElements, plan.convPlans[i].colElements);
  }
  plan.source = emitProgram(plan.kernels);
  plan.describeLines = spec.describeLines;
  // Each kernel step says how it is launched (`dlc inspect --target cuda`).
  for (runtime::StepSpec& s : plan.planned.spec.steps)
    if (const auto* k = std::get_if<runtime::KernelStepSpec>(&s.op))
      s.what += fmt::format(" (launch {})", describeLaunch(launchShape(plan.kernels.at(k->kernel))));
  return plan;
}

}  // namespace dlc::codegen::cuda
