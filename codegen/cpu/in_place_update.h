// Outputs written over inputs ("donated" inputs, like XLA's input/output
// aliasing): a training step reads each parameter `p` and returns `p.next`;
// when the caller passes p's own buffer for p.next, the update kernel
// overwrites the parameter instead of filling a fresh buffer.
//
// That is safe only when the kernel producing the output reads the input
// element it overwrites and nothing else: an elementwise kernel, or the
// elementwise epilogue of a fused GEMM / convolution / row reduction whose
// anchor does not read the input, reading the input with the output's exact
// type, so element i is read before element i is written; and when no later
// step reads the input, directly or through a view.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "codegen/cpu/cpu_model.h"
#include "ir/graph.h"

namespace dlc::codegen::cpu {

// Rewrites the scheduled graph so that the pairs can be honoured: a fused
// anchor whose raw result would sit in an in-place output's buffer gets that
// result as an output of its own; a producer whose results nothing in the
// graph reads moves to just after the last reader of the inputs it
// overwrites. Unknown names are ignored here (checked by the caller).
void prepareInPlaceUpdates(ir::Graph& graph, const InPlacePairs& pairs);

// For each pair, whether the scheduled graph can write that output over that
// input (see above); a pair whose names are not an output and an input of
// the graph gets false.
std::vector<bool> inPlaceSafety(const ir::Graph& graph, const InPlacePairs& pairs);

}  // namespace dlc::codegen::cpu
