// The im2col kernel of a convolution (and the col2im gather of a
// ConvTranspose) on the GPU, in kernel IR (so that it is
// emitted, emulated and tested like every other kernel): the column matrix
// the GEMMs of runtime/cuda/blas_gemm.h's planConv read,
//   col[n][g][kd][oy * OW + ox] = x[n][g * IC/g + c][iy][ix], or 0 in the padding,
// with kd = (c * KH + ky) * KW + kx, iy = oy * strideH - padTop + ky * dilationH
// (ix likewise). Buffers: 0 = x (read), 1 = col (written).
#pragma once

#include "codegen/kernel/kernel_ir.h"
#include "runtime/conv.h"

namespace dlc::codegen::cuda {

kir::Kernel im2colKernel(const runtime::ConvShape& shape, const std::string& name,
                         ir::DType dtype = ir::DType::F32);  // of x and col (f32, f16 or bf16)

// The col2im gather of a ConvTranspose, the adjoint of the convolution
// `shape` (runtime/conv.h, convTranspose2d): one thread per output element
// y[n][ic][h][w] = bias[ic] + the sum, over (kh, kw) in order, of
// cols[n][ic][kh * KW + kw][oh * OW + ow] for the (oh, ow) whose window
// position lands on (h, w) -- the CPU's summation order, so results agree
// bit for bit. Buffers: 0 = cols (read), 1 = y (written), 2 = bias (read,
// when hasBias).
kir::Kernel col2imKernel(const runtime::ConvShape& shape, bool hasBias, const std::string& name);

}  // namespace dlc::codegen::cuda
