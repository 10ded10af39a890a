#!/usr/bin/env bash
# The CUDA backend's checks on a lent GPU machine, in one call. Build dlc
# here first (the binaries carry the few shared libraries they need in
# BUILD/lib, see ../shared/ARCHITECTURE.md "Toolchain facts"), carry BUILD,
# then run from the repository root there:
#
#   scripts/gpu_check.sh BUILD [OUT]
#
# Runs nvidia-smi, the GPU unit tests (the Cuda* gtests: they skip without a
# device), the ONNX node conformance list on --target cuda, the real models
# and the demo model on --target cuda, and writes one log per check under
# OUT (default $OUT). Ends with a table of PASS/FAIL per check; exit 1 if
# any failed. Never changes the GPU's settings.
set -u
build=${1:?usage: scripts/gpu_check.sh BUILD [OUT]}
out=${2:-${OUT:?set OUT or pass an output folder}}
mkdir -p "$out"
export LD_LIBRARY_PATH="$build/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_CACHE_HOME="$out/cache"  # NVRTC disk cache: fresh on every machine
dlc="$build/dlc"
node=/usr/share/libonnx-testdata/data/node
results=()

check() {  # check NAME COMMAND...: runs it, logs to OUT/NAME.log, records PASS/FAIL
  local name=$1
  shift
  local start=$SECONDS
  if "$@" >"$out/$name.log" 2>&1; then
    results+=("PASS $name ($((SECONDS - start)) s)")
  else
    results+=("FAIL $name ($((SECONDS - start)) s, exit $?; see $name.log)")
  fi
}

check nvidia-smi nvidia-smi
check unit_tests "$build/tests/dlc_unit_tests" --gtest_filter='Cuda*'
if [ -d "$node" ]; then
  check conformance_node_cuda "$dlc" conformance "$node" --target cuda --quiet \
    --expect tests/conformance/node_ref_expected.txt
else
  results+=("SKIP conformance_node_cuda (no $node on this machine)")
fi
for model in tests/models/*/ models/demo_cnn/; do
  [ -f "$model/model.onnx" ] || continue
  name=model_$(basename "$model")
  check "$name" "$dlc" conformance "$model" --target cuda --rtol 1e-4 --atol 1e-6
  check "${name}_bench" "$dlc" bench "$model/model.onnx" --target cuda --shape N=1 --iterations 50 --json
  "$dlc" inspect "$model/model.onnx" --target cuda --shape N=1 >"$out/${name}_inspect.txt" 2>&1
done

printf '%s\n' "${results[@]}" | tee "$out/summary.txt"
! grep -q '^FAIL' "$out/summary.txt"
