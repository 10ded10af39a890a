#!/bin/sh
# CUDA bundles end to end (ctest aot_cuda): `dlc compile --target cuda`
# compiles tests/models/resnet_tiny and bert_tiny to each emit kind (NVRTC
# needs no GPU); C programs are built against the generated headers with the
# system C compiler; nm/ldd show that no artifact references LLVM,
# protobuf, ONNX or fmt, nor links any CUDA library (libdlcrt dlopens the
# driver and cuBLAS); the object holds a cubin per --arch plus PTX.
# Runs: with a CUDA device the outputs must match the models' expected
# outputs (rtol 1e-4); without one every program must fail cleanly (exit 1,
# "no CUDA device"), unless REQUIRE_GPU=1 (scripts/gpu_check.sh), which makes
# that a failure.
# usage: aot_cuda_test.sh DLC SOURCE_DIR WORK_DIR
set -eu
DLC=$1
SRC=$2
W=$3
CC=${CC:-cc}
M=$SRC/tests/models
RUN_C=$SRC/examples/aot/run_model.c
rm -rf "$W"
mkdir -p "$W"

. "$SRC/tests/aot/checks.sh"

# No CUDA library in a program's dependencies: it must start without one.
check_no_cuda_link() {
  found=$(ldd "$1" | grep -Ei "libcuda|cublas|nvrtc|cudart" || true)
  [ -z "$found" ] || fail "$1 links a CUDA library (it must dlopen them): $found"
}

# `run_or_no_device WHAT command...`: with a CUDA device the command must
# succeed; without one it must fail with exit status 1 and "no CUDA device".
run_or_no_device() {
  what=$1
  shift
  status=0
  "$@" >"$W/out.txt" 2>"$W/err.txt" || status=$?
  if [ "$status" -eq 0 ]; then
    echo "ok: $what ran on the GPU"
  elif [ "$status" -eq 1 ] && grep -q "no CUDA device" "$W/err.txt" && [ "${REQUIRE_GPU:-0}" != 1 ]; then
    echo "ok: $what: no GPU here, refused cleanly: $(grep "no CUDA device" "$W/err.txt" | head -1)"
  else
    cat "$W/out.txt" "$W/err.txt" >&2
    fail "$what: exit status $status"
  fi
}

for model in resnet_tiny bert_tiny; do
  model_data $model

  # --emit obj: the example C program linked with the object and libdlcrt.a.
  O=$W/$model-obj
  "$DLC" compile "$M/$model/model.onnx" --target cuda -o "$O" --name $model $SHAPE
  grep -q "_DEVICE DLCRT_DEVICE_CUDA" "$O/$model.h" || fail "$model.h does not say CUDA"
  grep -q "int device" "$O/$model.h" || fail "${model}_create does not take a device"
  grep -q "sm_80, sm_90, compute_80" "$O/$model.h" || fail "$model.h does not list the images"
  grep -q "__global__" "$O/$model.cu" || fail "no CUDA source written"
  images=$(nm "$O/$model.o" | grep -c " ${model}_gpu[0-9][0-9]*_image$" || true)
  [ "$images" -eq 3 ] || fail "$model.o holds $images GPU images, expected 3 (2 cubins + PTX)"
  "$CC" -O2 -Wall -Werror -DMODEL=$model -I"$O" "$RUN_C" "$O/$model.o" "$O/libdlcrt.a" -lstdc++ -lm -lpthread -ldl \
    -o "$O/run"
  run_or_no_device "$model (obj)" "$O/run" --weights "$O/$model.weights" $INS --expect $OUTS
  for f in "$O/$model.o" "$O/libdlcrt.a" "$O/run"; do check_symbols "$f"; done
  check_libraries "$O/run"
  check_no_cuda_link "$O/run"

  # --emit shared, embedded weights, one arch.
  S=$W/$model-so
  "$DLC" compile "$M/$model/model.onnx" --target cuda -o "$S" --name $model $SHAPE --emit shared --embed-weights \
    --arch sm_90
  grep -q "sm_90, compute_90" "$S/$model.h" || fail "--arch sm_90: $model.h lists other images"
  "$CC" -O2 -Wall -Werror -DMODEL=$model -I"$S" "$RUN_C" -L"$S" -l$model -Wl,-rpath,"$S" -lm -o "$S/run"
  run_or_no_device "$model (shared)" "$S/run" $INS --expect $OUTS
  check_symbols "$S/lib$model.so"
  check_libraries "$S/lib$model.so"
  check_no_cuda_link "$S/lib$model.so"

  # --emit exe.
  E=$W/$model-exe
  "$DLC" compile "$M/$model/model.onnx" --target cuda -o "$E" --name $model $SHAPE --emit exe --embed-weights
  run_or_no_device "$model (exe)" "$E/$model" --device 0 -o "$E/out" --bench 3 $INS
  check_symbols "$E/$model"
  check_no_cuda_link "$E/$model"
done

# Errors.
expect_error "bad arch" "expected sm_XX" "$DLC" compile "$M/bert_tiny/model.onnx" -o "$W/x" --target cuda --arch gfx90a
expect_error "cpu option for cuda" "--cpu is for --target cpu" \
  "$DLC" compile "$M/bert_tiny/model.onnx" -o "$W/x" --target cuda --cpu x86-64-v3
expect_error "arch option for cpu" "--arch is for --target cuda" \
  "$DLC" compile "$M/bert_tiny/model.onnx" -o "$W/x" --arch sm_90
expect_error "library steps" "LSTM" "$DLC" compile "$M/lstm_tiny/model.onnx" -o "$W/x" --target cuda
expect_error "CUDA bundle, negative device" "negative device" "$W/bert_tiny-obj/run" --device -1 \
  --weights "$W/bert_tiny-obj/bert_tiny.weights" "$M/bert_tiny/test_data_set_0/input_0.pb" \
  "$M/bert_tiny/test_data_set_0/input_1.pb"
expect_error "CUDA bundle, CPU weights" "do not belong" "$W/bert_tiny-obj/run" \
  --weights "$W/resnet_tiny-obj/resnet_tiny.weights" "$M/bert_tiny/test_data_set_0/input_0.pb" \
  "$M/bert_tiny/test_data_set_0/input_1.pb"

echo "libdlcrt.a with CUDA: $(wc -c <"$W/bert_tiny-obj/libdlcrt.a") bytes"
echo "aot_cuda: all checks passed"
