// NVRTC (no GPU needed): emitted programs compile to cubins for sm_80 and
// sm_90 and to PTX; the disk cache hits, survives a corrupt entry, and keys
// on the arch; compile errors carry NVRTC's log and the offending source
// line; a bad arch name is a user error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "codegen/cuda/cuda_emitter.h"
#include "support/error.h"

#if DLC_HAVE_CUDA
#include "codegen/cuda/nvrtc_compiler.h"
#endif

using namespace dlc;
using namespace dlc::codegen;

#if DLC_HAVE_CUDA
namespace {

// Every unary and binary op and every cast in one program.
std::string bigProgram() {
  std::vector<kir::Kernel> ks;
  const ir::DType types[] = {ir::DType::F32, ir::DType::F64, ir::DType::F16, ir::DType::BF16, ir::DType::Bool,
                             ir::DType::I8,  ir::DType::I16, ir::DType::I32, ir::DType::I64,  ir::DType::U8,
                             ir::DType::U16, ir::DType::U32, ir::DType::U64};
  for (ir::DType from : types)
    for (ir::DType to : types) {
      kir::Kernel k;
      k.name = fmt::format("cast_{}_{}", ir::dtypeName(from), ir::dtypeName(to));
      k.extent0 = 1000;
      k.extent1 = 3;
      int x = kir::addBuffer(k, "x", from, 3000, false);
      int y = kir::addBuffer(k, "y", to, 3000, true);
      kir::Expr i = kir::binary(kir::BinaryOp::Add, kir::binary(kir::BinaryOp::Mul, kir::var(k.iter0), kir::intConstant(3)),
                                kir::var(k.iter1));
      k.body = {kir::store(k, y, i, kir::cast(to, kir::load(k, x, i)))};
      ks.push_back(std::move(k));
    }
  for (int op = 0; op <= int(kir::BinaryOp::Ge); ++op)
    for (ir::DType t : {ir::DType::F32, ir::DType::I32, ir::DType::U64, ir::DType::Bool}) {
      auto bop = kir::BinaryOp(op);
      bool boolOk = bop == kir::BinaryOp::And || bop == kir::BinaryOp::Or || bop == kir::BinaryOp::Xor ||
                    bop == kir::BinaryOp::Eq || bop == kir::BinaryOp::Ne;
      bool intOnly = bop == kir::BinaryOp::And || bop == kir::BinaryOp::Or || bop == kir::BinaryOp::Xor ||
                     bop == kir::BinaryOp::Shl || bop == kir::BinaryOp::Shr;
      bool unsignedOnly = bop == kir::BinaryOp::Shl || bop == kir::BinaryOp::Shr;
      if (t == ir::DType::Bool ? !boolOk : (t == ir::DType::F32 && intOnly) || (t == ir::DType::I32 && unsignedOnly))
        continue;
      kir::Kernel k;
      k.name = fmt::format("binary_{}_{}", op, ir::dtypeName(t));
      k.extent0 = 77;
      int x = kir::addBuffer(k, "x", t, 77, false);
      int y = kir::addBuffer(k, "y", t, 77, false);
      kir::Expr e = kir::binary(bop, kir::load(k, x, kir::var(k.iter0)), kir::load(k, y, kir::var(k.iter0)));
      int z = kir::addBuffer(k, "z", e->dtype, 77, true);
      k.body = {kir::store(k, z, kir::var(k.iter0), e)};
      ks.push_back(std::move(k));
    }
  return cuda::emitProgram(ks);
}

std::filesystem::path freshDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("dlc_nvrtc_{}_{}", name, ::getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace

TEST(CudaNvrtc, CompilesCubinsForSm80AndSm90AndPtx) {
  std::string source = bigProgram();
  for (const char* arch : {"sm_80", "sm_90"}) {
    cuda::CompiledImage img = cuda::compileCuda(source, "big.cu", {arch, false, ""});
    EXPECT_FALSE(img.isPtx);
    EXPECT_EQ(img.arch, arch);
    ASSERT_GE(img.image.size(), 4u);
    EXPECT_EQ(img.image.substr(0, 4), "\x7f" "ELF");  // a cubin is an ELF file
  }
  cuda::CompiledImage ptx = cuda::compileCuda(source, "big.cu", {"sm_90", true, ""});
  EXPECT_TRUE(ptx.isPtx);
  EXPECT_EQ(ptx.arch, "compute_90");
  EXPECT_NE(ptx.image.find(".entry cast_f16_bf16"), std::string::npos);
}

TEST(CudaNvrtc, ArchNewerThanNvrtcKnowsFallsBackToPtx) {
  std::vector<int> archs = cuda::nvrtcSupportedArchs();
  ASSERT_FALSE(archs.empty());
  std::string source = std::string(cuda::prelude()) + "extern \"C\" __global__ void k(f32* x) { x[0] = 1.0f; }\n";
  cuda::CompiledImage img = cuda::compileCuda(source, "small.cu", {"sm_999", false, ""});
  EXPECT_TRUE(img.isPtx);
  EXPECT_EQ(img.arch, fmt::format("compute_{}", archs.back()));
}

TEST(CudaNvrtc, DiskCacheHitsAndRecompilesACorruptEntry) {
  auto dir = freshDir("cache");
  std::string source = std::string(cuda::prelude()) + "extern \"C\" __global__ void k(f32* x) { x[0] = dlc_min(x[1], x[2]); }\n";
  cuda::NvrtcOptions options{"sm_80", false, dir.string()};
  cuda::CompiledImage first = cuda::compileCuda(source, "big.cu", options);
  EXPECT_FALSE(first.fromCache);
  cuda::CompiledImage second = cuda::compileCuda(source, "big.cu", options);
  EXPECT_TRUE(second.fromCache);
  EXPECT_EQ(second.image, first.image);
  // Another arch is another entry.
  EXPECT_FALSE(cuda::compileCuda(source, "big.cu", {"sm_90", false, dir.string()}).fromCache);
  // Corrupt every entry: each is recompiled and rewritten.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.write("garbage", 7);
    ++entries;
  }
  EXPECT_EQ(entries, 2);
  cuda::CompiledImage third = cuda::compileCuda(source, "big.cu", options);
  EXPECT_FALSE(third.fromCache);
  EXPECT_EQ(third.image, first.image);
  EXPECT_TRUE(cuda::compileCuda(source, "big.cu", options).fromCache);
  std::filesystem::remove_all(dir);
}

TEST(CudaNvrtc, CompileErrorsQuoteTheLogAndTheLine) {
  std::string source = "extern \"C\" __global__ void k(float* x) {\n  x[0] = undeclared_name;\n}\n";
  try {
    cuda::compileCuda(source, "bad.cu", {"sm_90", false, ""});
    FAIL() << "expected a compile error";
  } catch (const InternalError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("undeclared_name"), std::string::npos) << what;
    EXPECT_NE(what.find("    2 |   x[0] = undeclared_name;"), std::string::npos) << what;
  }
  EXPECT_THROW(cuda::compileCuda(source, "bad.cu", {"gfx90a", false, ""}), UserError);
}

TEST(CudaNvrtc, DefaultCacheDirFollowsXdg) {
  EXPECT_FALSE(cuda::nvrtcVersion().empty());
  std::string dir = cuda::defaultCacheDir();
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg && *xdg) {
    EXPECT_EQ(dir, std::string(xdg) + "/dlc/cuda");
  } else if (home && *home) {
    EXPECT_EQ(dir, std::string(home) + "/.cache/dlc/cuda");
  }
}
#else
TEST(CudaNvrtc, NotBuilt) { GTEST_SKIP() << "dlc was built without CUDA (DLC_CUDA=OFF): NVRTC tests skipped"; }
#endif
