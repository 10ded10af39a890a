#!/usr/bin/env bash
# `dlc run --target cuda` on the fake CUDA device (tests/cuda/fake_cuda)
# matches `dlc run --target ref`: the program from `dlc inspect --target cuda
# --cuda-source`, emulated on the host by fake_cuda_emulate, is what the fake
# driver runs in place of the NVRTC image; `dlc bench --target cuda` runs
# too. Without DLC_FAKE_CUDA_PROGRAM the run fails and says why.
# Usage: cli_run_test.sh path/to/dlc path/to/fake_cuda_emulate FAKE_LIB_DIR MODEL_DIR
set -uo pipefail
dlc=$1 emulate=$2 fake=$3 model=$4/model.onnx
source "$(dirname "$0")/../../cli/expect.sh"
export XDG_CACHE_HOME=$tmp/cache  # dlc's NVRTC disk cache
fakeenv=(env -u DLC_FAKE_CUDA_PROGRAM "LD_LIBRARY_PATH=$fake${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")

expect 0 "extern \"C\" __global__" -- "$dlc" inspect "$model" --target cuda --cuda-source --shape N=2
"$dlc" inspect "$model" --target cuda --cuda-source --shape N=2 >"$tmp/inspect.txt"
expect 0 "" -- "$emulate" "$tmp/inspect.txt" "$tmp/program.so"
expect 2 "DLC_FAKE_CUDA_PROGRAM is not set" -- "${fakeenv[@]}" "$dlc" run "$model" --target cuda --shape N=2
expect 0 "" -- "$dlc" run "$model" --target ref --shape N=2 --seed 3 --output-dir "$tmp/ref"
expect 0 "" -- "${fakeenv[@]}" DLC_FAKE_CUDA_PROGRAM="$tmp/program.so" \
  "$dlc" run "$model" --target cuda --shape N=2 --seed 3 --output-dir "$tmp/cuda"
# dlc bench: device-resident runs (inputs uploaded once) and host transfers.
for how in "" --host-transfers; do
  expect 0 "latency over 2 runs" -- "${fakeenv[@]}" DLC_FAKE_CUDA_PROGRAM="$tmp/program.so" \
    "$dlc" bench "$model" --target cuda --shape N=2 --iterations 2 --warmup 1 $how
done

# Every output, element by element (numpy-free: the .npy header, then
# little-endian f32 or i64 data).
compare=$(python3 - "$tmp/ref" "$tmp/cuda" <<'PY'
import array, ast, os, sys
def load(path):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[8:10], "little")
    header = ast.literal_eval(data[10:10 + n].decode())
    a = array.array({"<f4": "f", "<i8": "q", "<f8": "d"}[header["descr"]])
    a.frombytes(data[10 + n:])
    return header["shape"], a
names = sorted(os.listdir(sys.argv[1]))
if not names or names != sorted(os.listdir(sys.argv[2])):
    print("different outputs:", names, sorted(os.listdir(sys.argv[2]))); sys.exit(1)
for name in names:
    (s1, a), (s2, b) = load(os.path.join(sys.argv[1], name)), load(os.path.join(sys.argv[2], name))
    if s1 != s2 or len(a) != len(b):
        print(name, "shapes differ:", s1, s2); sys.exit(1)
    worst = max((abs(x - y) - 1e-5 - 1e-4 * abs(x) for x, y in zip(a, b)), default=-1)
    if worst > 0:
        print(name, "differs by", worst, "beyond rtol 1e-4, atol 1e-5"); sys.exit(1)
print("same", len(names), "outputs")
PY
)
if [[ $compare == same* ]]; then passes=$((passes + 1)); else echo "FAIL: cuda vs ref: $compare"; failures=$((failures + 1)); fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
