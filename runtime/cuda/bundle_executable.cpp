// libdlcrt's CUDA bundles (dlc_runtime.h: dlcrt_model_create_cuda): the
// device opened, the image for its arch picked from the bundle, and the
// program run by the same ProgramRunner as the JIT. Built only into libdlcrt
// (with DLC_CUDA), which then defines DLC_DLCRT_CUDA.
#include <string>

#include "runtime/c_api_internal.h"
#include "runtime/cuda/image_select.h"
#include "runtime/cuda/program_runner.h"
#include "support/error_types.h"

namespace dlc::runtime::capi {

namespace {

class CudaExecutable : public Executable {
 public:
  CudaExecutable(const ProgramSpec& spec, const dlcrt_bundle& bundle, int ordinal) {
    auto device = std::make_shared<cuda::Device>(ordinal);
    std::vector<std::string> archs;
    for (uint32_t i = 0; i < bundle.num_gpu_images; ++i)
      archs.push_back(bundle.gpu_images[i].arch ? bundle.gpu_images[i].arch : "");
    int chosen = cuda::selectImage(archs, device->computeCapability());
    if (chosen < 0) {
      std::string list;
      for (const std::string& a : archs) list += (list.empty() ? "" : ", ") + a;
      throw UserError("bundle '" + std::string(bundle.name ? bundle.name : "?") + "' has no GPU image for " +
                      device->name() + " (" + device->arch() + "); it holds: " + (list.empty() ? "none" : list) +
                      " (recompile with --arch " + device->arch() + ")");
    }
    const dlcrt_gpu_image& image = bundle.gpu_images[chosen];
    runner_ = std::make_unique<cuda::ProgramRunner>(
        device, spec, std::string(reinterpret_cast<const char*>(image.data), size_t(image.size)),
        cuda::RunnerOptions{});
    description_ = "cuda: " + device->name() + " (" + device->arch() + "), " +
                   (archs[size_t(chosen)].rfind("compute_", 0) == 0 ? "PTX " : "cubin ") + archs[size_t(chosen)];
  }

  void run(std::span<const void* const> inputs, std::span<void* const> outputs) override {
    runner_->run(std::vector<const void*>(inputs.begin(), inputs.end()),
                 std::vector<void*>(outputs.begin(), outputs.end()));
  }
  std::string description() const override { return description_; }

 private:
  std::unique_ptr<cuda::ProgramRunner> runner_;
  std::string description_;
};

}  // namespace

std::unique_ptr<Executable> openCudaBundle(const ProgramSpec& spec, const dlcrt_bundle& bundle, int device) {
  return std::make_unique<CudaExecutable>(spec, bundle, device);
}

}  // namespace dlc::runtime::capi
