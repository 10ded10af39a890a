# Shared by the AOT test scripts (sourced; they set W, the work folder).

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# No LLVM, protobuf, ONNX or fmt symbols in an object, archive or binary.
check_symbols() {
  found=$(nm -C "$1" 2>/dev/null | grep -E "llvm::|LLVM|google::protobuf|onnx::|fmt::v[0-9]+::" | head -5)
  [ -z "$found" ] || fail "$1 references LLVM, protobuf, ONNX or fmt symbols: $found"
}
# No LLVM, protobuf, ONNX or fmt shared libraries.
check_libraries() {
  found=$(ldd "$1" | grep -Ei "llvm|protobuf|onnx|fmt" || true)
  [ -z "$found" ] || fail "$1 links LLVM, protobuf, ONNX or fmt: $found"
}
# `expect_error WHAT PATTERN command...`: exit status 1 and PATTERN in stderr.
expect_error() {
  what=$1
  pattern=$2
  shift 2
  status=0
  "$@" >"$W/out.txt" 2>"$W/err.txt" || status=$?
  [ "$status" -eq 1 ] || { cat "$W/err.txt" >&2; fail "$what: exit status $status, expected 1"; }
  grep -q -- "$pattern" "$W/err.txt" || { cat "$W/err.txt" >&2; fail "$what: no '$pattern' in the error"; }
  echo "ok: $what: $(head -1 "$W/err.txt")"
}

# `model_data NAME` (resnet_tiny or bert_tiny under $M): sets D (its test
# data folder), SHAPE (the --shape it needs), INS and OUTS (its input and
# expected output files).
model_data() {
  D=$M/$1/test_data_set_0
  if [ "$1" = resnet_tiny ]; then
    SHAPE="--shape N=2"
    INS="$D/input_0.pb"
    OUTS="$D/output_0.pb"
  else
    SHAPE=""
    INS="$D/input_0.pb $D/input_1.pb"
    OUTS="$D/output_0.pb $D/output_1.pb"
  fi
}
