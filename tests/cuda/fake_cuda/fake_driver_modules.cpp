// Tests only, the fake CUDA driver (libcuda.so.1; fake_device.h): modules
// and kernel launches. A module image (a cubin or PTX from NVRTC) is not run:
// the host-compiled emulation of the same program (DLC_FAKE_CUDA_PROGRAM,
// emulation_builder.h) is loaded instead, once its kernels are checked to be
// the image's; each launch checks its shape and every pointer parameter.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "tests/cuda/fake_cuda/cuda_image.h"
#include "tests/cuda/fake_cuda/fake_state.h"

using namespace dlc::testing::fake_cuda;

namespace {

// The emulation library of DLC_FAKE_CUDA_PROGRAM (one path, or a
// ':'-separated list) whose kernels are exactly the image's; its handle, or
// nullptr and *why. Kernel names repeat from program to program (dlc names
// them after the ops they compute), so two candidates that both match are
// refused rather than guessed between.
void* openEmulation(const std::set<std::string>& kernels, std::string* path, std::string* why) {
  const char* list = std::getenv("DLC_FAKE_CUDA_PROGRAM");
  if (!list || !*list) {
    *why =
        "DLC_FAKE_CUDA_PROGRAM is not set: the fake CUDA driver runs a host-compiled emulation of the program "
        "(tests/cuda/fake_cuda: buildEmulation or fake_cuda_emulate) instead of the image";
    return nullptr;
  }
  std::string wanted;
  for (const std::string& k : kernels) wanted += " " + k;
  std::string tried;
  void* found = nullptr;
  std::istringstream in(list);
  for (std::string p; std::getline(in, p, ':');) {
    if (p.empty()) continue;
    void* lib = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      tried += " " + p + " does not load (" + (e ? e : "?") + ");";
      continue;
    }
    auto names = static_cast<const char* const*>(dlsym(lib, kKernelListSymbol));
    std::set<std::string> have;
    for (size_t i = 0; names && names[i]; ++i) have.insert(names[i]);
    if (names && have == kernels) {
      if (found) {
        dlclose(lib);
        dlclose(found);
        *why = "both " + *path + " and " + p + " in DLC_FAKE_CUDA_PROGRAM have the image's kernels (" +
               wanted.substr(0, 300) + " ): name only the program of the model being loaded";
        return nullptr;
      }
      found = lib;
      *path = p;
      continue;
    }
    tried += " " + p + (names ? " has " + std::to_string(have.size()) + " other kernels;" : " is no emulation;");
    dlclose(lib);
  }
  if (!found)
    *why = "no program in DLC_FAKE_CUDA_PROGRAM has exactly the image's " + std::to_string(kernels.size()) +
           " kernels (" + wanted.substr(0, 300) + " ):" + tried;
  return found;
}

CUresult launch(CUfunction f, const std::vector<CUdeviceptr>& args, unsigned grid, unsigned block) {
  auto it = state().functions.find(f);
  if (it == state().functions.end())
    return fail(CUDA_ERROR_INVALID_HANDLE, "kernel launch: the function's module was unloaded");
  std::vector<void*> pointers;
  for (size_t i = 0; i < args.size(); ++i) {
    unsigned long long bytes = f->paramBytes[i];
    std::string what = "kernel " + f->name + " parameter b" + std::to_string(i);
    if (CUresult r = checkRange(args[i], bytes, what)) return r;
    if (bytes && args[i] % f->paramAlign[i])
      return fail(CUDA_ERROR_MISALIGNED_ADDRESS,
                  what + ": " + hexAddress(args[i]) + " is not " + std::to_string(f->paramAlign[i]) + "-byte aligned");
    pointers.push_back(reinterpret_cast<void*>(args[i]));
  }
  // A written buffer that partly overlaps another parameter: the result
  // would depend on the order the GPU's threads run in (the emulation's
  // order is fixed, so it would pass here). The same pointer twice is an
  // in-place update, left to the kernel.
  for (size_t i = 0; i < args.size(); ++i)
    for (size_t j = 0; j < args.size(); ++j)
      if (i != j && f->paramWritten[i] && args[i] != args[j] && f->paramBytes[i] && f->paramBytes[j] &&
          args[i] < args[j] + f->paramBytes[j] && args[j] < args[i] + f->paramBytes[i])
        return fail(CUDA_ERROR_INVALID_VALUE, "kernel " + f->name + ": written parameter b" + std::to_string(i) + " (" +
                                                  hexAddress(args[i]) + ", " + std::to_string(f->paramBytes[i]) +
                                                  " bytes) partly overlaps b" + std::to_string(j) + " (" +
                                                  hexAddress(args[j]) + ", " + std::to_string(f->paramBytes[j]) +
                                                  " bytes): a data race on a GPU");
  f->entry(pointers.data(), grid, block);
  return CUDA_SUCCESS;
}

}  // namespace

extern "C" {

CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuModuleLoadData")) return r;
  if (CUresult r = forbidWhileCapturing("cuModuleLoadData")) return r;
  if (!module) return fail(CUDA_ERROR_INVALID_VALUE, "cuModuleLoadData: null pointer");
  std::optional<std::set<std::string>> kernels = imageKernels(image);
  if (!kernels) return fail(CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData: the image is neither a cubin nor PTX");
  // A program without kernels (every step a GEMM, a copy or a host call)
  // has nothing to emulate.
  std::string path = "(no kernels)", why;
  void* lib = kernels->empty() ? nullptr : openEmulation(*kernels, &path, &why);
  if (!lib && !kernels->empty()) return fail(CUDA_ERROR_FILE_NOT_FOUND, "cuModuleLoadData: " + why);
  auto m = std::make_unique<CUmod_st>();
  m->library = lib;
  m->path = path;
  *module = m.get();
  state().modules.emplace(m.get(), std::move(m));
  return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule module) {
  auto lock = lockDevice();
  // dlc ignores the result (destructors): counted for the tests instead.
  return noteRelease("cuModuleUnload", [&]() -> CUresult {
    if (CUresult r = requireContext("cuModuleUnload")) return r;
    auto it = state().modules.find(module);
    if (it == state().modules.end()) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleUnload: unknown module");
    for (auto& [name, f] : module->functions) state().functions.erase(f.get());
    if (module->library) dlclose(module->library);
    state().modules.erase(it);
    return CUDA_SUCCESS;
  }());
}

CUresult cuModuleGetFunction(CUfunction* hfunc, CUmodule module, const char* name) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuModuleGetFunction")) return r;
  if (!state().modules.count(module)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuModuleGetFunction: unknown module");
  if (!hfunc || !name) return fail(CUDA_ERROR_INVALID_VALUE, "cuModuleGetFunction: null pointer");
  if (!module->library)
    return fail(CUDA_ERROR_NOT_FOUND,
                std::string("cuModuleGetFunction: no kernel ") + name + " in a module without kernels");
  auto& slot = module->functions[name];
  if (!slot) {
    void* lib = module->library;
    auto entry = reinterpret_cast<HostEntry>(dlsym(lib, entrySymbol(name).c_str()));
    auto num = static_cast<const unsigned*>(dlsym(lib, numParamsSymbol(name).c_str()));
    auto bytes = static_cast<const unsigned long long*>(dlsym(lib, paramBytesSymbol(name).c_str()));
    auto align = static_cast<const unsigned long long*>(dlsym(lib, paramAlignSymbol(name).c_str()));
    auto written = static_cast<const unsigned char*>(dlsym(lib, paramWrittenSymbol(name).c_str()));
    auto bounds = static_cast<const unsigned*>(dlsym(lib, launchBoundsSymbol(name).c_str()));
    if (!entry || !num || !bytes || !align || !written || !bounds) {
      module->functions.erase(name);
      return fail(CUDA_ERROR_NOT_FOUND,
                  std::string("cuModuleGetFunction: no kernel ") + name + " in the emulation " + module->path);
    }
    slot = std::make_unique<CUfunc_st>(CUfunc_st{module, name, entry, *num, bytes, align, written, *bounds});
    state().functions[slot.get()] = module;
  }
  *hfunc = slot.get();
  return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned gridX, unsigned gridY, unsigned gridZ, unsigned blockX, unsigned blockY,
                        unsigned blockZ, unsigned sharedMemBytes, CUstream stream, void** kernelParams, void** extra) {
  auto lock = lockDevice();
  if (CUresult r = requireContext("cuLaunchKernel")) return r;
  if (!state().functions.count(f)) return fail(CUDA_ERROR_INVALID_HANDLE, "cuLaunchKernel: unknown function");
  std::string what = "cuLaunchKernel(" + f->name + ")";
  if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1)
    return fail(CUDA_ERROR_INVALID_VALUE, what + ": a grid or block dimension is 0");
  if (gridY != 1 || gridZ != 1 || blockY != 1 || blockZ != 1)
    return fail(CUDA_ERROR_NOT_SUPPORTED, what + ": the fake (and dlc's kernels) launch 1-D grids only");
  if (blockX > unsigned(kMaxThreadsPerBlock) || blockX > f->launchBounds)
    return fail(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, what + ": " + std::to_string(blockX) +
                                                        " threads per block, over the kernel's __launch_bounds__(" +
                                                        std::to_string(f->launchBounds) + ") or 1024");
  if (sharedMemBytes != 0)
    return fail(CUDA_ERROR_NOT_SUPPORTED, what + ": dynamic shared memory (dlc's kernels use static shared memory)");
  if (extra) return fail(CUDA_ERROR_NOT_SUPPORTED, what + ": `extra` launch parameters");
  if (f->numParams && !kernelParams) return fail(CUDA_ERROR_INVALID_VALUE, what + ": no kernel parameters");
  // Each parameter points at a CUdeviceptr; the values are copied now (a
  // captured launch keeps them).
  std::vector<CUdeviceptr> args;
  for (unsigned i = 0; i < f->numParams; ++i) {
    if (!kernelParams[i]) return fail(CUDA_ERROR_INVALID_VALUE, what + ": parameter " + std::to_string(i) + " is null");
    CUdeviceptr v;
    std::memcpy(&v, kernelParams[i], sizeof v);
    args.push_back(v);
  }
  for (size_t i = 0; i < args.size(); ++i)
    if (CUresult r = checkRange(args[i], f->paramBytes[i], what + " parameter b" + std::to_string(i))) return r;
  return submit(stream, what, [=] { return launch(f, args, gridX, blockX); });
}

}  // extern "C"
