// The im2col kernel of a convolution on the GPU, in kernel IR (so that it is
// emitted, emulated and tested like every other kernel): the column matrix
// the GEMMs of runtime/cuda/blas_gemm.h's planConv read,
//   col[n][g][kd][oy * OW + ox] = x[n][g * IC/g + c][iy][ix], or 0 in the padding,
// with kd = (c * KH + ky) * KW + kx, iy = oy * strideH - padTop + ky * dilationH
// (ix likewise). Buffers: 0 = x (read), 1 = col (written).
#pragma once

#include "codegen/kernel/kernel_ir.h"
#include "runtime/conv.h"

namespace dlc::codegen::cuda {

kir::Kernel im2colKernel(const runtime::ConvShape& shape, const std::string& name);

}  // namespace dlc::codegen::cuda
