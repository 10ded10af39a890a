#!/usr/bin/env python3
"""Checks dlc's ONNX exports with the onnx package and onnxruntime (not part
of ctest: it needs Python with onnx and onnxruntime).

For every test folder (ONNX backend-test layout) under the given paths,
`dlc conformance --roundtrip-export --save-exported` writes dlc's export of
the imported model; this script then runs onnx.checker (full_check: with
ONNX's shape inference) on each export, loads it in onnxruntime, runs every
test_data_set and compares with the expected outputs. onnxruntime also runs
the original model, so that a test onnxruntime fails on its own is told
apart from an export problem.

usage: check_onnx_export.py DLC PATH... [--rtol 1e-3] [--atol 1e-5] [--verbose]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def data_sets(folder):
    for d in sorted(glob.glob(os.path.join(folder, "test_data_set_*"))):
        ins = [read_pb(p) for p in sorted(glob.glob(os.path.join(d, "input_*.pb")), key=lambda p: int(p.split("_")[-1][:-3]))]
        outs = [read_pb(p)[1] for p in sorted(glob.glob(os.path.join(d, "output_*.pb")), key=lambda p: int(p.split("_")[-1][:-3]))]
        yield ins, outs


def run_ort(model_path, folder, rtol, atol):
    """None when every data set matches, else why not."""
    try:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        return "load: " + str(e).splitlines()[0][:200]
    names = [i.name for i in sess.get_inputs()]
    for ins, outs in data_sets(folder):
        feed = {}
        for k, (name, value) in enumerate(ins):
            feed[name if name in names else names[k]] = value
        try:
            got = sess.run(None, feed)
        except Exception as e:  # noqa: BLE001
            return "run: " + str(e).splitlines()[0][:200]
        for k, (g, w) in enumerate(zip(got, outs)):
            g = np.asarray(g)
            if g.shape != w.shape:
                return f"output {k}: shape {g.shape}, expected {w.shape}"
            if w.dtype.kind in "fc":
                ok = np.allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
            else:
                ok = np.array_equal(g, w)
            if not ok:
                return f"output {k} differs"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dlc")
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as out:
        folders = {}
        for p in args.paths:
            subprocess.run([args.dlc, "conformance", p, "--roundtrip-export", "--save-exported", out, "--quiet"],
                           stdout=subprocess.DEVNULL, check=False)
            if os.path.exists(os.path.join(p, "model.onnx")):
                folders[os.path.basename(os.path.normpath(p))] = p
            else:
                for d in os.listdir(p):
                    folders[d] = os.path.join(p, d)
        exported = sorted(f[:-5] for f in os.listdir(out) if f.endswith(".onnx"))
        counts = {"full_check": 0, "checker": 0, "match": 0, "ort_fails_original_too": 0, "export_only_fails": 0}
        problems = []
        # full_check adds ONNX's shape inference, which also rejects an
        # output declared with no shape (dlc's type for a data-dependent
        # rank) when it infers one: reported, not counted as a problem.
        full_check_problems = []
        for name in exported:
            path = os.path.join(out, name + ".onnx")
            folder = folders[name]
            model = onnx.load(path)
            try:
                onnx.checker.check_model(model)
                counts["checker"] += 1
            except Exception as e:  # noqa: BLE001
                problems.append(f"checker {name}: {str(e).splitlines()[0][:200]}")
            try:
                onnx.checker.check_model(model, full_check=True)
                counts["full_check"] += 1
            except Exception as e:  # noqa: BLE001
                full_check_problems.append(f"checker (full_check) {name}: {str(e).splitlines()[0][:200]}")
            why = run_ort(path, folder, args.rtol, args.atol)
            if why is None:
                counts["match"] += 1
                continue
            original = run_ort(os.path.join(folder, "model.onnx"), folder, args.rtol, args.atol)
            if original is not None:
                counts["ort_fails_original_too"] += 1
                if args.verbose:
                    print(f"ort fails the original too {name}: export: {why}; original: {original}")
            else:
                counts["export_only_fails"] += 1
                problems.append(f"onnxruntime {name}: {why}")
        for p in (full_check_problems if args.verbose else []) + problems:
            print(p)
        print(f"{len(exported)} exported models: onnx.checker passes {counts['checker']} "
              f"({counts['full_check']} with full_check); onnxruntime matches the "
              f"expected outputs on {counts['match']}; fails on {counts['ort_fails_original_too']} whose original "
              f"model it also fails; fails on {counts['export_only_fails']} whose original it passes")
        return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
