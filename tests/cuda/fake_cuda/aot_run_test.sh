#!/usr/bin/env bash
# CUDA bundles (`dlc compile --target cuda`) run on the fake CUDA device
# (tests/cuda/fake_cuda): libdlcrt's CUDA path (image selection, the
# program runner, cuBLAS, graphs) end to end without a GPU, against the
# models' expected outputs. The bundle's own .cu, emulated on the host by
# fake_cuda_emulate, is what the fake driver runs in place of the cubin.
# Usage: aot_run_test.sh path/to/dlc path/to/fake_cuda_emulate FAKE_LIB_DIR SOURCE_DIR
set -uo pipefail
dlc=$1 emulate=$2 fake=$3 src=$4
source "$src/tests/cli/expect.sh"
models=$src/tests/models
export XDG_CACHE_HOME=$tmp/cache
fakeenv=(env "LD_LIBRARY_PATH=$fake${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")

for model in resnet_tiny bert_tiny; do
  d=$models/$model/test_data_set_0
  if [ $model = resnet_tiny ]; then shape=(--shape N=2) ins=("$d/input_0.pb") outs=("$d/output_0.pb")
  else shape=() ins=("$d/input_0.pb" "$d/input_1.pb") outs=("$d/output_0.pb" "$d/output_1.pb"); fi
  o=$tmp/$model
  expect 0 "compiled" -- "$dlc" compile "$models/$model/model.onnx" --target cuda -o "$o" --name $model "${shape[@]}"
  expect 0 "" -- cc -O2 -DMODEL=$model -I"$o" "$src/examples/aot/run_model.c" "$o/$model.o" "$o/libdlcrt.a" \
    -lstdc++ -lm -lpthread -ldl -o "$o/run"
  expect 0 "" -- "$emulate" "$o/$model.cu" "$o/emulation.so"
  expect 0 "all outputs match" -- "${fakeenv[@]}" DLC_FAKE_CUDA_PROGRAM="$o/emulation.so" \
    "$o/run" --weights "$o/$model.weights" "${ins[@]}" --expect "${outs[@]}"
done
# Another model's emulation is refused by the fake (its kernels differ).
expect 1 "exactly the image's" -- "${fakeenv[@]}" DLC_FAKE_CUDA_PROGRAM="$tmp/resnet_tiny/emulation.so" \
  "$tmp/bert_tiny/run" --weights "$tmp/bert_tiny/bert_tiny.weights" "$models/bert_tiny/test_data_set_0/input_0.pb" \
  "$models/bert_tiny/test_data_set_0/input_1.pb"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
