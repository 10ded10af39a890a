#include "codegen/cuda/cuda_program.h"

#include <fmt/format.h>

#include <limits>

#include "codegen/cuda/conv_kernels.h"
#include "codegen/cuda/cuda_emitter.h"

namespace dlc::codegen::cuda {

CudaPlan planCuda(const ir::Graph& graph) {
  CudaPlan plan;
  plan.planned = cpu::planProgram(graph, cpu::PlanOptions{.halfGemms = true, .gemmLtEpilogues = true});
  plan.kernels = plan.planned.kernels;
  runtime::ProgramSpec& spec = plan.planned.spec;
  auto addKernel = [&](kir::Kernel k) {
    plan.kernels.push_back(std::move(k));
    spec.kernelNames.push_back(plan.kernels.back().name);
    return int32_t(plan.kernels.size() - 1);
  };
  for (size_t i = 0; i < spec.steps.size(); ++i) {
    if (auto* conv = std::get_if<runtime::ConvStepSpec>(&spec.steps[i].op)) {
      if (!runtime::cuda::planConv(conv->shape).pointwise)
        conv->im2col = addKernel(im2colKernel(conv->shape, fmt::format("dlc_im2col_{}", i), ir::DType(conv->dtype)));
    } else if (auto* t = std::get_if<runtime::ConvTransposeStepSpec>(&spec.steps[i].op)) {
      t->col2im = addKernel(col2imKernel(t->shape, t->hasBias, fmt::format("dlc_col2im_{}", i)));
    }
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
