#!/usr/bin/env bash
# The CUDA backend's checks and benchmarks on a lent GPU machine, in one call.
# Builds nothing: build dlc here first, pack it with scripts/gpu_pack.sh (the
# stripped binaries and the few shared libraries they need, in one file that
# fits the device tool's carry; see ../shared/ARCHITECTURE.md "Toolchain
# facts"), carry its folder, then run from the repository root there:
#
#   scripts/gpu_check.sh build-gpu/dlc-gpu.tar.xz [OUT] [STAGES]
#
# (BUILD may also be a build folder whose lib/ holds those libraries.)
#
# STAGES (comma-separated, default "tests,conformance,models"; "all" for
# every one), each time-boxed (seconds, override with STAGE_TIMEOUT=N):
#   tests        nvidia-smi; the GPU unit tests (CudaDevice, CudaModel,
#                CudaTraining: they skip without a device; CudaTraining
#                checks cuda training losses against cpu)             (300 s);
#                CUDA AOT bundles built with the system cc and run against
#                the test models' outputs (tests/aot/aot_cuda_test.sh) (180 s)
#   conformance  the ONNX node conformance list on --target cuda, when the
#                test data is on the machine                          (300 s)
#   models       the real models and the demo model on --target cuda
#                (1e-4 relative), with a dlc bench of each            (300 s)
#   bench        bench/run_cuda.py: PyTorch eager / torch.compile vs dlc on
#                ResNet-18 b1/b32, MobileNetV2 b1, BERT b8, GPT b1 (needs
#                torch: python3 there has it; the models are exported on the
#                machine, ~1 min)                                     (420 s)
#   train        bench/run_cuda.py --train: one SGD step of the MLP b256 and
#                ResNet-18 b32, PyTorch vs BUILD/train_step_bench     (420 s)
#   hbm          bench/hbm_bandwidth.py: device copy bandwidth and dlc's fused
#                elementwise kernel against it (ncu)                  (240 s)
# The device tool allows 10 minutes per call: run "tests,conformance,models"
# in one call and "bench", "train,hbm" in others.
#
# Writes one log per check under WORK (default /tmp/gpu_check), then into OUT
# (default $OUT; the device tool brings back at most 8 files): results.md (the
# benchmark tables and the check list), summary.txt and logs.tar.gz (every
# log). Ends with a table of PASS/FAIL/SKIP per check; exit 1 if any failed.
# Never changes the GPU's settings.
set -u
build=${1:?usage: scripts/gpu_check.sh BUILD [OUT] [STAGES]}
out=${2:-${OUT:?set OUT or pass an output folder}}
stages=${3:-tests,conformance,models}
[ "$stages" = all ] && stages=tests,conformance,models,bench,train,hbm
for s in ${stages//,/ }; do
  case $s in tests | conformance | models | bench | train | hbm) ;; *) echo "unknown stage '$s'" >&2; exit 2 ;; esac
done
work=${WORK:-/tmp/gpu_check}
mkdir -p "$out" "$work"
out=$(cd "$out" && pwd)
if [ -f "$build" ]; then  # a pack from scripts/gpu_pack.sh
  rm -rf "$work/build" && mkdir -p "$work/build" && tar -C "$work/build" -xJf "$build" || exit 2
  build=$work/build
fi
build=$(cd "$build" && pwd)
export LD_LIBRARY_PATH="$build/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_CACHE_HOME="$work/cache"  # NVRTC disk cache: fresh on every machine
export PYTHONUNBUFFERED=1
dlc="$build/dlc"
node=/usr/share/libonnx-testdata/data/node
models_dir=${MODELS_DIR:-/tmp/dlc_bench_models}  # exported there: bench/models may not exist on the machine
results=()

want() { [[ ",$stages," == *",$1,"* ]]; }

check() {  # check NAME SECONDS COMMAND...: runs it time-boxed, logs to OUT/NAME.log, records PASS/FAIL
  local name=$1 limit=${STAGE_TIMEOUT:-$2}
  shift 2
  local start=$SECONDS rc
  timeout "$limit" "$@" >"$work/$name.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    results+=("PASS $name ($((SECONDS - start)) s)")
  elif [ $rc -eq 124 ]; then
    results+=("FAIL $name (timed out after $limit s; see $name.log)")
  else
    results+=("FAIL $name ($((SECONDS - start)) s, exit $rc; see $name.log)")
  fi
}

if want tests; then
  check nvidia-smi 30 nvidia-smi
  # The unit tests that use the device (they skip without one); the other
  # Cuda* tests run in CI and read files at paths compiled into the binary.
  check unit_tests 300 "$build/tests/dlc_unit_tests" --gtest_filter='CudaDevice.*:CudaModel.*:CudaTraining.*'
  REQUIRE_GPU=1 check aot_cuda 180 tests/aot/aot_cuda_test.sh "$dlc" "$PWD" "$work/aot_cuda"
fi
if want conformance; then
  if [ -d "$node" ]; then
    check conformance_node_cuda 300 "$dlc" conformance "$node" --target cuda --quiet \
      --expect tests/conformance/node_ref_expected.txt
  else
    results+=("SKIP conformance_node_cuda (no $node on this machine)")
  fi
fi
if want models; then
  for model in tests/models/*/ models/demo_cnn/; do
    [ -f "$model/model.onnx" ] || continue
    name=model_$(basename "$model")
    check "$name" 120 "$dlc" conformance "$model" --target cuda --rtol 1e-4 --atol 1e-6
    check "${name}_bench" 60 "$dlc" bench "$model/model.onnx" --target cuda --shape N=1 --iterations 50 --json
    "$dlc" inspect "$model/model.onnx" --target cuda --shape N=1 >"$work/${name}_inspect.txt" 2>&1
  done
fi

have_torch=0
if want bench || want train || want hbm; then
  if python3 -c 'import torch, onnx, numpy; assert torch.cuda.is_available()' >"$work/python_check.log" 2>&1; then
    have_torch=1
  fi
fi
torch_stage() {  # torch_stage NAME SECONDS SCRIPT ARGS...: a python bench, or SKIP without torch
  local name=$1
  if [ $have_torch = 0 ]; then
    results+=("SKIP $name (python3 has no torch/onnx or no GPU for it: see python_check.log; dlc-only stages ran)")
    return
  fi
  check "$@"
}
if want bench; then
  torch_stage bench_inference 420 python3 bench/run_cuda.py --dlc "$dlc" --models-dir "$models_dir" \
    --markdown-out "$work/results_inference.md" --json-out "$work/results_inference.json"
fi
if want train; then
  torch_stage bench_train 420 python3 bench/run_cuda.py --dlc "$dlc" --models-dir "$models_dir" --cases "" --train \
    --markdown-out "$work/results_train.md" --json-out "$work/results_train.json"
fi
if want hbm; then
  torch_stage bench_hbm 240 python3 bench/hbm_bandwidth.py --dlc "$dlc" --models-dir "$models_dir" \
    --markdown-out "$work/results_hbm.md"
fi

{
  echo "# gpu_check.sh $stages on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo 'no GPU')"
  for f in "$work"/results_inference.md "$work"/results_train.md "$work"/results_hbm.md; do
    [ -f "$f" ] && { echo; cat "$f"; }
  done
  echo
  printf -- '- %s\n' "${results[@]}"
} >"$out/results.md"
printf '%s\n' "${results[@]}" | tee "$out/summary.txt"
tar czf "$out/logs.tar.gz" -C "$work" --exclude=./cache .
! grep -q '^FAIL' "$out/summary.txt"
