// Target selection, the O3 pipeline and ORC LLJIT for the CPU backend.
#include "codegen/llvm/cpu_jit.h"

#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "codegen/llvm/cpu_module.h"
#include "support/error.h"

namespace dlc::codegen::cpu {
namespace {

class LlvmJitProgram final : public JitProgram {
 public:
  LlvmJitProgram(std::unique_ptr<llvm::orc::LLJIT> jit, std::unordered_map<std::string, runtime::KernelFn> kernels,
                 runtime::GemmMicroKernel uk, std::string description)
      : jit_(std::move(jit)), kernels_(std::move(kernels)), uk_(uk), description_(std::move(description)) {}

  runtime::KernelFn kernel(const std::string& name) const override {
    auto it = kernels_.find(name);
    if (it == kernels_.end()) throw InternalError("no compiled kernel named " + name);
    return it->second;
  }
  const runtime::GemmMicroKernel& gemmMicroKernel() const override { return uk_; }
  std::string targetDescription() const override { return description_; }

 private:
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::unordered_map<std::string, runtime::KernelFn> kernels_;
  runtime::GemmMicroKernel uk_;
  std::string description_;
};

}  // namespace

std::string optimizedLlvmIR(const std::vector<kir::Kernel>& kernels, const CpuTargetOptions& options,
                            const std::vector<runtime::ConvMicroKernelShape>& convKernels) {
  ResolvedTarget target = resolveTarget(options);
  BuiltModule built = buildModule(kernels, convKernels, target);
  std::string text;
  llvm::raw_string_ostream os(text);
  built.module->print(os, nullptr);
  return text;
}

int targetVectorWidth(const CpuTargetOptions& options) { return resolveTarget(options).vectorWidth; }

std::unique_ptr<JitProgram> jitCompile(const std::vector<kir::Kernel>& kernels, const CpuTargetOptions& options,
                                       const std::vector<runtime::ConvMicroKernelShape>& convKernels) {
  ResolvedTarget target = resolveTarget(options);
  BuiltModule built = buildModule(kernels, convKernels, target);
  const llvm::DataLayout layout = built.module->getDataLayout();

  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(target.builder).create();
  if (!jit) throw InternalError("cannot create the ORC JIT: " + errorText(jit.takeError()));
  // libm (sinf, fmod, pow, ...) from this process.
  auto generator = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(layout.getGlobalPrefix());
  if (!generator) throw InternalError("cannot search this process's symbols: " + errorText(generator.takeError()));
  (*jit)->getMainJITDylib().addGenerator(std::move(*generator));
  if (auto e = (*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(built.module), std::move(built.context))))
    throw InternalError("cannot add the kernels to the JIT: " + errorText(std::move(e)));

  // Look everything up now: compilation happens here, not at the first call.
  std::unordered_map<std::string, runtime::KernelFn> fns;
  auto lookup = [&](const std::string& name) {
    auto addr = (*jit)->lookup(name);
    if (!addr) throw InternalError("JIT lookup of " + name + " failed: " + errorText(addr.takeError()));
    return *addr;
  };
  for (const kir::Kernel& k : kernels) fns[k.name] = lookup(k.name).toPtr<runtime::KernelFn>();
  // Another signature behind the same table (see ConvMicroKernelFn).
  for (const runtime::ConvMicroKernelShape& c : convKernels)
    fns[c.name()] = runtime::asKernelFn(lookup(c.name()).toPtr<runtime::ConvMicroKernelFn>());
  runtime::GemmMicroKernel uk{target.mr, target.nr, lookup(kMicroKernelName).toPtr<runtime::GemmMicroKernelFn>(),
                              lookup(kRowKernelName).toPtr<runtime::GemmRowKernelFn>()};
  std::string description = target.description();
  return std::make_unique<LlvmJitProgram>(std::move(*jit), std::move(fns), uk, description);
}

}  // namespace dlc::codegen::cpu
