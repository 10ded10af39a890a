#!/usr/bin/env python3
"""Device-memory bandwidth: the ceiling, and dlc's fused elementwise kernel
against it (issue 5: "memory-bound fused kernels at >= 70% of measured HBM
bandwidth").

1. Ceiling: a device-to-device copy of --mib MiB through PyTorch
   (dst.copy_(src)), CUDA-event timed, median of --iterations; bandwidth =
   (bytes read + bytes written) / time.
2. PyTorch's own elementwise chain on the same data (eager, and
   torch.compile, which fuses it into one kernel), for reference.
3. dlc: the model bench/models/chain_b1 (export_models.py: sigmoid(1.5 x +
   0.25) * x - 0.5 over 32 Mi floats; dlc fuses it into one kernel that reads
   128 MiB and writes 128 MiB) under Nsight Compute (ncu), which times the
   kernel alone (`dlc bench` would also time the host<->device copies);
   the achieved bandwidth is 256 MiB over the kernel's duration and its
   share of the copy ceiling. Without ncu or without dlc, that part is
   skipped with a message.

Usage: python3 bench/hbm_bandwidth.py [--dlc build/dlc] [--mib 1024]
         [--iterations 50] [--markdown-out FILE]
"""
import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export_models  # noqa: E402
from run_cuda import cuda_time  # noqa: E402


def cuda_median_ms(fn, iterations, warmup=3):
    return cuda_time(fn, warmup, iterations)[0]


def chain(x):
    return torch.sigmoid(x * 1.5 + 0.25) * x - 0.5


def dlc_chain_kernel_ms(dlc, models_dir):
    """(kernel ms, kernel name) of dlc's fused chain kernel under ncu, or (None, why)."""
    ncu = shutil.which("ncu") or next((p for p in ("/usr/local/cuda/bin/ncu",) if os.path.exists(p)), None)
    if not ncu:
        return None, "ncu (Nsight Compute) not found"
    if not os.access(dlc, os.X_OK):
        return None, f"{dlc} is not an executable"
    case = os.path.join(models_dir, "chain_b1")
    if not os.path.exists(os.path.join(case, "model.onnx")):
        model, inputs = export_models.build_case("chain", 1)
        export_models.export_module(model, inputs, case)
    cmd = [ncu, "--csv", "--metrics", "gpu__time_duration.sum", dlc, "bench",
           os.path.join(case, "model.onnx"), "--target", "cuda", "--warmup", "0", "--iterations", "3",
           "--input", f"input={os.path.join(case, 'input.npy')}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    rows = []
    text = proc.stdout[proc.stdout.find('"ID"'):] if '"ID"' in proc.stdout else ""
    for r in csv.DictReader(io.StringIO(text)):
        if r.get("Metric Name") == "gpu__time_duration.sum":
            value = float(r["Metric Value"].replace(",", ""))
            unit = r.get("Metric Unit", "nsecond")
            scale = {"nsecond": 1e-6, "usecond": 1e-3, "msecond": 1.0, "second": 1e3}.get(unit, 1e-6)
            rows.append((value * scale, r.get("Kernel Name", "?")))
    if not rows:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, f"ncu timed no kernel (exit {proc.returncode}): {' / '.join(tail)}"
    kernels = {name for _, name in rows}
    if len(kernels) != 1:
        return None, f"expected one fused kernel, ncu saw {len(kernels)}: {', '.join(sorted(kernels))}"
    return statistics.median(ms for ms, _ in rows), rows[0][1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dlc", default=os.path.join(HERE, "..", "build", "dlc"))
    parser.add_argument("--models-dir", default=os.path.join(HERE, "models"))
    parser.add_argument("--mib", type=int, default=1024, help="copy size (MiB)")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--markdown-out")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("hbm_bandwidth.py: torch sees no CUDA device")
    dev = torch.device("cuda")
    lines = [f"GPU: {torch.cuda.get_device_properties(0).name}", "", "| what | bytes moved | ms | GB/s | % of copy |",
             "|---|---|---|---|---|"]
    n = args.mib << 18  # floats
    src = torch.randn(n, device=dev)
    dst = torch.empty_like(src)
    copy_ms = cuda_median_ms(lambda: dst.copy_(src), args.iterations)
    copy_gbs = 2 * n * 4 / copy_ms / 1e6
    lines.append(f"| torch device copy, {args.mib} MiB | {2 * n * 4 / 2**20:.0f} MiB | {copy_ms:.3f} | {copy_gbs:.0f} | 100 |")
    del src, dst
    x = torch.randn(32 << 20, device=dev)
    chain_bytes = 2 * x.numel() * 4
    for name, fn in (("torch eager chain (4 kernels)", lambda: chain(x)),
                     ("torch.compile chain (fused)", torch.compile(chain))):
        ms = cuda_median_ms(lambda: fn(x) if name.startswith("torch.compile") else fn(), args.iterations)
        gbs = chain_bytes / ms / 1e6
        lines.append(f"| {name}, 32 Mi floats | {chain_bytes / 2**20:.0f} MiB (fused) | {ms:.3f} | {gbs:.0f} "
                     f"| {100 * gbs / copy_gbs:.0f} |")
    ms, what = dlc_chain_kernel_ms(args.dlc, args.models_dir)
    if ms is None:
        lines.append(f"| dlc fused chain kernel | — | — | — | — ({what}) |")
    else:
        gbs = chain_bytes / ms / 1e6
        lines.append(f"| dlc fused chain kernel `{what}` (ncu) | {chain_bytes / 2**20:.0f} MiB | {ms:.3f} | {gbs:.0f} "
                     f"| {100 * gbs / copy_gbs:.0f} |")
    print("\n".join(lines))
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
