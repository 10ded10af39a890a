// Object emission for AOT bundles (see cpu_object.h).
#include "codegen/llvm/cpu_object.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/llvm/cpu_module.h"
#include "support/error.h"

namespace dlc::codegen::cpu {

namespace {

constexpr uint32_t kAbiVersion = 2;  // DLCRT_ABI_VERSION
constexpr uint32_t kDeviceCpu = 0, kDeviceCuda = 1;  // dlcrt_device

class BundleWriter {
 public:
  BundleWriter(llvm::Module& m, const AotObjectOptions& o, const ResolvedTarget& t)
      : m_(m), ctx_(m.getContext()), o_(o), t_(t), ptr_(llvm::PointerType::get(ctx_, 0)),
        i32_(llvm::Type::getInt32Ty(ctx_)), i64_(llvm::Type::getInt64Ty(ctx_)) {}

  // Renames every defined function to NAME_<name> with internal linkage
  // (reached only through the bundle's table).
  void internalize() {
    for (llvm::Function& f : m_.functions()) {
      if (f.isDeclaration()) continue;
      f.setName(o_.name + "_" + f.getName().str());
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
    }
    for (llvm::GlobalVariable& g : m_.globals())
      if (!g.isDeclaration() && !g.hasLocalLinkage()) g.setLinkage(llvm::GlobalValue::InternalLinkage);
  }

  llvm::GlobalVariable* bundle(const std::vector<std::string>& tableNames) {
    std::vector<llvm::Constant*> table;
    for (const std::string& name : tableNames) table.push_back(function(name));
    auto* tableType = llvm::ArrayType::get(ptr_, table.size());
    auto* kernelTable = new llvm::GlobalVariable(m_, tableType, true, llvm::GlobalValue::InternalLinkage,
                                                 llvm::ConstantArray::get(tableType, table), o_.name + "_kernels");
    llvm::Constant* spec = bytes(o_.spec, o_.name + "_spec", 16);
    llvm::Constant* weights = o_.embedWeights ? bytes(o_.weights, o_.name + "_weights", 64)
                                              : llvm::ConstantPointerNull::get(ptr_);
    auto* type = llvm::StructType::get(ctx_, {i32_, i32_, ptr_, i64_, ptr_, i64_, ptr_, i32_, i32_, ptr_, ptr_,
                                              ptr_, ptr_, i32_, i32_, ptr_});
    llvm::Constant* fields[] = {
        llvm::ConstantInt::get(i32_, kAbiVersion),
        llvm::ConstantInt::get(i32_, tableNames.size()),
        spec,
        llvm::ConstantInt::get(i64_, o_.spec.size()),
        weights,
        llvm::ConstantInt::get(i64_, o_.embedWeights ? o_.weights.size() : 0),
        kernelTable,
        llvm::ConstantInt::get(i32_, t_.mr),
        llvm::ConstantInt::get(i32_, t_.nr),
        function(kMicroKernelName),
        function(kRowKernelName),
        string(o_.name, o_.name + "_name"),
        string(o_.cuda ? o_.gpuTarget : t_.description(), o_.name + "_target"),
        llvm::ConstantInt::get(i32_, o_.cuda ? kDeviceCuda : kDeviceCpu),
        llvm::ConstantInt::get(i32_, o_.gpuImages.size()),
        gpuImages(),
    };
    return new llvm::GlobalVariable(m_, type, true, llvm::GlobalValue::ExternalLinkage,
                                    llvm::ConstantStruct::get(type, fields), o_.name + "_bundle");
  }

  void entryPoints(llvm::GlobalVariable* bundle) {
    // int NAME_create(const char* weights, int threads (CUDA: device), NAME_model** out)
    forward(o_.name + "_create", o_.cuda ? "dlcrt_model_create_cuda" : "dlcrt_model_create", i32_, {ptr_, i32_, ptr_},
            [&](llvm::Function* f) {
      return std::vector<llvm::Value*>{bundle, f->getArg(0), f->getArg(1), f->getArg(2)};
    });
    forward(o_.name + "_destroy", "dlcrt_model_destroy", llvm::Type::getVoidTy(ctx_), {ptr_},
            [&](llvm::Function* f) { return std::vector<llvm::Value*>{f->getArg(0)}; });
    forward(o_.name + "_last_error", "dlcrt_last_error", ptr_, {}, [&](llvm::Function*) {
      return std::vector<llvm::Value*>{};
    });
    // int NAME_run_arrays(NAME_model*, const void* const* inputs, void* const* outputs)
    forward(o_.name + "_run_arrays", "dlcrt_model_run", i32_, {ptr_, ptr_, ptr_}, [&](llvm::Function* f) {
      return std::vector<llvm::Value*>{f->getArg(0), f->getArg(1), llvm::ConstantInt::get(i64_, o_.numInputs),
                                       f->getArg(2), llvm::ConstantInt::get(i64_, o_.numOutputs)};
    });
    // int NAME_run(NAME_model*, const T* input..., T* output...)
    std::vector<llvm::Type*> params(1 + o_.numInputs + o_.numOutputs, ptr_);
    auto* run = define(o_.name + "_run", i32_, params);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", run));
    auto array = [&](size_t first, size_t n) -> llvm::Value* {
      if (n == 0) return llvm::ConstantPointerNull::get(ptr_);
      llvm::Value* a = b.CreateAlloca(llvm::ArrayType::get(ptr_, n));
      for (size_t i = 0; i < n; ++i) b.CreateStore(run->getArg(unsigned(first + i)), b.CreateConstGEP2_64(
                                                         llvm::ArrayType::get(ptr_, n), a, 0, i));
      return a;
    };
    llvm::Value* ins = array(1, o_.numInputs);
    llvm::Value* outs = array(1 + o_.numInputs, o_.numOutputs);
    llvm::FunctionCallee callee = m_.getOrInsertFunction(
        "dlcrt_model_run", llvm::FunctionType::get(i32_, {ptr_, ptr_, i64_, ptr_, i64_}, false));
    b.CreateRet(b.CreateCall(callee, {run->getArg(0), ins, llvm::ConstantInt::get(i64_, o_.numInputs), outs,
                                      llvm::ConstantInt::get(i64_, o_.numOutputs)}));
    if (o_.emitMain)
      forward("main", "dlcrt_main", i32_, {i32_, ptr_}, [&](llvm::Function* f) {
        return std::vector<llvm::Value*>{bundle, f->getArg(0), f->getArg(1)};
      });
  }

 private:
  // The dlcrt_gpu_image array, or null.
  llvm::Constant* gpuImages() {
    if (o_.gpuImages.empty()) return llvm::ConstantPointerNull::get(ptr_);
    auto* imageType = llvm::StructType::get(ctx_, {ptr_, ptr_, i64_});
    std::vector<llvm::Constant*> images;
    for (size_t i = 0; i < o_.gpuImages.size(); ++i) {
      const GpuImageBlob& g = o_.gpuImages[i];
      // PTX is text the driver reads up to its terminating zero.
      std::vector<uint8_t> data(g.bytes.begin(), g.bytes.end());
      data.push_back(0);
      llvm::Constant* fields[] = {string(g.arch, imageSymbol(i, "_arch")), bytes(data, imageSymbol(i, "_image"), 16),
                                  llvm::ConstantInt::get(i64_, g.bytes.size())};
      images.push_back(llvm::ConstantStruct::get(imageType, fields));
    }
    auto* arrayType = llvm::ArrayType::get(imageType, images.size());
    return new llvm::GlobalVariable(m_, arrayType, true, llvm::GlobalValue::InternalLinkage,
                                    llvm::ConstantArray::get(arrayType, images), o_.name + "_gpu_images");
  }
  std::string imageSymbol(size_t i, const char* suffix) const { return o_.name + "_gpu" + std::to_string(i) + suffix; }

  llvm::Function* function(const std::string& name) {
    llvm::Function* f = m_.getFunction(o_.name + "_" + name);
    if (!f) throw InternalError("AOT: no function " + name + " in the kernel module");
    return f;
  }

  llvm::Constant* bytes(const std::vector<uint8_t>& data, const std::string& name, unsigned align) {
    llvm::Constant* init = llvm::ConstantDataArray::get(ctx_, llvm::ArrayRef<uint8_t>(data.data(), data.size()));
    auto* g = new llvm::GlobalVariable(m_, init->getType(), true, llvm::GlobalValue::InternalLinkage, init, name);
    g->setAlignment(llvm::Align(align));
    return g;
  }

  llvm::Constant* string(const std::string& s, const std::string& name) {
    llvm::Constant* init = llvm::ConstantDataArray::getString(ctx_, s, true);
    return new llvm::GlobalVariable(m_, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init, name);
  }

  llvm::Function* define(const std::string& name, llvm::Type* ret, const std::vector<llvm::Type*>& params) {
    if (m_.getFunction(name)) throw InternalError("AOT: symbol " + name + " defined twice");
    return llvm::Function::Create(llvm::FunctionType::get(ret, params, false), llvm::GlobalValue::ExternalLinkage,
                                  name, m_);
  }

  // name(params) { return target(args(name)); } with target's parameter
  // types taken from the values passed.
  template <typename Args>
  void forward(const std::string& name, const std::string& target, llvm::Type* ret,
               const std::vector<llvm::Type*>& params, Args args) {
    llvm::Function* f = define(name, ret, params);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", f));
    std::vector<llvm::Value*> values = args(f);
    std::vector<llvm::Type*> types;
    for (llvm::Value* v : values) types.push_back(v->getType());
    llvm::FunctionCallee callee = m_.getOrInsertFunction(target, llvm::FunctionType::get(ret, types, false));
    llvm::Value* result = b.CreateCall(callee, values);
    if (ret->isVoidTy()) b.CreateRetVoid();
    else b.CreateRet(result);
  }

  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  const AotObjectOptions& o_;
  const ResolvedTarget& t_;
  llvm::PointerType* ptr_;
  llvm::IntegerType *i32_, *i64_;
};

}  // namespace

AotObject emitAotObject(const std::vector<kir::Kernel>& kernels,
                        const std::vector<runtime::ConvMicroKernelShape>& convKernels,
                        const std::vector<std::string>& tableNames, const AotObjectOptions& options) {
  ResolvedTarget target = resolveTarget(options.target, /*pic=*/true);
  BuiltModule built = buildModule(kernels, convKernels, target);
  llvm::Module& m = *built.module;
  BundleWriter writer(m, options, target);
  writer.internalize();
  writer.entryPoints(writer.bundle(tableNames));
  std::string message;
  llvm::raw_string_ostream os(message);
  if (llvm::verifyModule(m, &os)) throw InternalError("AOT module is invalid: " + message);

  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream out(buffer);
  llvm::legacy::PassManager pm;
  if (target.machine->addPassesToEmitFile(pm, out, nullptr, llvm::CodeGenFileType::ObjectFile))
    throw InternalError("LLVM cannot emit an object file for this target");
  pm.run(m);
  return {std::vector<char>(buffer.begin(), buffer.end()), target.description()};
}

}  // namespace dlc::codegen::cpu
