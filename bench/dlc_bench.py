"""Runs `dlc bench --json` on a model and collects its outputs: shared by the
benchmark scripts (run_cpu.py, gemm.py, run_cuda.py). Needs only numpy."""
import glob
import json
import os
import subprocess
import tempfile

import numpy as np


def run_dlc(dlc, model, case_dir, inputs, target, threads, warmup, iterations, timeout, extra=()):
    """`dlc bench --json`'s object plus "outputs" ({name: array}), or {"error": message}.

    Each input NAME is read from case_dir/NAME.npy; `threads` None leaves
    the choice to dlc (the cuda target has no worker threads)."""
    with tempfile.TemporaryDirectory() as out_dir:
        cmd = [dlc, "bench", model, "--target", target, "--warmup", str(warmup),
               "--iterations", str(iterations), "--json", "--output-dir", out_dir, *extra]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        for name in inputs:
            cmd += ["--input", f"{name}={os.path.join(case_dir, name + '.npy')}"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s"}
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return {"error": f"exit {proc.returncode}: {lines[0] if lines else ''}"}
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["outputs"] = {os.path.basename(p)[:-4]: np.load(p) for p in glob.glob(os.path.join(out_dir, "*.npy"))}
        return result
