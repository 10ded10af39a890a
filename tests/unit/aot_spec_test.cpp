// AOT building blocks without a system compiler (so they also run in the
// sanitizer build): the ProgramSpec serialiser round trip, its refusal of
// truncated and corrupt blobs, validation of inconsistent specs, and the C
// API of libdlcrt driving a bundle assembled in-process from the JIT's code.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "codegen/cpu/aot.h"
#include "codegen/cpu/cpu_model.h"
#include "codegen/cpu/program_builder.h"
#include "codegen/llvm/cpu_jit.h"
#include "dlc_runtime.h"
#include "frontend/onnx/importer.h"
#include "ir/graph_clone.h"
#include "ir/tensor_compare.h"
#include "runtime/spec_format.h"
#include "support/error.h"

using namespace dlc;

namespace {

const std::string kModels = DLC_TEST_MODELS_DIR;

struct AlignedBytes {
  explicit AlignedBytes(const std::vector<uint8_t>& bytes)
      : data(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes.size() + 64) / 64 * 64)), std::free),
        size(bytes.size()) {
    std::memcpy(data.get(), bytes.data(), bytes.size());
  }
  std::span<const uint8_t> span() const { return {data.get(), size}; }
  std::shared_ptr<uint8_t> data;
  size_t size;
};

// A model planned and JIT-compiled, with its serialised spec and test inputs.
struct Compiled {
  ir::Graph model;
  ir::Graph graph;  // specialised
  codegen::cpu::PlannedProgram plan;
  std::unique_ptr<codegen::cpu::JitProgram> jit;
  runtime::SerializedSpec blobs;
  std::vector<ir::Tensor> inputs;

  Compiled(const std::string& name, std::map<std::string, std::vector<int64_t>> shapes, bool blockedLayout = true)
      : model(frontend::onnx::importOnnxFile(kModels + "/" + name + "/model.onnx").graph),
        graph(codegen::cpu::specialiseGraph(model, shapes, codegen::cpu::cpuPassContext("host", false, blockedLayout))),
        plan(codegen::cpu::planProgram(graph)), jit(codegen::cpu::jitCompile(plan.kernels, {"host"}, plan.convKernels)),
        blobs(runtime::serializeSpec(plan.spec)) {
    for (size_t i = 0; i < plan.spec.inputs.size(); ++i) {
      const runtime::TensorSpec& t = plan.spec.inputs[i];
      inputs.emplace_back(ir::DType(t.dtype), t.shape);
      dlcrt_tensor_info info = infoOf(t);
      std::string file = kModels + "/" + name + "/test_data_set_0/input_" + std::to_string(i) + ".pb";
      EXPECT_EQ(dlcrt_read_tensor(file.c_str(), &info, inputs.back().rawData()), DLCRT_OK) << dlcrt_last_error();
    }
  }

  static dlcrt_tensor_info infoOf(const runtime::TensorSpec& t) {
    dlcrt_tensor_info info{};
    info.name = t.name.c_str();
    info.dtype = t.dtype;
    info.rank = int32_t(t.shape.size());
    for (size_t i = 0; i < t.shape.size(); ++i) info.shape[i] = t.shape[i];
    info.num_elements = runtime::elementCount(t.shape);
    info.num_bytes = runtime::tensorBytes(t);
    return info;
  }

  runtime::CompiledKernels code() const {
    runtime::CompiledKernels c;
    for (const std::string& name : plan.spec.kernelNames) c.kernels.push_back(jit->kernel(name));
    c.microKernel = jit->gemmMicroKernel();
    return c;
  }

  std::vector<ir::Tensor> expected() const {
    ir::NamedTensors named;
    for (size_t i = 0; i < inputs.size(); ++i) named[plan.spec.inputs[i].name] = inputs[i];
    codegen::cpu::CpuModel jitModel(ir::cloneGraph(model), {"host", 2});
    return jitModel.run(named);
  }

  std::vector<ir::Tensor> freshOutputs() const {
    std::vector<ir::Tensor> out;
    for (const runtime::TensorSpec& t : plan.spec.outputs) out.emplace_back(ir::DType(t.dtype), t.shape);
    return out;
  }
};

void expectSame(const std::vector<ir::Tensor>& actual, const std::vector<ir::Tensor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    auto diff = ir::compareTensors(actual[i], expected[i], ir::Tolerance{1e-5, 1e-6});
    EXPECT_FALSE(diff.has_value()) << "output " << i << ": " << *diff;
  }
}

void runProgram(const runtime::Program& p, const Compiled& c, std::vector<ir::Tensor>& outputs) {
  runtime::ThreadPool pool(2);
  std::vector<const void*> in;
  std::vector<void*> out;
  for (const ir::Tensor& t : c.inputs) in.push_back(t.rawData());
  for (ir::Tensor& t : outputs) out.push_back(t.rawData());
  p.run(pool, in, out);
}

}  // namespace

TEST(AotSpec, RoundTripRunsLikeTheJit) {
  for (auto [name, shapes] : std::vector<std::pair<std::string, std::map<std::string, std::vector<int64_t>>>>{
           {"resnet_tiny", {{"input", {2, 3, 64, 64}}}},
           {"mobilenet_tiny", {{"input", {2, 3, 32, 32}}}},
           {"bert_tiny", {}}}) {
    SCOPED_TRACE(name);
    Compiled c(name, shapes);
    // The CNNs run blocked convolutions (dense and depthwise) with their
    // micro-kernels in the kernel table.
    if (name != "bert_tiny") {
      EXPECT_FALSE(c.plan.convKernels.empty());
    }
    AlignedBytes weights(c.blobs.weights);
    runtime::ProgramSpec loaded = runtime::deserializeSpec(c.blobs.spec, weights.span(), weights.data);
    // Serialising what was loaded gives the same bytes.
    runtime::SerializedSpec again = runtime::serializeSpec(loaded);
    EXPECT_EQ(again.spec, c.blobs.spec);
    EXPECT_EQ(again.weights, c.blobs.weights);
    EXPECT_EQ(loaded.describeLines, c.plan.spec.describeLines);
    runtime::Program program = runtime::instantiate(loaded, c.code());
    std::vector<ir::Tensor> outputs = c.freshOutputs();
    runProgram(program, c, outputs);
    expectSame(outputs, c.expected());
  }
}

TEST(AotSpec, TruncatedOrCorruptBlobsAreErrors) {
  Compiled c("bert_tiny", {});
  AlignedBytes weights(c.blobs.weights);
  const std::vector<uint8_t>& spec = c.blobs.spec;
  for (size_t len = 0; len < spec.size(); len += (len < 256 ? 1 : 61)) {
    std::vector<uint8_t> cut(spec.begin(), spec.begin() + ptrdiff_t(len));
    EXPECT_THROW(runtime::deserializeSpec(cut, weights.span(), nullptr), UserError) << len;
  }
  for (size_t at : {size_t(0), size_t(9), size_t(20), size_t(70), spec.size() / 2, spec.size() - 1}) {
    std::vector<uint8_t> bad = spec;
    bad[at] ^= 0x5a;
    EXPECT_THROW(runtime::deserializeSpec(bad, weights.span(), nullptr), UserError) << at;
  }
  std::vector<uint8_t> badWeights = c.blobs.weights;
  badWeights[badWeights.size() - 1] ^= 1;
  AlignedBytes corrupt(badWeights);
  try {
    runtime::deserializeSpec(spec, corrupt.span(), nullptr);
    FAIL() << "corrupt weights were accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  // Weights of another model.
  Compiled other("gpt_tiny", {});
  AlignedBytes otherWeights(other.blobs.weights);
  EXPECT_THROW(runtime::deserializeSpec(spec, otherWeights.span(), nullptr), UserError);
}

TEST(AotSpec, InconsistentSpecsAreRefused) {
  // The im2col GEMM convolutions (without the blocked layout) and, below,
  // the blocked ones.
  Compiled c("resnet_tiny", {{"input", {2, 3, 64, 64}}}, /*blockedLayout=*/false);
  runtime::CompiledKernels code = c.code();
  auto refused = [&](const char* what, auto mutate) {
    runtime::ProgramSpec s = c.plan.spec;
    mutate(s);
    EXPECT_THROW(runtime::instantiate(s, code), UserError) << what;
  };
  Compiled blocked("resnet_tiny", {{"input", {2, 3, 64, 64}}});
  runtime::CompiledKernels blockedCode = blocked.code();
  auto refusedBlocked = [&](const char* what, auto mutate) {
    runtime::ProgramSpec s = blocked.plan.spec;
    bool mutated = false;
    for (auto& step : s.steps)
      if (auto* b = std::get_if<runtime::BlockedConvStepSpec>(&step.op)) mutated |= mutate(*b);
    EXPECT_TRUE(mutated) << what;
    EXPECT_THROW(runtime::instantiate(s, blockedCode), UserError) << what;
  };
  refusedBlocked("blocked conv output too small", [](runtime::BlockedConvStepSpec& b) { return b.shape.batch = 50; });
  refusedBlocked("blocked conv weights index", [](runtime::BlockedConvStepSpec& b) { return b.weights.index = 9999; });
  refusedBlocked("a tile without its micro-kernel", [](runtime::BlockedConvStepSpec& b) {
    b.tiles.pop_back();
    return true;
  });
  refusedBlocked("a tile's kernel of another kind", [](runtime::BlockedConvStepSpec& b) {
    b.tiles[0].kernel = 0;  // the table's first kernel: a kernel-IR kernel
    return true;
  });
  refusedBlocked("unknown post-op flags", [](runtime::BlockedConvStepSpec& b) { return b.post.flags |= 64; });
  refusedBlocked("a residual past its buffer", [](runtime::BlockedConvStepSpec& b) {
    if (!(b.post.flags & runtime::kConvPostAddResidual)) return false;
    b.postResidual = {runtime::SpecRef::Space::Arena, int64_t(1) << 40};
    return true;
  });
  refused("kernel index", [](runtime::ProgramSpec& s) {
    for (auto& step : s.steps)
      if (auto* k = std::get_if<runtime::KernelStepSpec>(&step.op)) k->kernel = 1000;
  });
  refused("arena offset", [](runtime::ProgramSpec& s) {
    for (auto& step : s.steps)
      if (auto* k = std::get_if<runtime::KernelStepSpec>(&step.op))
        for (auto& r : k->buffers) r = {runtime::SpecRef::Space::Arena, s.arenaBytes + 64};
  });
  refused("conv output too small", [](runtime::ProgramSpec& s) {
    for (auto& step : s.steps)
      if (auto* k = std::get_if<runtime::ConvStepSpec>(&step.op)) k->shape.batch = 50;
  });
  refused("constant index", [](runtime::ProgramSpec& s) {
    for (auto& step : s.steps)
      if (auto* k = std::get_if<runtime::ConvStepSpec>(&step.op)) k->weights.index = 9999;
  });
  refused("input index", [](runtime::ProgramSpec& s) {
    s.steps.push_back({runtime::CopyStepSpec{{runtime::SpecRef::Space::Input, 7}, {runtime::SpecRef::Space::Output, 0}, 4}, ""});
  });
  refused("copy past the input", [](runtime::ProgramSpec& s) {
    s.steps.push_back({runtime::CopyStepSpec{{runtime::SpecRef::Space::Input, 0}, {runtime::SpecRef::Space::Arena, 0}, 1 << 30}, ""});
  });
  refused("kernel table size", [&](runtime::ProgramSpec& s) { s.kernelNames.push_back("extra"); });
  // A library step cannot be serialised.
  runtime::ProgramSpec withLibrary = c.plan.spec;
  withLibrary.steps.push_back({runtime::LibraryStepSpec{0, "n (LSTM)"}, ""});
  EXPECT_THROW(runtime::serializeSpec(withLibrary), UserError);
}

TEST(AotSpec, CApiRunsABundle) {
  Compiled c("bert_tiny", {});
  runtime::CompiledKernels code = c.code();
  AlignedBytes weights(c.blobs.weights);
  dlcrt_bundle bundle{};
  bundle.abi_version = DLCRT_ABI_VERSION;
  bundle.num_kernels = uint32_t(code.kernels.size());
  bundle.spec = c.blobs.spec.data();
  bundle.spec_size = c.blobs.spec.size();
  bundle.weights = weights.data.get();
  bundle.weights_size = weights.size;
  std::vector<dlcrt_kernel_fn> table(code.kernels.begin(), code.kernels.end());
  bundle.kernels = table.data();
  bundle.gemm_mr = code.microKernel.mr;
  bundle.gemm_nr = code.microKernel.nr;
  bundle.gemm_micro_kernel = reinterpret_cast<void*>(code.microKernel.fn);
  bundle.gemm_row_kernel = reinterpret_cast<void*>(code.microKernel.rowFn);
  bundle.name = "bert";

  dlcrt_model* model = nullptr;
  ASSERT_EQ(dlcrt_model_create(&bundle, nullptr, 2, &model), DLCRT_OK) << dlcrt_last_error();
  ASSERT_EQ(dlcrt_model_num_inputs(model), 2u);
  dlcrt_tensor_info info;
  ASSERT_EQ(dlcrt_model_input(model, 0, &info), DLCRT_OK);
  EXPECT_STREQ(info.name, "input_ids");
  EXPECT_EQ(info.dtype, DLCRT_DTYPE_I64);
  EXPECT_EQ(info.num_elements, 32);
  EXPECT_EQ(dlcrt_model_input(model, 5, &info), DLCRT_INVALID_ARGUMENT);

  std::vector<ir::Tensor> outputs = c.freshOutputs();
  const void* in[] = {c.inputs[0].rawData(), c.inputs[1].rawData()};
  void* out[] = {outputs[0].rawData(), outputs[1].rawData()};
  ASSERT_EQ(dlcrt_model_run(model, in, 2, out, 2), DLCRT_OK) << dlcrt_last_error();
  expectSame(outputs, c.expected());
  EXPECT_EQ(dlcrt_model_run(model, in, 1, out, 2), DLCRT_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dlcrt_last_error()).find("2 inputs"), std::string::npos) << dlcrt_last_error();
  // A token id out of range: the Gather kernel's status word -> a run error.
  ir::Tensor badIds = c.inputs[0];
  badIds = ir::Tensor(ir::DType::I64, c.inputs[0].shape());
  for (int64_t& v : badIds.data<int64_t>()) v = 1 << 20;
  const void* badIn[] = {badIds.rawData(), c.inputs[1].rawData()};
  EXPECT_EQ(dlcrt_model_run(model, badIn, 2, out, 2), DLCRT_RUN_ERROR);
  dlcrt_model_destroy(model);

  // A missing weights file, a corrupt spec and another ABI are errors.
  EXPECT_EQ(dlcrt_model_create(&bundle, "/nonexistent/bert.weights", 1, &model), DLCRT_INVALID_BUNDLE);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(dlcrt_last_error()).find("/nonexistent/bert.weights"), std::string::npos);
  std::vector<uint8_t> badSpec = c.blobs.spec;
  badSpec[badSpec.size() / 2] ^= 0xff;
  dlcrt_bundle corrupt = bundle;
  corrupt.spec = badSpec.data();
  EXPECT_EQ(dlcrt_model_create(&corrupt, nullptr, 1, &model), DLCRT_INVALID_BUNDLE);
  EXPECT_NE(std::string(dlcrt_last_error()).find("checksum"), std::string::npos) << dlcrt_last_error();
  dlcrt_bundle future = bundle;
  future.abi_version = 99;
  EXPECT_EQ(dlcrt_model_create(&future, nullptr, 1, &model), DLCRT_INVALID_BUNDLE);
  EXPECT_EQ(dlcrt_model_create(nullptr, nullptr, 1, &model), DLCRT_INVALID_ARGUMENT);
}

TEST(AotSpec, HeaderNamesAndTypes) {
  std::string h = codegen::cpu::aotHeader(
      "m", {{"input.1", uint8_t(ir::DType::F32), {1, 3}}, {"int", uint8_t(ir::DType::I64), {4}}},
      {{"out/0", uint8_t(ir::DType::F32), {}}}, false, "x86-64-v3");
  EXPECT_NE(h.find("dlcrt_status m_run(m_model* model, const float* input_1, const int64_t* t_int, float* out_0);"),
            std::string::npos)
      << h;
  EXPECT_NE(h.find("#define M_INPUT_1_SIZE 3"), std::string::npos) << h;
  EXPECT_NE(h.find("#define M_OUT_0_RANK 0"), std::string::npos) << h;
  EXPECT_TRUE(codegen::cpu::isCIdentifier("resnet_18"));
  EXPECT_FALSE(codegen::cpu::isCIdentifier("18resnet"));
  EXPECT_FALSE(codegen::cpu::isCIdentifier("my-model"));
}
