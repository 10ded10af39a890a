/* Runs a model compiled with `dlc compile` from C, and optionally checks its
 * outputs against expected ones.
 *
 *   dlc compile model.onnx --target cpu -o out --name mymodel     (or --target cuda)
 *   cc -O2 -DMODEL=mymodel -Iout examples/aot/run_model.c out/mymodel.o out/libdlcrt.a -lstdc++ -lm -lpthread -ldl
 *   ./a.out --weights out/mymodel.weights input_0.pb [--expect output_0.pb ...]
 *
 * --threads N sets a CPU bundle's worker threads, --device N a CUDA
 * bundle's device (the same NAME_create argument).
 *
 * With --shared, it calls the same entry points from out/libmymodel.so
 * (link with -Lout -lmymodel instead of the .o). Inputs and expected outputs
 * are .npy or ONNX TensorProto .pb files, in the model's input/output order.
 * Exit status: 0 when every output matches (|got - want| <= atol + rtol *
 * |want|), 1 otherwise or on any error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#include STR(MODEL.h)

static double element(const dlcrt_tensor_info* info, const void* data, int64_t i) {
  switch (info->dtype) {
    case DLCRT_DTYPE_F32: return ((const float*)data)[i];
    case DLCRT_DTYPE_F64: return ((const double*)data)[i];
    case DLCRT_DTYPE_I32: return ((const int32_t*)data)[i];
    case DLCRT_DTYPE_I64: return (double)((const int64_t*)data)[i];
    case DLCRT_DTYPE_U8:
    case DLCRT_DTYPE_BOOL: return ((const uint8_t*)data)[i];
    default: return NAN;
  }
}

int main(int argc, char** argv) {
  const char* weights = NULL;
  const char* inputs[16];
  const char* expected[16];
  int numInputs = 0, numExpected = 0, threads = 0, device = 0, expecting = 0;
  double rtol = 1e-4, atol = 1e-5;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--rtol") && i + 1 < argc) rtol = atof(argv[++i]);
    else if (!strcmp(argv[i], "--atol") && i + 1 < argc) atol = atof(argv[++i]);
    else if (!strcmp(argv[i], "--expect")) expecting = 1;
    else if (expecting && numExpected < 16) expected[numExpected++] = argv[i];
    else if (!expecting && numInputs < 16) inputs[numInputs++] = argv[i];
  }

  CAT(MODEL, _model)* model = NULL;
  int cuda = CAT(MODEL, _bundle).device == DLCRT_DEVICE_CUDA;
  if (CAT(MODEL, _create)(weights, cuda ? device : threads, &model) != DLCRT_OK) {
    fprintf(stderr, "error: %s\n", CAT(MODEL, _last_error)());
    return 1;
  }
  printf("running on %s\n", dlcrt_model_description(model));
  size_t nin = dlcrt_model_num_inputs(model), nout = dlcrt_model_num_outputs(model);
  if ((size_t)numInputs != nin || (numExpected != 0 && (size_t)numExpected != nout)) {
    fprintf(stderr, "error: the model has %zu inputs and %zu outputs\n", nin, nout);
    return 1;
  }
  const void* in[16];
  void* out[16];
  dlcrt_tensor_info outInfo[16];
  for (size_t i = 0; i < nin; ++i) {
    dlcrt_tensor_info info;
    dlcrt_model_input(model, i, &info);
    void* data = malloc((size_t)info.num_bytes + 1);
    if (dlcrt_read_tensor(inputs[i], &info, data) != DLCRT_OK) {
      fprintf(stderr, "error: %s\n", dlcrt_last_error());
      return 1;
    }
    in[i] = data;
  }
  for (size_t i = 0; i < nout; ++i) {
    dlcrt_model_output(model, i, &outInfo[i]);
    out[i] = calloc(1, (size_t)outInfo[i].num_bytes + 1);
  }
  if (CAT(MODEL, _run_arrays)(model, in, out) != DLCRT_OK) {
    fprintf(stderr, "error: %s\n", CAT(MODEL, _last_error)());
    return 1;
  }
  int failures = 0;
  for (size_t i = 0; i < nout; ++i) {
    const dlcrt_tensor_info* info = &outInfo[i];
    printf("%s: %lld elements, first %g\n", info->name, (long long)info->num_elements, element(info, out[i], 0));
    if (numExpected == 0) continue;
    void* want = malloc((size_t)info->num_bytes + 1);
    if (dlcrt_read_tensor(expected[i], info, want) != DLCRT_OK) {
      fprintf(stderr, "error: %s\n", dlcrt_last_error());
      return 1;
    }
    double worst = 0;
    for (int64_t k = 0; k < info->num_elements; ++k) {
      double g = element(info, out[i], k), w = element(info, want, k);
      double excess = fabs(g - w) - (atol + rtol * fabs(w));
      if (!(excess <= 0)) {
        if (failures < 5) fprintf(stderr, "%s[%lld] = %g, expected %g\n", info->name, (long long)k, g, w);
        ++failures;
      }
      if (fabs(g - w) > worst) worst = fabs(g - w);
    }
    printf("%s: max abs difference %g\n", info->name, worst);
    free(want);
  }
  CAT(MODEL, _destroy)(model);
  if (failures) fprintf(stderr, "%d elements differ beyond rtol %g, atol %g\n", failures, rtol, atol);
  else if (numExpected) printf("all outputs match (rtol %g, atol %g)\n", rtol, atol);
  return failures ? 1 : 0;
}
