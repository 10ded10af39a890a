#!/bin/sh
# The AOT artifact's latency against the JIT's on the same model, inputs,
# thread count and CPU: `dlc compile --emit exe` then the executable's
# --bench N, and `dlc bench --target cpu` with N iterations, alternating
# ROUNDS times (the machine may be shared: compare medians of the rounds).
# usage: bench/aot_vs_jit.sh [-t THREADS] [-n ITERATIONS] [-r ROUNDS] MODEL_DIR...
#   MODEL_DIR holds model.onnx and one <input name>.npy per input (the layout
#   of bench/export_models.py; e.g. bench/models/resnet18_b1).
set -eu
DLC=${DLC:-build/dlc}
THREADS=1
N=20
ROUNDS=3
while getopts t:n:r: opt; do
  case $opt in
    t) THREADS=$OPTARG ;;
    n) N=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    *) exit 1 ;;
  esac
done
shift $((OPTIND - 1))
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo "| model | threads | JIT median ms (dlc bench) | AOT median ms (exe --bench) | AOT / JIT |"
echo "|---|---|---|---|---|"
for dir in "$@"; do
  name=$(basename "$dir" | tr -c 'A-Za-z0-9_\n' '_')
  "$DLC" compile "$dir/model.onnx" --target cpu -o "$W/$name" --name "m_$name" --emit exe >/dev/null
  # Inputs in the model's order, from the generated header.
  files=""
  dlc_inputs=""
  for input in $(sed -n "s|^/\* input '\(.*\)':.*|\1|p" "$W/$name/m_$name.h"); do
    files="$files $dir/$input.npy"
    dlc_inputs="$dlc_inputs --input $input=$dir/$input.npy"
  done
  jit=""
  aot=""
  for round in $(seq "$ROUNDS"); do
    j=$("$DLC" bench "$dir/model.onnx" --target cpu --threads "$THREADS" --iterations "$N" --warmup 1 --json $dlc_inputs |
      sed -n 's/.*"median_ms": *\([0-9.]*\).*/\1/p')
    a=$("$W/$name/m_$name" --threads "$THREADS" --bench "$N" -o "$W/out" $files | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    jit="$jit $j"
    aot="$aot $a"
  done
  median() { echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
  mj=$(median $jit)
  ma=$(median $aot)
  echo "| $(basename "$dir") | $THREADS | $mj (rounds:$jit) | $ma (rounds:$aot) | $(awk "BEGIN {printf \"%.3f\", $ma / $mj}") |"
done
