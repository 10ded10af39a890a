/* libdlcrt: the runtime that dlc's ahead-of-time bundles link against.
 *
 * A bundle (`dlc compile MODEL.onnx --target cpu|cuda -o DIR --name NAME`) is
 * an object file holding the compiled kernels (CPU machine code, or GPU
 * images: cubins and PTX), the program (a serialised ProgramSpec) and
 * optionally the weights, described by one dlcrt_bundle global; DIR/NAME.h
 * declares the typed entry points NAME_create / NAME_run / NAME_destroy built
 * on the functions here. libdlcrt is plain C++ with a C ABI: no LLVM,
 * protobuf, ONNX or fmt; it needs libstdc++, libm and pthreads. CUDA bundles
 * load the CUDA driver (libcuda.so.1) and cuBLAS with dlopen when a model is
 * created: nothing CUDA is needed to link or start a program.
 *
 * Conventions: functions return a dlcrt_status (0 = DLCRT_OK); on failure
 * dlcrt_last_error() returns a message for the calling thread (valid until
 * its next dlcrt call). No C++ exception crosses this boundary. A model may
 * be run from several threads at once (each run uses its own scratch arena).
 */
#ifndef DLC_RUNTIME_H
#define DLC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI of dlcrt_bundle and the functions below; a bundle records the
 * version it was compiled for, and libdlcrt refuses another one. */
#define DLCRT_ABI_VERSION 2

typedef enum dlcrt_status {
  DLCRT_OK = 0,
  DLCRT_INVALID_ARGUMENT = 1, /* a null pointer, a wrong count, an unknown index */
  DLCRT_INVALID_BUNDLE = 2,   /* corrupt, truncated or mismatched program or weights */
  DLCRT_IO_ERROR = 3,         /* a file could not be read or written */
  DLCRT_RUN_ERROR = 4,        /* the model refused its input data (e.g. an index out of range) */
  DLCRT_OUT_OF_MEMORY = 5,
  DLCRT_INTERNAL_ERROR = 6
} dlcrt_status;

/* Element types (the numbering of dlc's IR). */
typedef enum dlcrt_dtype {
  DLCRT_DTYPE_F32 = 1,
  DLCRT_DTYPE_F64 = 2,
  DLCRT_DTYPE_F16 = 3,
  DLCRT_DTYPE_BF16 = 4,
  DLCRT_DTYPE_I8 = 5,
  DLCRT_DTYPE_I16 = 6,
  DLCRT_DTYPE_I32 = 7,
  DLCRT_DTYPE_I64 = 8,
  DLCRT_DTYPE_U8 = 9,
  DLCRT_DTYPE_U16 = 10,
  DLCRT_DTYPE_U32 = 11,
  DLCRT_DTYPE_U64 = 12,
  DLCRT_DTYPE_BOOL = 13
} dlcrt_dtype;

#define DLCRT_MAX_RANK 8

/* A compiled kernel: runs the tile range {begin0, end0, begin1, end1}. */
typedef void (*dlcrt_kernel_fn)(void* const* buffers, const int64_t* range);

/* Where a bundle's kernels run. */
typedef enum dlcrt_device {
  DLCRT_DEVICE_CPU = 0,
  DLCRT_DEVICE_CUDA = 1
} dlcrt_device;

/* A GPU image of a CUDA bundle: a cubin for arch "sm_XX", or PTX text for
 * "compute_XX" (compiled by the driver for newer GPUs). */
typedef struct dlcrt_gpu_image {
  const char* arch;
  const uint8_t* data;
  uint64_t size;
} dlcrt_gpu_image;

/* What a bundle's object file defines (as NAME_bundle); filled in by dlc. */
typedef struct dlcrt_bundle {
  uint32_t abi_version;       /* DLCRT_ABI_VERSION */
  uint32_t num_kernels;
  const uint8_t* spec;        /* the serialised program */
  uint64_t spec_size;
  const uint8_t* weights;     /* embedded weights (64-byte aligned), or NULL: a weights file */
  uint64_t weights_size;
  const dlcrt_kernel_fn* kernels;
  int32_t gemm_mr, gemm_nr;   /* the GEMM micro-kernel's tile */
  void* gemm_micro_kernel;
  void* gemm_row_kernel;
  const char* name;           /* --name */
  const char* target;         /* what the kernels were compiled for */
  uint32_t device;            /* dlcrt_device */
  uint32_t num_gpu_images;    /* CUDA bundles: the kernels as GPU images */
  const dlcrt_gpu_image* gpu_images;
} dlcrt_bundle;

typedef struct dlcrt_model dlcrt_model;

typedef struct dlcrt_tensor_info {
  const char* name;
  int32_t dtype; /* dlcrt_dtype */
  int32_t rank;
  int64_t shape[DLCRT_MAX_RANK];
  int64_t num_elements;
  int64_t num_bytes;
} dlcrt_tensor_info;

uint32_t dlcrt_abi_version(void);

/* Loads a bundle's program, its weights (from weights_path, or the embedded
 * ones when weights_path is NULL), checks them, packs the GEMM weights and
 * starts num_threads workers (0: one per core). A CUDA bundle runs on device
 * 0 (num_threads is unused): see dlcrt_model_create_cuda. */
dlcrt_status dlcrt_model_create(const dlcrt_bundle* bundle, const char* weights_path, int num_threads,
                                dlcrt_model** out);
/* A CUDA bundle on CUDA device `device`: loads the driver and cuBLAS, picks
 * the bundle's image for the device's arch (its own cubin, else a
 * compatible one, else PTX), copies the weights to the device. Fails with
 * DLCRT_RUN_ERROR "no CUDA device: ..." when there is no driver or device,
 * and with DLCRT_INVALID_BUNDLE when no image fits the device. Runs take host
 * buffers (copied to and from the device) and may come from several threads
 * at once. */
dlcrt_status dlcrt_model_create_cuda(const dlcrt_bundle* bundle, const char* weights_path, int device,
                                     dlcrt_model** out);
/* What the model runs on, e.g. "cpu: znver4, ..." or
 * "cuda: NVIDIA H100 (sm_90), cubin sm_90". */
const char* dlcrt_model_description(const dlcrt_model* model);
/* inputs[i] / outputs[i] point to dense row-major tensors of the types and
 * shapes given by dlcrt_model_input / dlcrt_model_output. */
dlcrt_status dlcrt_model_run(dlcrt_model* model, const void* const* inputs, size_t num_inputs,
                             void* const* outputs, size_t num_outputs);
void dlcrt_model_destroy(dlcrt_model* model);

size_t dlcrt_model_num_inputs(const dlcrt_model* model);
size_t dlcrt_model_num_outputs(const dlcrt_model* model);
dlcrt_status dlcrt_model_input(const dlcrt_model* model, size_t index, dlcrt_tensor_info* info);
dlcrt_status dlcrt_model_output(const dlcrt_model* model, size_t index, dlcrt_tensor_info* info);

const char* dlcrt_last_error(void);

/* Tensor files: .npy, or ONNX TensorProto .pb (by the file's extension).
 * Reading checks that the file holds exactly the dtype and shape of `info`. */
dlcrt_status dlcrt_read_tensor(const char* path, const dlcrt_tensor_info* info, void* data);
dlcrt_status dlcrt_write_tensor(const char* path, const dlcrt_tensor_info* info, const void* data);

/* The main() of `dlc compile --emit exe`: `NAME [--threads N] [--device N]
 * [--weights FILE] [-o DIR] [--pb] [--bench N] INPUT...` reads one file per
 * model input (in order), runs (CPU bundles on N threads, CUDA bundles on
 * device N), writes DIR/<output>.npy (or DIR/output_<i>.pb with --pb), and
 * with --bench N prints the median latency of N runs. */
int dlcrt_main(const dlcrt_bundle* bundle, int argc, char** argv);

#ifdef __cplusplus
}
#endif

#endif /* DLC_RUNTIME_H */
