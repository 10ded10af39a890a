// The on-disk form of a ProgramSpec (runtime/program_spec.h) in an AOT
// bundle: two blobs, each a 64-byte header (magic, format version, payload
// size, FNV-1a checksum) and a payload.
//  - spec ("DLCSPEC1"): the steps, kernel names, inputs/outputs, constants'
//    types and their offsets in the weights payload, and the size and
//    checksum of the weights payload it was written with.
//  - weights ("DLCWGHT1"): the constants' bytes, each at a 64-byte aligned
//    offset of the payload (the blob is 64-byte aligned in memory, so the
//    payload is too).
// Reading checks every size, count and offset before use, so a truncated or
// corrupt blob (or weights from another compile) is a UserError, never a
// crash. Integers are little-endian.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/program_spec.h"

namespace dlc::runtime {

// 2: convolution weights as a buffer reference (not only a constant),
// ConvTranspose steps. 3: GPU launch shapes, the im2col kernel of a
// convolution and the col2im kernel of a ConvTranspose, the element type of
// a GEMM (CUDA bundles). 4: cuBLASLt epilogue flags. 5: blocked (NCHWc)
// convolution steps and their micro-kernels in the kernel table.
inline constexpr uint32_t kSpecFormatVersion = 5;
inline constexpr size_t kBlobHeaderBytes = 64;

struct SerializedSpec {
  std::vector<uint8_t> spec;
  std::vector<uint8_t> weights;
};

// Every constant must have its data. Library steps are refused (UserError).
SerializedSpec serializeSpec(const ProgramSpec& spec);

// Parses `spec` and binds the constants into `weights` (which must stay
// alive: `weightsOwner` is kept in ProgramSpec::storage). `weights` must be
// 64-byte aligned.
ProgramSpec deserializeSpec(std::span<const uint8_t> spec, std::span<const uint8_t> weights,
                            std::shared_ptr<const void> weightsOwner);

}  // namespace dlc::runtime
