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

#include "codegen/llvm/kernel_emitter.h"
#include "support/error.h"

namespace dlc::codegen::cpu {
namespace {

using llvm_backend::FunctionTarget;

constexpr const char* kMicroKernelName = "dlc_gemm_micro_kernel";

std::string errorText(llvm::Error e) { return llvm::toString(std::move(e)); }

void initLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

struct ResolvedTarget {
  llvm::orc::JITTargetMachineBuilder builder{llvm::Triple()};
  std::unique_ptr<llvm::TargetMachine> machine;
  FunctionTarget function;
  int vectorWidth = 4;  // floats per register
  int mr = 6, nr = 8;
};

ResolvedTarget resolveTarget(const CpuTargetOptions& options) {
  initLlvm();
  std::string tripleName = llvm::sys::getProcessTriple();
  llvm::Triple triple(tripleName);
  std::string error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(tripleName, error);
  if (!target) throw InternalError("LLVM has no target for " + tripleName + ": " + error);

  ResolvedTarget r;
  r.builder = llvm::orc::JITTargetMachineBuilder(triple);
  llvm::SubtargetFeatures features;
  if (options.cpu == "host" || options.cpu.empty()) {
    r.function.cpu = llvm::sys::getHostCPUName().str();
    // Every host feature, disabled ones too: a virtual machine may hide
    // features that the CPU's name implies.
    for (const auto& f : llvm::sys::getHostCPUFeatures()) features.AddFeature(f.getKey(), f.getValue());
  } else {
    r.function.cpu = options.cpu;
    std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(tripleName, options.cpu, ""));
    if (!sti || !sti->isCPUStringValid(options.cpu))
      throwUserError(
          "unknown CPU '{}' for {} (--cpu): use 'host' or an LLVM CPU name such as x86-64-v3, x86-64-v4, "
          "skylake-avx512 or znver4; `llc-19 -mtriple={} -mcpu=help` lists them all",
          options.cpu, tripleName, tripleName);
  }
  r.function.features = features.getString();
  r.builder.setCPU(r.function.cpu);
  r.builder.addFeatures(features.getFeatures());
  r.builder.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto machine = r.builder.createTargetMachine();
  if (!machine) throw InternalError("cannot create an LLVM target machine: " + errorText(machine.takeError()));
  r.machine = std::move(*machine);

  const llvm::MCSubtargetInfo* sti = r.machine->getMCSubtargetInfo();
  bool x86 = triple.isX86();
  if (x86 && sti->checkFeatures("+avx512f")) {
    r.vectorWidth = 16, r.mr = 12, r.nr = 32;
  } else if (x86 && sti->checkFeatures("+avx2,+fma")) {
    r.vectorWidth = 8, r.mr = 6, r.nr = 16;
  } else if (x86 && sti->checkFeatures("+avx")) {
    r.vectorWidth = 8, r.mr = 4, r.nr = 16;
  } else if (triple.isAArch64()) {
    r.vectorWidth = 4, r.mr = 8, r.nr = 12;
  } else {
    r.vectorWidth = 4, r.mr = 4, r.nr = 8;
  }
  return r;
}

struct BuiltModule {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

BuiltModule buildModule(const std::vector<kir::Kernel>& kernels, ResolvedTarget& target) {
  BuiltModule out;
  out.context = std::make_unique<llvm::LLVMContext>();
  out.module = std::make_unique<llvm::Module>("dlc_kernels", *out.context);
  out.module->setDataLayout(target.machine->createDataLayout());
  out.module->setTargetTriple(target.machine->getTargetTriple().str());
  std::unordered_set<std::string> names = {kMicroKernelName};
  for (const kir::Kernel& k : kernels) {
    kir::verify(k);
    if (!names.insert(k.name).second) throw InternalError("two kernels named " + k.name);
    llvm_backend::emitKernel(*out.module, k, target.function);
  }
  llvm_backend::emitGemmMicroKernel(*out.module, kMicroKernelName, target.mr, target.nr, target.vectorWidth,
                                    target.function);
  std::string message;
  llvm::raw_string_ostream os(message);
  if (llvm::verifyModule(*out.module, &os)) throw InternalError("emitted LLVM IR is invalid: " + message);

  // O3 for the target.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(target.machine.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*out.module, mam);
  return out;
}

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

std::string optimizedLlvmIR(const std::vector<kir::Kernel>& kernels, const CpuTargetOptions& options) {
  ResolvedTarget target = resolveTarget(options);
  BuiltModule built = buildModule(kernels, target);
  std::string text;
  llvm::raw_string_ostream os(text);
  built.module->print(os, nullptr);
  return text;
}

std::unique_ptr<JitProgram> jitCompile(const std::vector<kir::Kernel>& kernels, const CpuTargetOptions& options) {
  ResolvedTarget target = resolveTarget(options);
  BuiltModule built = buildModule(kernels, target);
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
  runtime::GemmMicroKernel uk{target.mr, target.nr, lookup(kMicroKernelName).toPtr<runtime::GemmMicroKernelFn>()};
  std::string description = fmt::format("{}, {}-bit vectors, micro-kernel {}x{}", target.function.cpu,
                                        target.vectorWidth * 32, target.mr, target.nr);
  return std::make_unique<LlvmJitProgram>(std::move(*jit), std::move(fns), uk, description);
}

}  // namespace dlc::codegen::cpu
