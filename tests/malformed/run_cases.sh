#!/usr/bin/env bash
# Runs the malformed-model corpus: every line of cases.txt is
#   NAME | dlc ARGUMENTS | PART OF THE EXPECTED MESSAGE
# run from this folder; each must exit with 1 (a user error, never a crash
# or an internal error), print the message part, and print no sanitizer
# report. Every model file here must be used by some case.
# Usage: run_cases.sh path/to/dlc path/to/tests/malformed
set -uo pipefail
dlc=$(realpath "$1")
cd "$2" || exit 1
failures=0
passes=0
used=""
while IFS='|' read -r name args want; do
  name=$(echo "$name" | sed 's/^ *//; s/ *$//')
  [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
  args=$(echo "$args" | sed 's/^ *//; s/ *$//')
  want=$(echo "$want" | sed 's/^ *//; s/ *$//')
  used="$used $args"
  # shellcheck disable=SC2086  # the arguments are split on purpose
  out=$(timeout 60 "$dlc" $args 2>&1)
  rc=$?
  if [ "$rc" -ne 1 ] || ! grep -qF -- "$want" <<<"$out" || grep -qE "Sanitizer|runtime error:" <<<"$out"; then
    echo "FAIL: $name: dlc $args -> exit $rc (want 1), output:"
    sed 's/^/    /' <<<"$out" | head -20
    echo "    (wanted: $want)"
    failures=$((failures + 1))
  else
    passes=$((passes + 1))
  fi
done <cases.txt
for f in $(find . -name '*.onnx' | sed 's|^\./||' | sort); do
  if ! grep -qF " $f" <<<" $used"; then
    echo "FAIL: $f is used by no case in cases.txt"
    failures=$((failures + 1))
  fi
done
echo "$passes passed, $failures failed"
[ "$passes" -ge 40 ] || { echo "FAIL: fewer than 40 cases ran"; exit 1; }
[ "$failures" -eq 0 ]
