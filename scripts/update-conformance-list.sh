#!/usr/bin/env bash
# Rewrites the conformance expectation lists from fresh runs on the
# reference interpreter, and reports every test that neither passes nor is
# explained, so that every test is accounted for:
#  - tests/conformance/node_ref_expected.txt: the node tests of Debian's
#    libonnx-testdata (reasons: out_of_scope.txt, known_failures.txt there);
#  - tests/conformance/wheel/{node,light}_expected.txt: the onnx wheel's node
#    tests and light models (scripts/make-onnx-tests.sh makes them; reasons:
#    wheel/out_of_scope.txt, wheel/known_failures.txt, and
#    wheel/newer_opsets.txt, which this script writes: the tests of opsets
#    newer than dlc imports). The wheel's tests also run on cpu, which must
#    pass the same lists (ctest checks both targets against them).
# Run after making more tests pass; review the diff (a test disappearing from
# a list is a regression). Usage: scripts/update-conformance-list.sh [BUILD]
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
dir=tests/conformance
wheel_tests=$build/onnx-tests
scripts/make-onnx-tests.sh "$wheel_tests"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {  # NAME ARGS...: dlc conformance ARGS --json into $work/NAME.json
  local name=$1
  shift
  echo "update-conformance-list: dlc conformance $*"
  "$build/dlc" conformance "$@" --json >"$work/$name.json" || true
}
run libonnx /usr/share/libonnx-testdata/data/node --target ref
run wheel_node_ref "$wheel_tests/node" --target ref
run wheel_node_cpu "$wheel_tests/node" --target cpu --threads 2
run wheel_light_ref "$wheel_tests/light" --target ref
run wheel_light_cpu "$wheel_tests/light" --target cpu --threads 2
python3 - "$work" "$dir" <<'PY'
import fnmatch, json, re, sys

work, folder = sys.argv[1], sys.argv[2]
ok = True


def load(name):
    return json.load(open(f"{work}/{name}.json"))["tests"]


def reasons(*files):
    patterns = []
    for name in files:
        for line in open(f"{folder}/{name}"):
            if line.strip() and not line.startswith("#"):
                patterns.append(line.split()[0])
    return patterns


def update(label, tests, expected_file, header, reason_files, cpu_tests=None):
    """Writes the passing tests of `tests` into expected_file; reports
    non-passing tests no reason explains and, with cpu_tests, tests that
    pass on ref but not on cpu."""
    global ok
    passing = [t["name"] for t in tests if t["status"] == "pass"]
    with open(f"{folder}/{expected_file}", "w") as f:
        f.writelines("# " + line + "\n" for line in header)
        f.writelines(name + "\n" for name in passing)
    patterns = reasons(*reason_files)
    unexplained = [t["name"] for t in tests if t["status"] != "pass"
                   and not any(fnmatch.fnmatch(t["name"], p) for p in patterns)]
    counts = {s: sum(t["status"] == s for t in tests) for s in ("pass", "fail", "unsupported")}
    print(f"{label}: {counts['pass']} passing written to {expected_file}; "
          f"{counts['fail']} failed, {counts['unsupported']} unsupported")
    if unexplained:
        ok = False
        print(f"{label}: not passing and explained by none of {', '.join(reason_files)}:",
              *unexplained, sep="\n  ")
    used = {p for p in patterns if any(fnmatch.fnmatch(t["name"], p) for t in tests if t["status"] != "pass")}
    if cpu_tests is not None:
        cpu = {t["name"]: t for t in cpu_tests}
        regressed = [n for n in passing if cpu.get(n, {}).get("status") != "pass"]
        if regressed:
            ok = False
            print(f"{label}: pass on ref but not on cpu (the cpu ctest expects the same list):",
                  *(f"{n}: {cpu.get(n, {}).get('detail', 'not run')[:200]}" for n in regressed), sep="\n  ")
    return patterns, used


def report_unused(label, results):
    """Reasons (of suites sharing reason files) that no failing test needs."""
    unused = sorted(set().union(*(p for p, _ in results)) - set().union(*(u for _, u in results)))
    if unused:
        print(f"{label}: reasons that no failing test needs any more (remove them):", *unused, sep="\n  ")


libonnx = update("libonnx-testdata node tests", load("libonnx"), "node_ref_expected.txt",
       ["ONNX node tests (libonnx-testdata) that must pass on --target ref.",
        "Regenerate with scripts/update-conformance-list.sh after making more pass."],
       ["out_of_scope.txt", "known_failures.txt"])
report_unused("libonnx-testdata node tests", [libonnx])

# The wheel's tests of opsets newer than dlc imports, each named with its opset.
node = load("wheel_node_ref")
newer = []
for t in node:
    m = re.search(r"the model uses opset (\d+); dlc supports opsets up to (\d+)", t["detail"])
    if t["status"] == "unsupported" and m:
        newer.append(f"{t['name']:<60} opset {m.group(1)} > {m.group(2)}, the newest dlc imports\n")
with open(f"{folder}/wheel/newer_opsets.txt", "w") as f:
    f.write("# onnx wheel node tests of opsets newer than dlc imports (written by\n")
    f.write("# scripts/update-conformance-list.sh; out of scope until those opsets are audited).\n")
    f.writelines(newer)

regenerate = "Regenerate with scripts/update-conformance-list.sh after making more pass."
wheel_node = update("onnx wheel node tests", node, "wheel/node_expected.txt",
       ["onnx wheel node tests (scripts/make-onnx-tests.sh) that must pass on --target ref and cpu.", regenerate],
       ["wheel/out_of_scope.txt", "wheel/known_failures.txt", "wheel/newer_opsets.txt"], load("wheel_node_cpu"))
wheel_light = update("onnx wheel light models", load("wheel_light_ref"), "wheel/light_expected.txt",
       ["onnx wheel light models (scripts/make-onnx-tests.sh) that must pass on --target ref and cpu.", regenerate],
       ["wheel/out_of_scope.txt", "wheel/known_failures.txt"], load("wheel_light_cpu"))
report_unused("onnx wheel tests", [wheel_node, wheel_light])
sys.exit(0 if ok else 1)
PY
