#!/usr/bin/env python3
"""dlc against onnxruntime on the CPU, in one run, on the same machine, with
the same thread count and the same warm-up and iteration counts.

For each case bench/models/<model>_b<batch>/ (made by export_models.py) it
  1. runs onnxruntime (PyPI) with intra_op_num_threads=N, inter_op 1,
     sequential execution and all graph optimisations, timing each run;
  2. runs `dlc bench MODEL --target T --threads N --json` on the same inputs,
     which also writes dlc's outputs;
     (the exported models have static shapes, so the cpu target compiles
     them in compile_ms; "dlc first run ms" would hold a lazy compile);
  3. compares dlc's outputs with onnxruntime's (max |dlc - ort| / max |ort|,
     so that a fast wrong answer is visible),
then prints a markdown table and the geometric mean of the dlc/ort median
latency ratios over the cases that dlc ran.

Usage: PY bench/run_cpu.py [--threads 2] [--target cpu|ref] [--models resnet18,mlp]
                           [--iterations 20] [--warmup 3] [--dlc build/dlc]
(PY: a Python with onnxruntime and numpy, e.g. .venv/bin/python.)
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

from dlc_bench import run_dlc

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODELS = "resnet18,mobilenetv2,bert,gpt,mlp,resnet50"


def percentile_stats(samples_ms):
    """Median and nearest-rank p90, the way `dlc bench` computes them."""
    s = sorted(samples_ms)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    p90 = s[max(math.ceil(0.9 * n), 1) - 1]
    return median, p90


def load_inputs(case_dir):
    return {os.path.basename(p)[:-4]: np.load(p) for p in sorted(glob.glob(os.path.join(case_dir, "*.npy")))}


def run_ort(model, inputs, threads, warmup, iterations):
    """Session creation ms, outputs {name: array}, median ms, p90 ms."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    start = time.perf_counter()
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    session_ms = (time.perf_counter() - start) * 1e3
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, inputs)))
    for _ in range(warmup):
        session.run(None, inputs)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, inputs)
        samples.append((time.perf_counter() - start) * 1e3)
    median, p90 = percentile_stats(samples)
    return {"session_ms": session_ms, "outputs": outputs, "median_ms": median, "p90_ms": p90}


def max_rel_err(dlc_outputs, ort_outputs):
    """max over outputs of max |dlc - ort| / max |ort|; inf when an output is missing or misshapen."""
    worst = 0.0
    for name, ref in ort_outputs.items():
        got = dlc_outputs.get(name)
        if got is None or got.shape != ref.shape:
            return math.inf
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        diff = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0
        worst = max(worst, diff / scale if scale > 0 else diff)
    return worst


def dlc_targets(dlc):
    """The targets that `dlc version` lists."""
    out = subprocess.run([dlc, "version"], capture_output=True, text=True).stdout
    targets = next((line.split(":", 1)[1] for line in out.splitlines() if line.startswith("targets:")), "")
    return [t.strip() for t in targets.split(",") if t.strip()]


def default_target(dlc):
    return "cpu" if "cpu" in dlc_targets(dlc) else "ref"


def cases_for(models, models_dir):
    cases = []
    for model in models:
        found = sorted(glob.glob(os.path.join(models_dir, f"{model}_b*")), key=lambda p: int(p.rsplit("_b", 1)[1]))
        if not found:
            sys.exit(f"no exported cases for '{model}' in {models_dir}; run bench/export_models.py {model}")
        cases += [(model, int(p.rsplit("_b", 1)[1]), p) for p in found]
    return cases


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--target", help="dlc target (default: cpu when dlc has it, else ref)")
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated (default {DEFAULT_MODELS})")
    parser.add_argument("--batches", help="comma-separated batch sizes to keep (default: all exported)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--dlc", default=os.path.join(HERE, "..", "build", "dlc"))
    parser.add_argument("--models-dir", default=os.path.join(HERE, "models"))
    parser.add_argument("--timeout", type=float, default=300, help="seconds per dlc invocation (default 300)")
    parser.add_argument("--json-out", help="also write the raw results to this file")
    args = parser.parse_args()
    if not os.access(args.dlc, os.X_OK):
        sys.exit(f"{args.dlc} is not an executable; build it (cmake --build build --target dlc) or pass --dlc")
    target = args.target or default_target(args.dlc)
    if target not in dlc_targets(args.dlc):
        sys.exit(f"{args.dlc} has no target '{target}'; it has: {', '.join(dlc_targets(args.dlc))}")
    batches = {int(b) for b in args.batches.split(",")} if args.batches else None
    cases = [c for c in cases_for(args.models.split(","), args.models_dir) if batches is None or c[1] in batches]

    print(f"onnxruntime {ort.__version__}, dlc --target {target}, {args.threads} thread(s), "
          f"{args.warmup} warm-up + {args.iterations} timed runs each\n", flush=True)
    header = ("| model | batch | ort median ms | ort p90 ms | dlc median ms | dlc p90 ms | dlc/ort | dlc compile ms "
              "| dlc first run ms | ort session ms | max rel err |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1), flush=True)
    rows, ratios = [], []
    for model, batch, case_dir in cases:
        path = os.path.join(case_dir, "model.onnx")
        inputs = load_inputs(case_dir)
        o = run_ort(path, inputs, args.threads, args.warmup, args.iterations)
        d = run_dlc(args.dlc, path, case_dir, inputs, target, args.threads, args.warmup, args.iterations, args.timeout)
        row = {"model": model, "batch": batch, "ort_median_ms": o["median_ms"], "ort_p90_ms": o["p90_ms"],
               "ort_session_ms": o["session_ms"]}
        if "error" in d:
            row["dlc_error"] = d["error"]
            print(f"| {model} | {batch} | {fmt(o['median_ms'])} | {fmt(o['p90_ms'])} | {d['error']} | | | | | "
                  f"{fmt(o['session_ms'], 0)} | |", flush=True)
        else:
            ratio = d["median_ms"] / o["median_ms"]
            err = max_rel_err(d["outputs"], o["outputs"])
            ratios.append(ratio)
            row.update({k: d[k] for k in ("median_ms", "p90_ms", "compile_ms", "first_run_ms")})
            row.update({"ratio": ratio, "max_rel_err": err})
            print(f"| {model} | {batch} | {fmt(o['median_ms'])} | {fmt(o['p90_ms'])} | {fmt(d['median_ms'])} "
                  f"| {fmt(d['p90_ms'])} | {ratio:.3f} | {fmt(d['compile_ms'], 1)} | {fmt(d['first_run_ms'], 1)} "
                  f"| {fmt(o['session_ms'], 0)} "
                  f"| {err:.1e} |", flush=True)
        rows.append(row)
    if ratios:
        geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"\ngeometric mean of dlc/ort over {len(ratios)} case(s): {geomean:.3f} (goal: every case <= 1.0 and the geometric mean <= 0.75 at 2 threads)")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"target": target, "threads": args.threads, "iterations": args.iterations,
                       "warmup": args.warmup, "onnxruntime": ort.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
