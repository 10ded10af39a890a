// The C API of libdlcrt (runtime/include/dlc_runtime.h): loads an AOT
// bundle's ProgramSpec and weights and runs it with the same runtime steps
// as the JIT. Every entry point catches every exception and returns a status.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>

#include "dlc_runtime.h"
#include "runtime/c_api_internal.h"
#include "runtime/program_spec.h"
#include "runtime/spec_format.h"
#include "runtime/thread_pool.h"
#include "support/error_types.h"

struct dlcrt_model {
  dlc::runtime::ProgramSpec spec;
  std::unique_ptr<dlc::runtime::capi::Executable> executable;  // declared after spec: freed first
  std::string description;
};

namespace {

thread_local std::string lastError;

dlcrt_status fail(dlcrt_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

// Runs `body`, turning exceptions into statuses.
template <typename F>
dlcrt_status guarded(dlcrt_status userStatus, F&& body) {
  try {
    body();
    return DLCRT_OK;
  } catch (const dlc::UserError& e) {
    return fail(userStatus, e.what());
  } catch (const std::bad_alloc&) {
    return fail(DLCRT_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(DLCRT_INTERNAL_ERROR, e.what());
  } catch (...) {
    return fail(DLCRT_INTERNAL_ERROR, "unknown error");
  }
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

// The whole file in a 64-byte aligned buffer.
std::shared_ptr<const uint8_t> readAligned(const char* path, size_t& size) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw dlc::UserError(std::string("cannot open weights file '") + path + "'");
  std::streamoff end = in.tellg();
  if (end < 0) throw dlc::UserError(std::string("cannot read weights file '") + path + "'");
  size = size_t(end);
  std::shared_ptr<uint8_t> data(static_cast<uint8_t*>(std::aligned_alloc(64, (size + 64) / 64 * 64)), AlignedFree());
  if (!data) throw std::bad_alloc();
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(data.get()), std::streamsize(size)))
    throw dlc::UserError(std::string("cannot read weights file '") + path + "'");
  return data;
}

// A CPU bundle: the JIT's runtime steps over the bundle's kernels.
class CpuExecutable : public dlc::runtime::capi::Executable {
 public:
  CpuExecutable(const dlc::runtime::ProgramSpec& spec, const dlcrt_bundle& bundle, int numThreads) {
    dlc::runtime::CompiledKernels code;
    code.kernels.assign(bundle.kernels, bundle.kernels + bundle.num_kernels);
    code.microKernel.mr = bundle.gemm_mr;
    code.microKernel.nr = bundle.gemm_nr;
    code.microKernel.fn = reinterpret_cast<dlc::runtime::GemmMicroKernelFn>(bundle.gemm_micro_kernel);
    code.microKernel.rowFn = reinterpret_cast<dlc::runtime::GemmRowKernelFn>(bundle.gemm_row_kernel);
    program_ = dlc::runtime::instantiate(spec, code);
    pool_ = std::make_unique<dlc::runtime::ThreadPool>(numThreads);
    description_ = std::string("cpu: ") + (bundle.target ? bundle.target : "?") + ", " +
                   std::to_string(pool_->numThreads()) + " threads";
  }
  void run(std::span<const void* const> inputs, std::span<void* const> outputs) override {
    program_.run(*pool_, inputs, outputs);
  }
  std::string description() const override { return description_; }

 private:
  dlc::runtime::Program program_;
  std::unique_ptr<dlc::runtime::ThreadPool> pool_;
  std::string description_;
};

// Checks the bundle, loads its weights and program, then `open` makes the
// executable for it.
template <typename Open>
dlcrt_status createModel(const dlcrt_bundle* bundle, const char* weightsPath, dlcrt_model** out, Open open) {
  if (!out) return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_create: out is NULL");
  *out = nullptr;
  if (!bundle) return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_create: bundle is NULL");
  if (bundle->abi_version != DLCRT_ABI_VERSION)
    return fail(DLCRT_INVALID_BUNDLE, "the bundle was compiled for runtime ABI " +
                                          std::to_string(bundle->abi_version) + ", this libdlcrt has ABI " +
                                          std::to_string(DLCRT_ABI_VERSION));
  if (!weightsPath && !bundle->weights)
    return fail(DLCRT_INVALID_ARGUMENT, std::string("bundle '") + (bundle->name ? bundle->name : "?") +
                                            "' has no embedded weights: pass the path of its .weights file");
  std::unique_ptr<dlcrt_model> model;
  dlcrt_status status = guarded(DLCRT_INVALID_BUNDLE, [&] {
    std::shared_ptr<const void> owner;
    std::span<const uint8_t> weights;
    if (weightsPath) {
      size_t size = 0;
      std::shared_ptr<const uint8_t> data = readAligned(weightsPath, size);
      weights = {data.get(), size};
      owner = data;
    } else {
      weights = {bundle->weights, size_t(bundle->weights_size)};
    }
    model = std::make_unique<dlcrt_model>();
    model->spec = dlc::runtime::deserializeSpec({bundle->spec, size_t(bundle->spec_size)}, weights, owner);
  });
  if (status != DLCRT_OK) return status;
  // Opening a device can fail for want of one: a run error, not a bad bundle.
  status = guarded(bundle->device == DLCRT_DEVICE_CUDA ? DLCRT_RUN_ERROR : DLCRT_INVALID_BUNDLE, [&] {
    model->executable = open(model->spec);
    model->description = model->executable->description();
  });
  if (status == DLCRT_OK) *out = model.release();
  return status;
}

void fillInfo(const dlc::runtime::TensorSpec& t, dlcrt_tensor_info* info) {
  *info = dlcrt_tensor_info{};
  info->name = t.name.c_str();
  info->dtype = t.dtype;
  info->rank = int32_t(t.shape.size());
  for (size_t i = 0; i < t.shape.size() && i < DLCRT_MAX_RANK; ++i) info->shape[i] = t.shape[i];
  info->num_elements = dlc::runtime::elementCount(t.shape);
  info->num_bytes = dlc::runtime::tensorBytes(t);
}

}  // namespace

namespace dlc::runtime::capi {
dlcrt_status fail(dlcrt_status status, std::string message) { return ::fail(status, std::move(message)); }

#ifndef DLC_DLCRT_CUDA
// The dlc_runtime copy of this file (linked into dlc itself) and a libdlcrt
// built without CUDA: runtime/cuda/bundle_executable.cpp is not there.
std::unique_ptr<Executable> openCudaBundle(const ProgramSpec&, const dlcrt_bundle&, int) {
  throw UserError("this libdlcrt was built without CUDA support (dlc built with DLC_CUDA=OFF)");
}
#endif
}  // namespace dlc::runtime::capi

extern "C" {

uint32_t dlcrt_abi_version(void) { return DLCRT_ABI_VERSION; }

const char* dlcrt_last_error(void) { return lastError.c_str(); }

dlcrt_status dlcrt_model_create(const dlcrt_bundle* bundle, const char* weightsPath, int numThreads,
                                dlcrt_model** out) {
  if (out) *out = nullptr;
  if (numThreads < 0) return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_create: negative num_threads");
  return createModel(bundle, weightsPath, out, [&](const dlc::runtime::ProgramSpec& spec) {
    std::unique_ptr<dlc::runtime::capi::Executable> e;
    if (bundle->device == DLCRT_DEVICE_CUDA) e = dlc::runtime::capi::openCudaBundle(spec, *bundle, 0);
    else if (bundle->device == DLCRT_DEVICE_CPU) e = std::make_unique<CpuExecutable>(spec, *bundle, numThreads);
    else throw dlc::UserError("the bundle is for device " + std::to_string(bundle->device) + ", unknown here");
    return e;
  });
}

dlcrt_status dlcrt_model_create_cuda(const dlcrt_bundle* bundle, const char* weightsPath, int device,
                                     dlcrt_model** out) {
  if (out) *out = nullptr;
  if (bundle && bundle->device != DLCRT_DEVICE_CUDA)
    return fail(DLCRT_INVALID_ARGUMENT, std::string("dlcrt_model_create_cuda: bundle '") +
                                            (bundle->name ? bundle->name : "?") +
                                            "' was compiled for the CPU (use dlcrt_model_create)");
  if (device < 0) return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_create_cuda: negative device");
  return createModel(bundle, weightsPath, out, [&](const dlc::runtime::ProgramSpec& spec) {
    return dlc::runtime::capi::openCudaBundle(spec, *bundle, device);
  });
}

const char* dlcrt_model_description(const dlcrt_model* model) { return model ? model->description.c_str() : ""; }

dlcrt_status dlcrt_model_run(dlcrt_model* model, const void* const* inputs, size_t numInputs,
                             void* const* outputs, size_t numOutputs) {
  if (!model) return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_run: model is NULL");
  if (numInputs != model->spec.inputs.size() || numOutputs != model->spec.outputs.size())
    return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_run: the model has " +
                                            std::to_string(model->spec.inputs.size()) + " inputs and " +
                                            std::to_string(model->spec.outputs.size()) + " outputs, given " +
                                            std::to_string(numInputs) + " and " + std::to_string(numOutputs));
  for (size_t i = 0; i < numInputs; ++i)
    if (!inputs[i] && dlc::runtime::tensorBytes(model->spec.inputs[i]) > 0)
      return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_run: input '" + model->spec.inputs[i].name + "' is NULL");
  for (size_t i = 0; i < numOutputs; ++i)
    if (!outputs[i] && dlc::runtime::tensorBytes(model->spec.outputs[i]) > 0)
      return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_run: output '" + model->spec.outputs[i].name + "' is NULL");
  return guarded(DLCRT_RUN_ERROR, [&] {
    model->executable->run({inputs, numInputs}, {outputs, numOutputs});
  });
}

void dlcrt_model_destroy(dlcrt_model* model) { delete model; }

size_t dlcrt_model_num_inputs(const dlcrt_model* model) { return model ? model->spec.inputs.size() : 0; }
size_t dlcrt_model_num_outputs(const dlcrt_model* model) { return model ? model->spec.outputs.size() : 0; }

dlcrt_status dlcrt_model_input(const dlcrt_model* model, size_t index, dlcrt_tensor_info* info) {
  if (!model || !info || index >= model->spec.inputs.size())
    return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_input: no such input");
  fillInfo(model->spec.inputs[index], info);
  return DLCRT_OK;
}

dlcrt_status dlcrt_model_output(const dlcrt_model* model, size_t index, dlcrt_tensor_info* info) {
  if (!model || !info || index >= model->spec.outputs.size())
    return fail(DLCRT_INVALID_ARGUMENT, "dlcrt_model_output: no such output");
  fillInfo(model->spec.outputs[index], info);
  return DLCRT_OK;
}

}  // extern "C"
