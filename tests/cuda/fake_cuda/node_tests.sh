#!/usr/bin/env bash
# ONNX node tests (the list that must pass on the reference) through the
# CUDA backend on the fake device: each test's program from `dlc inspect
# --target cuda --cuda-source`, emulated on the host by fake_cuda_emulate,
# then `dlc conformance --target cuda`. Programs without kernels (cuBLAS,
# copies and host calls only) need no emulation.
# Usage: node_tests.sh DLC FAKE_CUDA_EMULATE FAKE_LIB_DIR NODE_DIR EXPECTED_LIST [EVERY]
# EVERY N runs every Nth test of the list (ctest: a sample; 1: all 872, about
# 5 minutes on 2 cores).
set -uo pipefail
dlc=$1 emulate=$2 fake=$3 node=$4 list=$5 every=${6:-1}
source "$(dirname "$0")/../../cli/expect.sh"
export XDG_CACHE_HOME=$tmp/cache LD_LIBRARY_PATH=$fake${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
unset DLC_FAKE_CUDA_PROGRAM
for t in $(grep -v '^#' "$list" | awk -v n="$every" 'NR % n == 0'); do
  d=$node/$t
  [ -f "$d/model.onnx" ] || continue
  "$dlc" inspect "$d/model.onnx" --target cuda --cuda-source >"$tmp/$t.txt" 2>&1
  program=()
  if grep -q '__global__' "$tmp/$t.txt"; then
    expect 0 "" -- "$emulate" "$tmp/$t.txt" "$tmp/$t.so"
    program=(DLC_FAKE_CUDA_PROGRAM="$tmp/$t.so")
  fi
  expect 0 "1 passed, 0 failed" -- env "${program[@]}" "$dlc" conformance "$d" --target cuda
done
echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
