#!/usr/bin/env bash
# Command-line behaviour of `dlc`: help, exit codes (0 ok, 1 user error,
# 2 internal error) and error messages. Usage: cli_test.sh path/to/dlc
set -uo pipefail
dlc=$1
node=/usr/share/libonnx-testdata/data/node
source "$(dirname "$0")/expect.sh"

expect 0 "usage: dlc" -- "$dlc" --help
expect 1 "usage: dlc" -- "$dlc"
expect 1 "unknown command 'frobnicate'" -- "$dlc" frobnicate
expect 0 "LLVM 19\.[0-9.]+ \(linked statically\)" -- "$dlc" version
if ldd "$dlc" | grep -qi llvm; then echo "FAIL: dlc links a shared libLLVM"; failures=$((failures + 1)); else passes=$((passes + 1)); fi
for cmd in inspect run bench conformance version; do
  expect 0 "usage: dlc $cmd" -- "$dlc" $cmd --help
done
expect 1 "unknown option --bogus" -- "$dlc" inspect --bogus x.onnx

# Files that are missing, empty, truncated or garbage: exit 1 with a clear message.
expect 1 "is not a readable file" -- "$dlc" inspect "$tmp/missing.onnx"
: >"$tmp/empty.onnx"
expect 1 "no graph|not a valid ONNX model" -- "$dlc" inspect "$tmp/empty.onnx"
head -c 57 "$node/test_add/model.onnx" >"$tmp/truncated.onnx"
expect 1 "not a valid ONNX model" -- "$dlc" inspect "$tmp/truncated.onnx"
printf 'this is not a protobuf \x01\x02\x03\xff\xfe' >"$tmp/garbage.onnx"
expect 1 "not a valid ONNX model" -- "$dlc" inspect "$tmp/garbage.onnx"

# inspect on a real model.
expect 0 "inputs:" -- "$dlc" inspect "$node/test_add/model.onnx"
expect 0 "Add +1" -- "$dlc" inspect "$node/test_add/model.onnx"
expect 0 "graph @" -- "$dlc" inspect "$node/test_add/model.onnx" --ir

# run: random inputs, file inputs, output files, bad input names and shapes.
expect 0 "f32\[3,4,5\]" -- "$dlc" run "$node/test_add/model.onnx"
expect 0 "sum" -- "$dlc" run "$node/test_add/model.onnx" \
  --input "x=$node/test_add/test_data_set_0/input_0.pb" --input "y=$node/test_add/test_data_set_0/input_1.pb" \
  --output-dir "$tmp/out"
if [ -f "$tmp/out/sum.npy" ]; then passes=$((passes + 1)); else
  echo "FAIL: --output-dir did not write sum.npy"; failures=$((failures + 1)); fi
expect 1 "'nope' is not an input of the model; its inputs are: x, y" -- \
  "$dlc" run "$node/test_add/model.onnx" --input "nope=random"
expect 1 "input 'x' has shape \[3,4,5\], expected \[4,5\]|expected" -- \
  "$dlc" run "$node/test_add_bcast/model.onnx" --input "x=$node/test_add/test_data_set_0/input_0.pb" \
  --input "y=$node/test_add/test_data_set_0/input_0.pb"
expect 1 "unknown target 'tpu'" -- "$dlc" run "$node/test_add/model.onnx" --target tpu

# run on a real exported model, optimised, printing the IR after a pass.
expect 0 "// IR after constant-folding" -- "$dlc" run "$(dirname "$0")/../models/bert_tiny/model.onnx" \
  --optimize --print-after constant-folding
expect 1 "unknown pass 'nope'" -- "$dlc" run "$node/test_add/model.onnx" --print-after nope

# conformance on one folder, with --json.
expect 0 "1 passed, 0 failed" -- "$dlc" conformance "$node/test_add"
expect 0 '"passed": 1, "failed": 0, "unsupported": 0' -- "$dlc" conformance "$node/test_add" --json
# A failing test (Add's model, Sub's expected output) exits 1, unless --expect
# does not list it.
cp -r "$node/test_add" "$tmp/test_add_wrong"
cp "$node/test_sub/test_data_set_0/output_0.pb" "$tmp/test_add_wrong/test_data_set_0/output_0.pb"
expect 1 "0 passed, 1 failed" -- "$dlc" conformance "$tmp/test_add_wrong"
expect 1 "0 passed, 1 failed" -- "$dlc" conformance "$tmp/test_add_wrong" --target cpu
echo "test_add" >"$tmp/expect_other.txt"
expect 0 "0 passed, 1 failed" -- "$dlc" conformance "$tmp/test_add_wrong" --expect "$tmp/expect_other.txt" --filter wrong
echo "test_add_wrong" >"$tmp/expect_it.txt"
expect 1 "1 expected passes regressed: test_add_wrong" -- "$dlc" conformance "$tmp/test_add_wrong" --expect "$tmp/expect_it.txt"

# bench: one JSON object with the timing keys; statistics; bad options.
demo=$(dirname "$0")/../../models/demo_cnn/model.onnx
json=$("$dlc" bench "$demo" --target ref --iterations 3 --json 2>&1)
for key in model target threads compile_ms first_run_ms median_ms p90_ms min_ms mean_ms iterations; do
  if grep -Eq "\"$key\": " <<<"$json"; then passes=$((passes + 1)); else
    echo "FAIL: dlc bench --json lacks \"$key\": $json"; failures=$((failures + 1)); fi
done
if [ "$(wc -l <<<"$json")" -eq 1 ] && grep -Eq '^\{.*\}$' <<<"$json"; then passes=$((passes + 1)); else
  echo "FAIL: dlc bench --json is not one JSON object on one line: $json"; failures=$((failures + 1)); fi
expect 0 '"target": "ref", "threads": 3, .*"iterations": 3, "min_ms": [0-9]+\.[0-9]+, "median_ms": [0-9]+\.[0-9]+' -- \
  "$dlc" bench "$demo" --target ref --threads 3 --iterations 3 --warmup 0 --json
expect 0 "latency over 4 runs after 1 warm-up: min [0-9.]+ ms, median [0-9.]+ ms, p90 [0-9.]+ ms" -- \
  "$dlc" bench "$demo" --target ref --iterations 4 --warmup 1
# --min-time well above one run: a ref run of the demo model took 81 ms in
# the -O0 sanitizer build on a slow machine (0.05 s then gave 1 run).
expect 0 '"iterations": ([2-9]|[1-9][0-9]+),' -- "$dlc" bench "$demo" --target ref --iterations 1 --min-time 0.5 --warmup 0 --json
expect 0 '"optimize": false' -- "$dlc" bench "$demo" --target ref --iterations 1 --no-optimize --json
# --profile: each step's median and minimum over the runs, then the time by kind.
expect 0 "per-step median time over 3 runs" -- "$dlc" bench "$demo" --target cpu --iterations 3 --profile
expect 0 "%  \(min [0-9.]+\)  node '" -- "$dlc" bench "$demo" --target cpu --iterations 3 --profile
expect 0 "blocked conv 3x3 \(1 steps\)" -- "$dlc" bench "$demo" --target cpu --iterations 3 --profile
"$dlc" bench "$demo" --target ref --iterations 1 --output-dir "$tmp/bench_out" >/dev/null 2>&1
if [ -f "$tmp/bench_out/probabilities.npy" ]; then passes=$((passes + 1)); else
  echo "FAIL: dlc bench --output-dir did not write probabilities.npy"; failures=$((failures + 1)); fi
"$dlc" bench "$demo" --target ref --iterations 1 --shape input=4x1x28x28 --output-dir "$tmp/bench_shape" >/dev/null 2>&1
if grep -aq "'shape': (4, 10)" "$tmp/bench_shape/probabilities.npy" 2>/dev/null; then passes=$((passes + 1)); else
  echo "FAIL: dlc bench --shape input=4x1x28x28 did not give a [4,10] output"; failures=$((failures + 1)); fi
expect 1 "dim 1 of input 'input' is 1 in the model \(f32\[N,1,28,28\]\), got 2" -- \
  "$dlc" bench "$demo" --target ref --shape input=4x2x28x28
expect 1 "input 'input' has rank 4 \(f32\[N,1,28,28\]\), got 3 dims" -- "$dlc" bench "$demo" --shape input=4x1x28
expect 1 "symbol 'N' of input 'input' is bound to both 3 and 2" -- \
  "$dlc" bench "$demo" --shape N=3 --shape input=2x1x28x28
expect 1 "--iterations must be at least 1, got 0" -- "$dlc" bench "$demo" --iterations 0
expect 1 "--threads must be between 0 \(all cores\) and 4096, got -2" -- "$dlc" bench "$demo" --threads -2
expect 1 "--warmup must be 0 or more" -- "$dlc" bench "$demo" --warmup -1
expect 1 "--min-time expects a number, got 'soon'" -- "$dlc" bench "$demo" --min-time soon
expect 1 "unknown target 'tpu'" -- "$dlc" bench "$demo" --target tpu
expect 1 "'nope' is not an input of the model" -- "$dlc" bench "$demo" --target ref --input nope=random
expect 1 "expected one model file" -- "$dlc" bench
expect 1 "is not a readable file" -- "$dlc" bench "$tmp/missing.onnx" --target ref
# --precision: cuda only, and only these three.
expect 1 "--precision fp16 is for --target cuda" -- "$dlc" run "$demo" --target cpu --precision fp16
expect 1 "--precision fp8: expected fp32, fp16 or bf16" -- "$dlc" bench "$demo" --target cuda --precision fp8
expect 0 "GEMM 1x10x32 with fused epilogue \[alpha/beta/C Cast\]" -- "$dlc" inspect "$demo" --target cuda --precision bf16 --shape N=1
# --attention-fusion: by default on for cuda, off for cpu; either can be asked for.
bert=$(dirname "$0")/../models/bert_tiny/model.onnx
expect 0 "\[MatMul Add Softmax MatMul\]" -- "$dlc" inspect "$bert" --target cuda --shape N=2
expect 0 "\[MatMul Add Softmax MatMul\]" -- "$dlc" inspect "$bert" --target cpu --shape N=2 --attention-fusion on
for off in "--target cpu" "--target cuda --attention-fusion off"; do
  # shellcheck disable=SC2086
  if "$dlc" inspect "$bert" $off --shape N=2 | grep -q "Softmax MatMul\]"; then
    echo "FAIL: an attention kernel with $off"
    failures=$((failures + 1))
  else
    passes=$((passes + 1))
  fi
done
expect 0 "hidden" -- "$dlc" run "$bert" --target cpu --attention-fusion on --shape N=2
expect 1 "--attention-fusion maybe: expected on or off" -- "$dlc" run "$demo" --target cpu --attention-fusion maybe

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
