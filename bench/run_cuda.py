#!/usr/bin/env python3
"""dlc against PyTorch on one NVIDIA GPU, in one run: inference and training.

Inference, for each case <model>_b<batch> (default: resnet18 b1 and b32,
mobilenetv2 b1, bert b8 (seq 128), gpt b1 (seq 128)):
  1. builds the torch module and inputs with bench/export_models.py's
     build_case() and exports that same module to bench/models/<case>/
     (unless it is there already);
  2. times PyTorch eager and torch.compile (default mode; with
     --max-autotune also mode="max-autotune-no-cudagraphs") on the GPU:
     inputs already on the device, torch.no_grad(), --warmup runs, then
     --iterations runs each timed with a pair of CUDA events; median;
  3. runs `dlc bench MODEL --target cuda --json` on the same inputs (its
     time is a host wall clock around one device-resident run: the inputs
     uploaded once, the outputs left on the GPU, the stream synchronised
     after each run, as PyTorch's tensors stay on the device; the column
     "h2d+d2h ms" is PyTorch's time for copying the inputs in and the
     outputs out, what an application with host tensors would add);
  4. checks outputs against a float64 run of the same module on the GPU:
     max |out - ref| / max |ref| for PyTorch eager and for dlc.
TF32 is off on both sides (torch: allow_tf32 False, matmul precision
"highest"; dlc: FP32 cuBLAS unless --allow-tf32, which this script never
passes).

Training (--train): one SGD-momentum step (lr 0.01, momentum 0.9,
softmax cross-entropy) of the MLP at batch 256 and of ResNet-18 at batch 32
with its BatchNorms folded into the convolutions (the exported ResNet-18 is
an inference graph, BatchNorm folded; PyTorch trains the same folded
network, so both do the same work). A step is, on both sides: the batch
from host memory to the GPU, forward, backward, the update of every
parameter, and the loss back to the host. PyTorch eager and torch.compile
(the model compiled; torch.optim.SGD foreach), CUDA-event timed; dlc
through build/train_step_bench (dlc::Trainer, target cuda). The first 5
losses from the same initial weights are compared (max relative error).

Memory bandwidth: see bench/hbm_bandwidth.py (device copy vs dlc's fused
elementwise kernel).

Usage: python3 bench/run_cuda.py [--dlc build/dlc] [--train] [--max-autotune]
         [--cases resnet18_b1,...] [--iterations 100] [--warmup 10]
         [--json-out FILE] [--markdown-out FILE]
Prints a markdown table per part; the ratio columns are dlc / min(eager,
compile) (goal: <= 0.7 for inference, <= 0.8 for training).
"""
import argparse
import copy
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export_models  # noqa: E402  (bench/export_models.py: the modules and their export)
from dlc_bench import run_dlc  # noqa: E402

DEFAULT_CASES = "resnet18_b1,resnet18_b32,mobilenetv2_b1,bert_b8,gpt_b1"
TRAIN_CASES = (("mlp", 256, 10), ("resnet18", 32, 1000))  # (model, batch, classes)


def fp32_only():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def split_case(case):
    name, batch = case.rsplit("_b", 1)
    return name, int(batch)


def cuda_time(fn, warmup, iterations):
    """Median and min ms of fn() over `iterations` runs, each between two CUDA events."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(iterations):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end))
    return statistics.median(samples), min(samples)


def rel_err(out, ref):
    out, ref = out.detach().double().cpu(), ref.detach().double().cpu()
    if out.shape != ref.shape:
        return math.inf
    scale = ref.abs().max().item() if ref.numel() else 0.0
    diff = (out - ref).abs().max().item() if ref.numel() else 0.0
    return diff / scale if scale > 0 else diff


def ensure_exported(models_dir, name, batch):
    case_dir = os.path.join(models_dir, f"{name}_b{batch}")
    if not os.path.exists(os.path.join(case_dir, "model.onnx")):
        model, inputs = export_models.build_case(name, batch)
        print(f"exported {name}_b{batch}: {export_models.export_module(model, inputs, case_dir)}", flush=True)
    return case_dir


def fmt(x, digits=3):
    return "—" if x is None else (f"{x:.1e}" if isinstance(x, float) and 0 < abs(x) < 1e-3 else f"{x:.{digits}f}")


def bench_inference(args, lines):
    dev = torch.device("cuda")
    header = ("| case | eager ms | compile ms | autotune ms | dlc ms | h2d+d2h ms | dlc / min(torch) | eager err | "
              "dlc err | dlc compile ms | dlc ms, attention unfused |")
    lines += ["", "### Inference (FP32, TF32 off; medians)", "", header, "|" + "---|" * (header.count("|") - 1)]
    print("\n".join(lines[-4:]), flush=True)
    rows = []
    for case in args.cases.split(","):
        name, batch = split_case(case)
        case_dir = ensure_exported(args.models_dir, name, batch)
        model, inputs = export_models.build_case(name, batch)
        row = {"case": case}
        with torch.no_grad():
            ref = model.double().to(dev)(*[(t.double() if t.is_floating_point() else t).to(dev)
                                           for t in inputs.values()])
            model = model.float().to(dev)
            x = [t.to(dev) for t in inputs.values()]
            eager_out = model(*x)
            row["eager_ms"], _ = cuda_time(lambda: model(*x), args.warmup, args.iterations)
            row["eager_err"] = rel_err(eager_out, ref)
            host = list(inputs.values())  # pageable host memory, like dlc's inputs

            def transfers():
                ys = [t.to(dev) for t in host]
                return eager_out.cpu(), ys
            row["transfer_ms"], _ = cuda_time(transfers, 2, 10)
            modes = [("compile_ms", "default")] + ([("autotune_ms", "max-autotune-no-cudagraphs")]
                                                   if args.max_autotune else [])
            for key, mode in modes:
                try:
                    torch._dynamo.reset()
                    compiled = torch.compile(model, mode=mode)
                    start = time.perf_counter()
                    compiled(*x)
                    torch.cuda.synchronize()
                    row[key + "_compile_s"] = time.perf_counter() - start
                    row[key], _ = cuda_time(lambda: compiled(*x), args.warmup, args.iterations)
                except Exception as e:  # a compile failure is a result, not a crash of the run
                    row[key + "_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
        d = run_dlc(args.dlc, os.path.join(case_dir, "model.onnx"), case_dir, list(inputs), "cuda", None, args.warmup,
                    args.iterations, args.timeout)
        if "error" in d:
            row["dlc_error"] = d["error"]
        else:
            row["dlc_ms"] = d["median_ms"]
            row["dlc_compile_ms"] = d["compile_ms"] + d["first_run_ms"]
            got = d["outputs"].get("output")
            row["dlc_err"] = rel_err(torch.from_numpy(got), ref) if got is not None else math.inf
            best = min(v for k, v in row.items() if k in ("eager_ms", "compile_ms", "autotune_ms"))
            row["ratio"] = d["median_ms"] / best
        if name in ("bert", "gpt"):
            # The same model with each attention as GEMM, epilogue, softmax and
            # GEMM kernels: whether the attention kernel pays off on this GPU.
            u = run_dlc(args.dlc, os.path.join(case_dir, "model.onnx"), case_dir, list(inputs), "cuda", None,
                        args.warmup, args.iterations, args.timeout, extra=("--attention-fusion", "off"))
            row["dlc_unfused_ms"] = u.get("median_ms")
        rows.append(row)
        line = (f"| {case} | {fmt(row.get('eager_ms'))} | {fmt(row.get('compile_ms'))} | {fmt(row.get('autotune_ms'))} "
                f"| {fmt(row.get('dlc_ms')) if 'dlc_ms' in row else row.get('dlc_error')} | {fmt(row.get('transfer_ms'))} "
                f"| {fmt(row.get('ratio'))} | {fmt(row.get('eager_err'))} | {fmt(row.get('dlc_err'))} "
                f"| {fmt(row.get('dlc_compile_ms'), 0)} | {fmt(row.get('dlc_unfused_ms'))} |")
        lines.append(line)
        print(line, flush=True)
        for k in ("compile_ms_error", "autotune_ms_error"):
            if k in row:
                lines.append(f"  - {case} {k[:-6]}: {row[k]}")
                print(lines[-1], flush=True)
        del model
        torch.cuda.empty_cache()
    return rows


def fold_batchnorm(model):
    """Each Conv2d followed by a BatchNorm2d becomes one Conv2d with bias (eval statistics), the BN an Identity."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for m in model.modules():
        if isinstance(m, nn.Sequential):
            for i in range(len(m) - 1):
                if isinstance(m[i], nn.Conv2d) and isinstance(m[i + 1], nn.BatchNorm2d):
                    m[i], m[i + 1] = fuse_conv_bn_eval(m[i], m[i + 1]), nn.Identity()
        for conv, bn in (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")):
            if isinstance(getattr(m, conv, None), nn.Conv2d) and isinstance(getattr(m, bn, None), nn.BatchNorm2d):
                setattr(m, conv, fuse_conv_bn_eval(getattr(m, conv), getattr(m, bn)))
                setattr(m, bn, nn.Identity())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    return model


def torch_train_losses_and_time(model, x, y, compile_mode, warmup, iterations, lr, momentum, n_losses):
    """(first n_losses losses, median ms per step) for SGD-momentum steps from host batches."""
    dev = torch.device("cuda")
    model = model.to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, foreach=True)
    loss_fn = nn.CrossEntropyLoss()
    fwd = torch.compile(model, mode=compile_mode) if compile_mode else model

    def step():
        xd, yd = x.to(dev), y.to(dev)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(fwd(xd), yd)
        loss.backward()
        opt.step()
        return loss.item()

    losses = [step() for _ in range(n_losses)]
    median, _ = cuda_time(step, warmup, iterations)
    return losses, median


def bench_training(args, lines):
    header = "| step | eager ms | compile ms | dlc ms | dlc / min(torch) | first 5 losses: max rel err (dlc vs eager) |"
    lines += ["", "### One training step (SGD momentum, batch from the host, loss back; medians)", "", header,
              "|" + "---|" * (header.count("|") - 1)]
    print("\n".join(lines[-4:]), flush=True)
    exe = os.path.join(os.path.dirname(args.dlc), "train_step_bench")
    rows = []
    for name, batch, classes in TRAIN_CASES:
        model, inputs = export_models.build_case(name, batch)
        if name == "resnet18":
            model = fold_batchnorm(model)
        (input_name, x), = inputs.items()
        y = torch.randint(0, classes, (batch,), generator=torch.Generator().manual_seed(3))
        case_dir = os.path.join(args.models_dir, f"train_{name}_b{batch}")
        if not os.path.exists(os.path.join(case_dir, "model.onnx")):
            export_models.export_module(model, inputs, case_dir)
        np.save(os.path.join(case_dir, "labels.npy"), y.numpy())
        row = {"case": f"{name}_b{batch}"}
        for key, mode in (("eager", None), ("compile", "default")):
            try:
                torch._dynamo.reset()
                losses, row[key + "_ms"] = torch_train_losses_and_time(copy.deepcopy(model), x, y, mode, args.warmup,
                                                                       args.train_iterations, 0.01, 0.9, 5)
                row[key + "_losses"] = losses
            except Exception as e:
                row[key + "_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
        cmd = [exe, os.path.join(case_dir, "model.onnx"), "--data", case_dir, "--target", "cuda", "--lr", "0.01",
               "--momentum", "0.9", "--warmup", str(args.warmup), "--iterations", str(args.train_iterations)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            if proc.returncode == 0:
                d = json.loads(proc.stdout.strip().splitlines()[-1])
                row["dlc_ms"], row["dlc_losses"] = d["median_ms"], d["losses"]
                row["dlc_first_step_ms"] = d["first_step_ms"]
            else:
                row["dlc_error"] = f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-200:]}"
        except (subprocess.TimeoutExpired, FileNotFoundError) as e:
            row["dlc_error"] = str(e)
        best = [row[k] for k in ("eager_ms", "compile_ms") if k in row]
        if "dlc_ms" in row and best:
            row["ratio"] = row["dlc_ms"] / min(best)
        if "dlc_losses" in row and "eager_losses" in row:
            row["loss_err"] = max(abs(a - b) / abs(b) for a, b in zip(row["dlc_losses"], row["eager_losses"]))
        rows.append(row)
        line = (f"| {row['case']} | {fmt(row.get('eager_ms'))} | {fmt(row.get('compile_ms'))} "
                f"| {fmt(row.get('dlc_ms')) if 'dlc_ms' in row else row.get('dlc_error')} | {fmt(row.get('ratio'))} "
                f"| {fmt(row.get('loss_err'))} |")
        lines.append(line)
        print(line, flush=True)
        for k in ("eager_error", "compile_error"):
            if k in row:
                lines.append(f"  - {row['case']} {k}: {row[k]}")
                print(lines[-1], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dlc", default=os.path.join(HERE, "..", "build", "dlc"))
    parser.add_argument("--models-dir", default=os.path.join(HERE, "models"))
    parser.add_argument("--cases", default=DEFAULT_CASES, help=f"inference cases (default {DEFAULT_CASES}); '' for none")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--train-iterations", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per dlc invocation")
    parser.add_argument("--train", action="store_true", help="also the training steps")
    parser.add_argument("--max-autotune", action="store_true", help='also torch.compile(mode="max-autotune-no-cudagraphs")')
    parser.add_argument("--json-out")
    parser.add_argument("--markdown-out")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("run_cuda.py: torch sees no CUDA device (torch.cuda.is_available() is False); nothing to time")
    if not os.access(args.dlc, os.X_OK):
        sys.exit(f"{args.dlc} is not an executable; build dlc or pass --dlc")
    fp32_only()
    props = torch.cuda.get_device_properties(0)
    lines = [f"GPU: {props.name} ({props.multi_processor_count} SMs), torch {torch.__version__}, "
             f"CUDA {torch.version.cuda}; {args.warmup} warm-up + {args.iterations} timed runs (training: "
             f"{args.train_iterations}); TF32 off"]
    print(lines[0], flush=True)
    results = {"gpu": props.name, "torch": torch.__version__}
    if args.cases:
        results["inference"] = bench_inference(args, lines)
    if args.train:
        results["training"] = bench_training(args, lines)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1, default=str)
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
