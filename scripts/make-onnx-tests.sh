#!/usr/bin/env bash
# Makes the onnx wheel's backend tests for `dlc conformance`: every node test
# of onnx.backend.test.case.node and the model-zoo 'light' models, in the
# ONNX backend-test layout, in OUT (default build/onnx-tests):
#   OUT/node/<test>/, OUT/light/<test>/   (scripts/make_onnx_tests.py)
# The wheel comes from PyPI into the project's .venv (made if missing; the
# pinned onnx and numpy installed only if missing). Safe to re-run: when OUT
# was made from the same wheel by the same generator, nothing is redone.
# Exits non-zero, saying why, when the wheel cannot be installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/onnx-tests}
venv=$root/.venv
python=$venv/bin/python
onnx_version=1.23.2
numpy_version=2.4.6  # installed only where numpy is missing: the cases draw from numpy's legacy generator, whose stream every version keeps

fail() {
  echo "make-onnx-tests: $*" >&2
  exit 1
}

have_wheel() {
  [ -x "$python" ] && "$python" -c "import numpy, onnx, sys; sys.exit(onnx.__version__ != '$onnx_version')" 2>/dev/null
}

if ! have_wheel; then
  if [ ! -x "$python" ]; then
    echo "make-onnx-tests: making $venv"
    python3 -m venv "$venv" || fail "cannot make a virtual environment in $venv (on Debian: apt-get install python3-venv)"
  fi
  packages=("onnx==$onnx_version")
  "$python" -c "import numpy" 2>/dev/null || packages+=("numpy==$numpy_version")
  echo "make-onnx-tests: installing ${packages[*]} from PyPI into $venv"
  "$python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" ||
    fail "cannot install ${packages[*]} from PyPI; the onnx $onnx_version tests need them"
  have_wheel || fail "onnx $onnx_version is still not importable from $python"
fi

# OUT is replaced below: refuse a folder this script did not make (a typo
# such as `build` must not delete a build tree).
if [ -e "$out" ] && [ ! -f "$out/STAMP" ]; then
  fail "$out exists and was not made by this script (no $out/STAMP); give a new folder or remove it yourself"
fi

generator=$root/scripts/make_onnx_tests.py
stamp="onnx $onnx_version, generator $(sha256sum "$generator" | cut -c1-16)"
if [ -f "$out/STAMP" ] && [ "$(cat "$out/STAMP")" = "$stamp" ]; then
  echo "make-onnx-tests: $out is up to date ($stamp)"
  exit 0
fi
# Written next to OUT and moved into place, so that an interrupted run
# leaves no half-made folder that looks complete.
rm -rf "$out.partial"
mkdir -p "$(dirname "$out")"
"$python" "$generator" "$out.partial"
echo "$stamp" >"$out.partial/STAMP"
rm -rf "$out"
mv "$out.partial" "$out"
echo "make-onnx-tests: wrote $out ($stamp)"
