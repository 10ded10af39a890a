#!/usr/bin/env bash
# Rewrites tests/conformance/node_ref_expected.txt from a fresh run of the
# ONNX node tests on the reference interpreter. Run after making more tests
# pass; review the diff (a test disappearing from the list is a regression).
set -euo pipefail
build=${1:-build}
list=tests/conformance/node_ref_expected.txt
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build/dlc" conformance /usr/share/libonnx-testdata/data/node --target ref --json >"$json" || true
python3 - "$json" "$list" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
passing = [t["name"] for t in result["tests"] if t["status"] == "pass"]
with open(sys.argv[2], "w") as f:
    f.write("# ONNX node tests (libonnx-testdata) that must pass on --target ref.\n")
    f.write("# Regenerate with scripts/update-conformance-list.sh after making more pass.\n")
    f.writelines(name + "\n" for name in passing)
print(f"{len(passing)} passing tests written to {sys.argv[2]}; "
      f"{result['failed']} failed, {result['unsupported']} unsupported")
PY
