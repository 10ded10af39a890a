// A compiled CPU program as plain data: what codegen/cpu plans from a graph
// before any machine code exists. The JIT path compiles the spec's kernels
// in-process and instantiates the steps (runtime/steps.h) from it; an AOT
// bundle carries the same spec serialised (runtime/spec_format.h) next to the
// kernels compiled into an object file, and libdlcrt instantiates the same
// steps from it. Kernels are referred to by index into the kernel table;
// constants by index into `constants`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "runtime/conv.h"
#include "runtime/conv_blocked.h"
#include "runtime/gemm.h"
#include "runtime/kernel.h"
#include "runtime/program.h"

namespace dlc::runtime {

// Where a buffer lives: like BufferRef, with constants by index.
struct SpecRef {
  enum class Space : uint8_t { Arena, Input, Output, Constant };
  Space space = Space::Arena;
  int64_t index = 0;  // Arena: byte offset; Input/Output/Constant: index
};

// An input or output. dtype is the numeric value of ir::DType (the C API's
// DLCRT_DTYPE_* codes are the same numbers).
struct TensorSpec {
  std::string name;
  uint8_t dtype = 0;
  std::vector<int64_t> shape;
};

// Constant data (weights). `data` is borrowed: from the graph on the JIT
// path, from the weights blob (ProgramSpec::storage) for a loaded bundle.
struct ConstantSpec {
  TensorSpec type;
  int64_t bytes = 0;
  const void* data = nullptr;
};

struct KernelStepSpec {
  uint32_t kernel = 0;
  std::vector<SpecRef> buffers;
  int64_t extent0 = 0, extent1 = 0, minPointsPerTile = 1;
  bool hasStatus = false;  // an i64 status word the kernel sets on bad data
  SpecRef status;
  std::string statusMessage;
};

inline constexpr int32_t kNone = -1;

// GemmStepSpec::ltEpilogue flags.
inline constexpr uint8_t kLtNone = 0, kLtRelu = 1, kLtBias = 2, kLtResidual = 4;

struct GemmStepSpec {
  GemmArgs shape;  // sizes and strides only (pointers unset)
  // The element types (ir::DType codes) of A and B, and of C: f32; in GPU
  // programs A and B may be f16 or bf16 (cuBLAS accumulates in f32), with C
  // of the same type, or f32 when the epilogue rounds it (pointwise_kernel.h,
  // anchorResultStorage).
  uint8_t dtype = 1, cDtype = 1;
  SpecRef a, b, c;
  int32_t packA = kNone, packB = kNone;  // constant index packed once instead of a / b
  int32_t epilogue = kNone;             // kernel index
  std::vector<SpecRef> epilogueBuffers;
  // GPU programs: the epilogue when cuBLASLt can compute it inside the GEMM,
  // C = relu?(alpha * A B + bias + residual) with `bias` an f32 vector over
  // C's columns (N of them) and `residual` an f32 matrix laid out as C. Set
  // only where that is the whole epilogue (f32, one batch, C the only
  // result); the runner then skips the `epilogue` kernel when cuBLASLt has
  // an algorithm for it, and runs it otherwise (the same result up to
  // rounding). The CPU runtime always runs the kernel.
  uint8_t ltEpilogue = kLtNone;  // kLt* flags
  float ltAlpha = 1.0f;
  SpecRef ltBias;      // with kLtBias
  SpecRef ltResidual;  // with kLtResidual
};

struct ConvStepSpec {
  ConvShape shape;
  SpecRef x, y;
  // [OC, IC/g, KH, KW]: a constant is packed once at instantiation; any other
  // buffer (a parameter of a training graph, a gradient) is read at each run.
  SpecRef weights{SpecRef::Space::Constant, 0};
  int32_t epilogue = kNone;
  std::vector<SpecRef> epilogueBuffers;
  // Element types as for GemmStepSpec: x and the weights, and y (the raw
  // convolution); half only in GPU programs.
  uint8_t dtype = 1, cDtype = 1;
  // GPU programs: the kernel that writes the im2col matrix into the run's
  // convolution scratch (kNone for a pointwise convolution, and on the CPU,
  // which packs the input itself).
  int32_t im2col = kNone;
};

// y = ConvTranspose(x, weights) + bias, the adjoint of the convolution
// `shape`: x is shaped as that convolution's output [N, OC, OH, OW], y as its
// input [N, IC, H, W], the weights [OC, IC/g, KH, KW] are the ConvTranspose
// operand as it is. Per image and group a GEMM cols = W^T x x
// (convTransposeGroupGemm) writes
// [IC*KH*KW, OH*OW] into `scratch` (arena bytes: columnBytes(shape)), then a
// gather (col2im) sums into each y element the columns that map to it.
struct ConvTransposeStepSpec {
  ConvShape shape;
  SpecRef x, y, weights{SpecRef::Space::Constant, 0};
  bool hasBias = false;
  SpecRef bias;  // [IC]
  SpecRef scratch;
  // GPU programs: the col2im kernel (buffers: the columns, y, and the bias
  // when there is one); kNone on the CPU, whose runtime gathers itself.
  int32_t col2im = kNone;
};

// y = BlockedConv(x, weights), dense, by blockedConv2d (the CPU's NCHWc
// convolution; x, y and the weights laid out as the IR op says). `tiles`
// gives the micro-kernel of every tile convTilesUsed(shape, main) lists: a
// kernel table index whose name is that tile's ConvMicroKernelShape::name().
struct BlockedConvTileSpec {
  ConvTile tile;
  uint32_t kernel = 0;
};
struct BlockedConvStepSpec {
  BlockedConvShape shape;
  ConvTile main;
  std::vector<BlockedConvTileSpec> tiles;
  SpecRef x, y, weights{SpecRef::Space::Constant, 0};
  // An epilogue the micro-kernels apply in registers (bias, residual, clip),
  // and/or an epilogue kernel over y viewed as [N * OCb, OH * OW * B].
  ConvPostOps post;
  SpecRef postBias, postResidual;  // with their flags: [OCb * B] and laid out as y
  int32_t epilogue = kNone;
  std::vector<SpecRef> epilogueBuffers;
};

struct CopyStepSpec {
  SpecRef from, to;
  int64_t bytes = 0;
};

// An op without a compiled lowering, run by its reference kernel: needs the
// IR, so only the JIT can instantiate it (index into codegen's own table).
struct LibraryStepSpec {
  uint32_t index = 0;
  std::string node;  // the node and op, for errors
};

struct StepSpec {
  std::variant<KernelStepSpec, GemmStepSpec, ConvStepSpec, ConvTransposeStepSpec, BlockedConvStepSpec, CopyStepSpec,
               LibraryStepSpec>
      op;
  std::string what;  // describe() of the step
};

// How a GPU kernel is launched: `blocks` of `threads`, enough for one
// thread (or cooperating row group) per point; 0 blocks: an empty iteration
// space, no launch. The runner may launch fewer blocks (the kernels loop
// grid-stride over the rest), never other `threads` (cooperative row kernels
// are compiled for exactly that block size).
struct GpuLaunchSpec {
  int64_t blocks = 0;
  uint32_t threads = 0;
};

struct ProgramSpec {
  // The kernel table, in index order: kernel-IR kernels (runtime::KernelFn)
  // and convolution micro-kernels (ConvMicroKernelFn, named by their shape).
  std::vector<std::string> kernelNames;
  // GPU programs: one per kernel of the table; empty for CPU programs.
  std::vector<GpuLaunchSpec> launches;
  std::vector<StepSpec> steps;
  std::vector<ConstantSpec> constants;
  std::vector<TensorSpec> inputs, outputs;
  int64_t arenaBytes = 0;
  std::vector<std::string> describeLines;  // one per step and per view, for `dlc inspect`
  std::string target;                      // what the kernels were compiled for
  std::shared_ptr<const void> storage;     // keeps constant data alive (loaded bundles)
};

// The machine code for a spec's kernel table.
struct CompiledKernels {
  // In the order of ProgramSpec::kernelNames; convolution micro-kernels are
  // stored cast to KernelFn and cast back by their step.
  std::vector<KernelFn> kernels;
  GemmMicroKernel microKernel;
  std::shared_ptr<const void> owner;  // keeps the code alive (the JIT)
};

using LibraryStepFactory = std::function<std::unique_ptr<Step>(const LibraryStepSpec&)>;

int64_t dtypeBytes(uint8_t dtype);  // 0 for an unknown code
int64_t elementCount(const std::vector<int64_t>& shape);
int64_t tensorBytes(const TensorSpec& t);

// Checks every index, offset and size the steps use against the spec and
// against `numKernels`; a UserError names the first inconsistency.
void validate(const ProgramSpec& spec, size_t numKernels);

// Resolves a spec reference (Constant -> the constant's data).
BufferRef bind(const ProgramSpec& spec, SpecRef ref);

// Builds the runtime program: validates, packs constant GEMM operands and
// convolution weights for the micro-kernel, binds kernels. Library steps
// need `library` (a UserError naming the node otherwise).
Program instantiate(const ProgramSpec& spec, const CompiledKernels& code, const LibraryStepFactory& library = {});

}  // namespace dlc::runtime
