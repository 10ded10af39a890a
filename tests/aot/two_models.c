/* Two AOT bundles in one program: resnet_tiny compiled with --name a and
 * bert_tiny with --name b (weights embedded), linked with one libdlcrt.a.
 * Calls each through its typed entry point and checks the outputs against
 * the models' expected outputs (rtol 1e-4).
 * usage: two_models A_WEIGHTS RESNET_DIR BERT_DIR (the models' test folders) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a.h"
#include "b.h"

static int failures = 0;

static void* load(const char* dir, const char* file, const dlcrt_tensor_info* info) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  void* data = malloc((size_t)info->num_bytes);
  if (dlcrt_read_tensor(path, info, data) != DLCRT_OK) {
    fprintf(stderr, "error: %s\n", dlcrt_last_error());
    exit(1);
  }
  return data;
}

static dlcrt_tensor_info info(const char* name, int dtype, int rank, const int64_t* shape) {
  dlcrt_tensor_info t;
  memset(&t, 0, sizeof t);
  t.name = name;
  t.dtype = dtype;
  t.rank = rank;
  t.num_elements = 1;
  for (int i = 0; i < rank; ++i) t.shape[i] = shape[i], t.num_elements *= shape[i];
  t.num_bytes = t.num_elements * (dtype == DLCRT_DTYPE_I64 ? 8 : 4);
  return t;
}

static void compare(const char* what, const float* got, const float* want, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!(fabsf(got[i] - want[i]) <= 1e-5f + 1e-4f * fabsf(want[i]))) {
      if (failures++ < 5) fprintf(stderr, "%s[%lld] = %g, expected %g\n", what, (long long)i, got[i], want[i]);
    }
  printf("%s: %lld values checked\n", what, (long long)n);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s A_WEIGHTS RESNET_TEST_DIR BERT_TEST_DIR\n", argv[0]);
    return 1;
  }
  a_model* ma = NULL;
  b_model* mb = NULL;
  if (a_create(argv[1], 2, &ma) != DLCRT_OK) return fprintf(stderr, "a: %s\n", a_last_error()), 1;
  if (b_create(NULL, 2, &mb) != DLCRT_OK) return fprintf(stderr, "b: %s\n", b_last_error()), 1;

  dlcrt_tensor_info ti = info("input", A_INPUT_DTYPE, A_INPUT_RANK, a_input_shape);
  dlcrt_tensor_info to = info("logits", A_LOGITS_DTYPE, A_LOGITS_RANK, a_logits_shape);
  float* image = load(argv[2], "input_0.pb", &ti);
  float* expected = load(argv[2], "output_0.pb", &to);
  float logits[A_LOGITS_SIZE];
  if (a_run(ma, image, logits) != DLCRT_OK) return fprintf(stderr, "a: %s\n", a_last_error()), 1;
  compare("a.logits", logits, expected, A_LOGITS_SIZE);

  dlcrt_tensor_info bi0 = info("input_ids", B_INPUT_IDS_DTYPE, B_INPUT_IDS_RANK, b_input_ids_shape);
  dlcrt_tensor_info bi1 = info("attention_mask", B_ATTENTION_MASK_DTYPE, B_ATTENTION_MASK_RANK, b_attention_mask_shape);
  dlcrt_tensor_info bo0 = info("hidden", B_HIDDEN_DTYPE, B_HIDDEN_RANK, b_hidden_shape);
  dlcrt_tensor_info bo1 = info("logits", B_LOGITS_DTYPE, B_LOGITS_RANK, b_logits_shape);
  int64_t* ids = load(argv[3], "input_0.pb", &bi0);
  int64_t* mask = load(argv[3], "input_1.pb", &bi1);
  float* wantHidden = load(argv[3], "output_0.pb", &bo0);
  float* wantLogits = load(argv[3], "output_1.pb", &bo1);
  float hidden[B_HIDDEN_SIZE], blogits[B_LOGITS_SIZE];
  if (b_run(mb, ids, mask, hidden, blogits) != DLCRT_OK) return fprintf(stderr, "b: %s\n", b_last_error()), 1;
  compare("b.hidden", hidden, wantHidden, B_HIDDEN_SIZE);
  compare("b.logits", blogits, wantLogits, B_LOGITS_SIZE);

  a_destroy(ma);
  b_destroy(mb);
  free(image), free(expected), free(ids), free(mask), free(wantHidden), free(wantLogits);
  if (failures) fprintf(stderr, "%d values differ\n", failures);
  return failures ? 1 : 0;
}
