// Turns a specialised, optimised graph (every shape static) into a program:
// planProgram chooses how each node runs and plans memory, producing a
// target-neutral ProgramSpec plus the kernels to compile; buildProgram then
// JIT-compiles the kernels and instantiates the runtime steps from the spec
// (AOT compiles the same kernels into an object file instead). Internal to
// codegen/cpu.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codegen/cpu/cpu_model.h"
#include "codegen/kernel/kernel_ir.h"
#include "ir/graph.h"
#include "passes/memory_plan.h"
#include "runtime/program.h"
#include "runtime/program_spec.h"

namespace dlc::codegen::cpu {

// A node run by its reference kernel (runtime::LibraryStepSpec::index
// indexes these); points into the planned graph.
struct LibraryCall {
  const ir::Node* node = nullptr;
  std::string reason;
  std::vector<std::optional<runtime::SpecRef>> inputs;  // nullopt: absent operand
  std::vector<runtime::SpecRef> outputs;
  std::vector<std::pair<const ir::Value*, runtime::SpecRef>> outer;  // values its subgraphs read
};

struct PlannedProgram {
  runtime::ProgramSpec spec;  // constants point into the graph
  // What the kernel table spec.kernelNames holds: kernel-IR kernels and the
  // convolution micro-kernels of blocked convolution steps (named by
  // ConvMicroKernelShape::name(); none in GPU programs, where the kernels
  // are 1:1 with the table).
  std::vector<kir::Kernel> kernels;
  std::vector<runtime::ConvMicroKernelShape> convKernels;
  std::vector<LibraryCall> libraryCalls;
  MemoryReport memory;
};

// Plans a graph whose shapes are all static (InternalError otherwise). The
// graph must outlive the plan.
struct PlanOptions {
  // GEMMs and convolutions with f16 or bf16 operands (GPUs run them on
  // cuBLAS); the CPU's micro-kernels are f32 only, so there they are library
  // calls.
  bool halfGemms = false;
  // GEMM epilogues that are a bias, a residual and/or ReLU also as cuBLASLt epilogue flags
  // (runtime::GemmStepSpec::ltEpilogue; GPU programs).
  bool gemmLtEpilogues = false;
};

PlannedProgram planProgram(const ir::Graph& graph, const PlanOptions& options = {});

class CompiledVariant {
 public:
  ir::Graph graph;  // the specialised graph; library steps point into it
  runtime::Program program;
  MemoryReport memory;
  std::vector<std::string> stepLines;  // one per step, for describe()
  std::string target;                  // the JIT's target description
  // Set when the graph has shapes that depend on data: the variant runs on
  // the reference interpreter, and describe() says so.
  bool interpreted = false;
  std::string interpretedReason;
  double compileMs = 0;
  std::vector<std::vector<int64_t>> outputShapes;
  // Per output: the input it may be written over (CpuOptions::inPlace pairs
  // that are safe in this schedule), or -1.
  std::vector<int> inPlaceInput;
  std::vector<std::string> inPlaceLines;  // for describe(): which pairs are honoured and which are copied
};

std::unique_ptr<CompiledVariant> buildProgram(ir::Graph graph, const CpuOptions& options);

// The first value whose shape is not static, or nullptr.
const ir::Value* firstDynamicValue(const ir::Graph& g);

}  // namespace dlc::codegen::cpu
