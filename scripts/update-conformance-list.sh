#!/usr/bin/env bash
# Rewrites tests/conformance/node_ref_expected.txt from a fresh run of the
# ONNX node tests on the reference interpreter. Run after making more tests
# pass; review the diff (a test disappearing from the list is a regression).
# Also reports tests that are neither passing nor listed in out_of_scope.txt
# or known_failures.txt, so that every test is accounted for.
set -euo pipefail
build=${1:-build}
dir=tests/conformance
json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$build/dlc" conformance /usr/share/libonnx-testdata/data/node --target ref --json >"$json" || true
python3 - "$json" "$dir" <<'PY'
import fnmatch, json, sys
result = json.load(open(sys.argv[1]))
folder = sys.argv[2]
passing = [t["name"] for t in result["tests"] if t["status"] == "pass"]
with open(f"{folder}/node_ref_expected.txt", "w") as f:
    f.write("# ONNX node tests (libonnx-testdata) that must pass on --target ref.\n")
    f.write("# Regenerate with scripts/update-conformance-list.sh after making more pass.\n")
    f.writelines(name + "\n" for name in passing)
patterns = []
for name in ("out_of_scope.txt", "known_failures.txt"):
    for line in open(f"{folder}/{name}"):
        if line.strip() and not line.startswith("#"):
            patterns.append(line.split()[0])
unexplained = [t["name"] for t in result["tests"] if t["status"] != "pass"
               and not any(fnmatch.fnmatch(t["name"], p) for p in patterns)]
print(f"{len(passing)} passing tests written; {result['failed']} failed, {result['unsupported']} unsupported")
if unexplained:
    print("not passing and not explained in out_of_scope.txt / known_failures.txt:", *unexplained, sep="\n  ")
    sys.exit(1)
PY
