// Turns a specialised, optimised graph (every shape static) into a runtime
// Program: chooses how each node runs, plans memory, JIT-compiles the
// kernels. Internal to codegen/cpu.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "codegen/cpu/cpu_model.h"
#include "ir/graph.h"
#include "passes/memory_plan.h"
#include "runtime/program.h"

namespace dlc::codegen::cpu {

class JitProgram;

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
};

std::unique_ptr<CompiledVariant> buildProgram(ir::Graph graph, const CpuOptions& options);

}  // namespace dlc::codegen::cpu
