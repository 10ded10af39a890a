# Shared by the CLI test scripts (source it): a scratch folder removed on
# exit, pass/fail counters, and `expect`.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
passes=0

# expect CODE PATTERN -- command...: runs the command, checks its exit code
# and that its combined output matches the extended regex PATTERN.
expect() {
  local code=$1 pattern=$2
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $code), output:"
    sed 's/^/    /' <<<"$out" | head -20
    echo "    (wanted output matching: $pattern)"
    failures=$((failures + 1))
  else
    passes=$((passes + 1))
  fi
}
