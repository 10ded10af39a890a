#!/usr/bin/env python3
"""Single-thread GEMM efficiency: GFLOP/s of one MatMul model through
`dlc bench --threads 1` (and onnxruntime with 1 thread, for reference) as a
percentage of the single-core FP32 FMA peak measured by build/fma_peak.

Cases: bench/models/matmul512_b512 ([512,512] x [512,512]) and
matmul1024_b1024 ([1024,1024] x [1024,1024]) from export_models.py. A GEMM
of M x K by K x N counts 2*M*N*K FLOPs. The goal (issue 3) is >= 70% of peak.

Usage: PY bench/gemm.py [--target cpu|ref] [--iterations 10] [--dlc build/dlc]
                        [--fma-peak build/fma_peak] [--sizes 512,1024]
"""
import argparse
import json
import os
import subprocess
import sys

import dlc_bench
import run_cpu

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", help="dlc target (default: cpu when dlc has it, else ref)")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--sizes", default="512,1024")
    parser.add_argument("--dlc", default=os.path.join(HERE, "..", "build", "dlc"))
    parser.add_argument("--fma-peak", default=os.path.join(HERE, "..", "build", "fma_peak"))
    parser.add_argument("--models-dir", default=os.path.join(HERE, "models"))
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    target = args.target or run_cpu.default_target(args.dlc)

    peak = json.loads(subprocess.run([args.fma_peak, "--json"], capture_output=True, text=True, check=True).stdout)
    print(f"single-core FP32 FMA peak: {peak['peak_gflops']:.1f} GFLOP/s ({peak['isa']}; "
          f"avx2 {peak['avx2_gflops']:.1f}, avx512 {peak['avx512_gflops']:.1f})")
    print(f"dlc --target {target} --threads 1, onnxruntime 1 thread; {args.warmup} warm-up + "
          f"{args.iterations} timed runs\n")
    print("| M=N=K | ort median ms | ort GFLOP/s | ort % peak | dlc median ms | dlc GFLOP/s | dlc % peak | max rel err |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        case_dir = os.path.join(args.models_dir, f"matmul{size}_b{size}")
        model = os.path.join(case_dir, "model.onnx")
        if not os.path.exists(model):
            sys.exit(f"{model} is missing; run bench/export_models.py matmul{size}")
        inputs = run_cpu.load_inputs(case_dir)
        flops = 2.0 * size**3
        o = run_cpu.run_ort(model, inputs, 1, args.warmup, args.iterations)
        ort_gflops = flops / (o["median_ms"] * 1e6)
        d = dlc_bench.run_dlc(args.dlc, model, case_dir, inputs, target, 1, args.warmup, args.iterations, args.timeout)
        cells = [f"{o['median_ms']:.2f}", f"{ort_gflops:.1f}", f"{100 * ort_gflops / peak['peak_gflops']:.0f}%"]
        if "error" in d:
            cells += [d["error"], "", "", ""]
        else:
            dlc_gflops = flops / (d["median_ms"] * 1e6)
            err = run_cpu.max_rel_err(d["outputs"], o["outputs"])
            cells += [f"{d['median_ms']:.2f}", f"{dlc_gflops:.2f}", f"{100 * dlc_gflops / peak['peak_gflops']:.1f}%",
                      f"{err:.1e}"]
        print(f"| {size} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
