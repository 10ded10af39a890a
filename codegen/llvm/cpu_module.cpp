// Target selection and the optimised kernel module for the CPU backend.
#include "codegen/llvm/cpu_module.h"

#include <fmt/format.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>

#include <mutex>
#include <unordered_set>

#include "support/error.h"

namespace dlc::codegen::cpu {

using llvm_backend::FunctionTarget;


std::string errorText(llvm::Error e) { return llvm::toString(std::move(e)); }

namespace {
void initLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

}  // namespace

ResolvedTarget resolveTarget(const CpuTargetOptions& options, bool pic) {
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
    // A generic subtarget knows every CPU name (creating one for an unknown
    // name would print a warning on stderr).
    std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(tripleName, "", ""));
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
  if (pic) r.builder.setRelocationModel(llvm::Reloc::PIC_);
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

BuiltModule buildModule(const std::vector<kir::Kernel>& kernels,
                        const std::vector<runtime::ConvMicroKernelShape>& convKernels, ResolvedTarget& target) {
  BuiltModule out;
  out.context = std::make_unique<llvm::LLVMContext>();
  out.module = std::make_unique<llvm::Module>("dlc_kernels", *out.context);
  out.module->setDataLayout(target.machine->createDataLayout());
  out.module->setTargetTriple(target.machine->getTargetTriple().str());
  std::unordered_set<std::string> names = {kMicroKernelName, kRowKernelName};
  for (const kir::Kernel& k : kernels) {
    kir::verify(k);
    if (!names.insert(k.name).second) throw InternalError("two kernels named " + k.name);
    llvm_backend::emitKernel(*out.module, k, target.function);
  }
  llvm_backend::emitGemmMicroKernel(*out.module, kMicroKernelName, target.mr, target.nr, target.vectorWidth,
                                    target.function);
  llvm_backend::emitGemmRowKernel(*out.module, kRowKernelName, target.nr, target.vectorWidth, target.function);
  for (const runtime::ConvMicroKernelShape& shape : convKernels) {
    if (shape.lanes != target.vectorWidth)
      throw InternalError(fmt::format("a convolution micro-kernel for {} lanes on a target with {}-float vectors",
                                      shape.lanes, target.vectorWidth));
    if (!names.insert(shape.name()).second) throw InternalError("two kernels named " + shape.name());
    llvm_backend::emitConvMicroKernel(*out.module, shape, target.function);
  }
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

std::string ResolvedTarget::description() const {
  return fmt::format("{}, {}-bit vectors, micro-kernel {}x{}", function.cpu, vectorWidth * 32, mr, nr);
}

}  // namespace dlc::codegen::cpu
