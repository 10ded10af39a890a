#!/bin/sh
# Ahead-of-time bundles end to end (ctest aot): compiles tests/models/
# resnet_tiny and bert_tiny with `dlc compile` to each emit kind, builds C
# programs against the generated headers with the system C compiler, runs
# them and compares the outputs with the models' expected outputs (rtol
# 1e-4); links two bundles into one program; checks with nm/ldd that no
# artifact references LLVM, protobuf, ONNX or fmt; and checks that bad
# options, unsupported models and corrupt or foreign weights are errors, not
# crashes.
# usage: aot_test.sh DLC SOURCE_DIR WORK_DIR
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

for model in resnet_tiny bert_tiny; do
  model_data $model

  # --emit obj: link the object and libdlcrt.a into the example C program.
  O=$W/$model-obj
  "$DLC" compile "$M/$model/model.onnx" --target cpu -o "$O" --name $model $SHAPE
  "$CC" -O2 -Wall -Werror -DMODEL=$model -I"$O" "$RUN_C" "$O/$model.o" "$O/libdlcrt.a" -lstdc++ -lm -lpthread -ldl -o "$O/run"
  "$O/run" --threads 2 --weights "$O/$model.weights" $INS --expect $OUTS
  check_symbols "$O/$model.o"
  check_symbols "$O/libdlcrt.a"
  check_symbols "$O/run"
  check_libraries "$O/run"

  # --emit shared with embedded weights: the same program against lib$model.so.
  S=$W/$model-so
  "$DLC" compile "$M/$model/model.onnx" --target cpu -o "$S" --name $model $SHAPE --emit shared --embed-weights
  [ ! -e "$S/$model.weights" ] || fail "--embed-weights wrote a weights file"
  "$CC" -O2 -Wall -Werror -DMODEL=$model -I"$S" "$RUN_C" -L"$S" -l$model -Wl,-rpath,"$S" -lm -o "$S/run"
  "$S/run" --threads 2 $INS --expect $OUTS
  check_symbols "$S/lib$model.so"
  check_libraries "$S/lib$model.so"
  found=$(nm -D --defined-only "$S/lib$model.so" | awk '{print $3}' | grep -vE "^(${model}_|dlcrt_)" || true)
  [ -z "$found" ] || fail "lib$model.so exports symbols other than ${model}_* and dlcrt_*: $found"

  # --emit exe: outputs written in the ONNX backend-test layout next to the
  # model and its inputs, then checked by `dlc conformance` against the
  # reference interpreter; --bench prints a latency.
  E=$W/$model-exe
  "$DLC" compile "$M/$model/model.onnx" --target cpu -o "$E" --name $model $SHAPE --emit exe
  C=$W/$model-conformance
  mkdir -p "$C/test_data_set_0"
  cp "$M/$model/model.onnx" "$C/"
  cp $INS "$C/test_data_set_0/"
  "$E/$model" --threads 2 --pb -o "$C/test_data_set_0" --bench 3 $INS | tee "$W/bench.txt"
  grep -q "median" "$W/bench.txt" || fail "--bench printed no median"
  "$DLC" conformance "$C" --target ref --rtol 1e-4 --atol 1e-5
  "$E/$model" --threads 2 -o "$E/npy" $INS
  [ -s "$E/npy/$( [ $model = resnet_tiny ] && echo logits || echo hidden ).npy" ] || fail "no .npy output"
  check_symbols "$E/$model"
  check_libraries "$E/$model"
done

# Cross-targeting: AVX2 code (x86-64-v3) runs here too.
X=$W/v3
"$DLC" compile "$M/bert_tiny/model.onnx" --target cpu -o "$X" --name bert --cpu x86-64-v3
grep -q "x86-64-v3" "$X/bert.h" || fail "the header does not name the target CPU"
"$CC" -O2 -DMODEL=bert -I"$X" "$RUN_C" "$X/bert.o" "$X/libdlcrt.a" -lstdc++ -lm -lpthread -ldl -o "$X/run"
D=$M/bert_tiny/test_data_set_0
"$X/run" --weights "$X/bert.weights" "$D/input_0.pb" "$D/input_1.pb" --expect "$D/output_0.pb" "$D/output_1.pb"

# Two models in one program: symbol prefixes keep them apart.
T=$W/two
"$DLC" compile "$M/resnet_tiny/model.onnx" --target cpu -o "$T" --name a --shape input=2x3x64x64
"$DLC" compile "$M/bert_tiny/model.onnx" --target cpu -o "$T" --name b --embed-weights
"$CC" -O2 -Wall -Werror -I"$T" "$SRC/tests/aot/two_models.c" "$T/a.o" "$T/b.o" "$T/libdlcrt.a" -lstdc++ -lm -lpthread -ldl \
  -o "$T/two_models"
"$T/two_models" "$T/a.weights" "$M/resnet_tiny/test_data_set_0" "$M/bert_tiny/test_data_set_0"

# Errors.
R=$W/resnet_tiny-obj
RUN="$R/run $M/resnet_tiny/test_data_set_0/input_0.pb"
head -c 1000 "$R/resnet_tiny.weights" >"$W/truncated.weights"
expect_error "truncated weights" "weights blob is 936 bytes" $RUN --weights "$W/truncated.weights"
cp "$R/resnet_tiny.weights" "$W/flipped.weights"
printf '\377' | dd of="$W/flipped.weights" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_error "corrupt weights" "checksum" $RUN --weights "$W/flipped.weights"
expect_error "another model's weights" "do not belong" $RUN --weights "$W/bert_tiny-obj/bert_tiny.weights"
expect_error "missing weights" "cannot open weights file" $RUN --weights "$W/none.weights"
expect_error "wrong input file" "expected" $R/run "$M/bert_tiny/test_data_set_0/input_0.pb" --weights "$R/resnet_tiny.weights"
expect_error "symbolic dims" "input 'input' has symbolic dims" "$DLC" compile "$M/resnet_tiny/model.onnx" -o "$W/x"
expect_error "library steps" "LSTM" "$DLC" compile "$M/lstm_tiny/model.onnx" -o "$W/x"
expect_error "bad name" "not a C identifier" "$DLC" compile "$M/bert_tiny/model.onnx" -o "$W/x" --name 9lives
expect_error "bad emit" "expected obj, shared or exe" "$DLC" compile "$M/bert_tiny/model.onnx" -o "$W/x" --emit dll
expect_error "bad target" "expected cpu or cuda" "$DLC" compile "$M/bert_tiny/model.onnx" -o "$W/x" --target tpu
expect_error "unknown cpu" "unknown CPU" "$DLC" compile "$M/bert_tiny/model.onnx" -o "$W/x" --cpu pentium9
expect_error "no output folder" "missing -o" "$DLC" compile "$M/bert_tiny/model.onnx"

# The ctypes example, when a plain python3 is there (it needs no numpy).
if command -v python3 >/dev/null 2>&1; then
  python3 "$SRC/examples/aot/ctypes_example.py" "$W/bert_tiny-so/libbert_tiny.so" bert_tiny | tee "$W/ctypes.txt"
  grep -q "output logits: shape \[2, 3\]" "$W/ctypes.txt" || fail "the ctypes example printed no logits"
fi

echo "libdlcrt.a: $(wc -c <"$R/libdlcrt.a") bytes ($(strip --strip-debug -o "$W/stripped.a" "$R/libdlcrt.a" && wc -c <"$W/stripped.a") without debug info)"
echo "aot: all checks passed"
