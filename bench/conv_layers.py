#!/usr/bin/env python3
"""Single convolution layers, dlc against onnxruntime, step by step.

A network's time on the CPU is mostly its convolutions; this times the ones
ResNet-50 and MobileNetV2 are made of, each alone, to tell a kernel's speed
from what the network around it does to caches and threads. Each case is a
small model: a 1x1 conv (so that the measured conv reads a channel-blocked
input, as inside a network), the measured conv with bias and Relu (pointwise)
or Clip (depthwise), and a 1x1 conv to 16 channels (so that its output stays
blocked). Both sides run with the same threads; the table has each side's
median time for the measured conv's step alone: `dlc bench --profile` and
onnxruntime's profiler (enable_profiling, the fused node's kernel time).

Usage: PY bench/conv_layers.py [--threads 2] [--iterations 300] [--dlc build/dlc]
(PY: a Python with onnx, onnxruntime and numpy, e.g. .venv/bin/python.)
The models go to bench/models/conv_layers/ (gitignored).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (input channels, output channels, input size, kernel, stride, depthwise)
CASES = {
    "pointwise 64->256 at 56x56": (64, 256, 56, 1, 1, False),
    "pointwise 256->64 at 56x56": (256, 64, 56, 1, 1, False),
    "pointwise 128->512 at 28x28": (128, 512, 28, 1, 1, False),
    "pointwise 512->128 at 28x28": (512, 128, 28, 1, 1, False),
    "pointwise 1024->256 at 14x14": (1024, 256, 14, 1, 1, False),
    "pointwise 160->960 at 7x7": (160, 960, 7, 1, 1, False),
    "3x3 64->64 at 56x56": (64, 64, 56, 3, 1, False),
    "3x3 128->128 stride 2 at 56x56": (128, 128, 56, 3, 2, False),
    "depthwise 3x3 144 at 56x56": (144, 144, 56, 3, 1, True),
    "depthwise 3x3 144 stride 2 at 56x56": (144, 144, 56, 3, 2, True),
    "depthwise 3x3 576 at 14x14": (576, 576, 14, 3, 1, True),
    "depthwise 3x3 960 at 7x7": (960, 960, 7, 3, 1, True),
}


def build(path, cin, cout, size, kernel, stride, depthwise):
    rng = np.random.default_rng(0)
    init = lambda name, shape, scale: numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)
    pad = kernel // 2
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["h"], kernel_shape=[1, 1]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Conv", ["hr", "w", "b"], ["y0"], kernel_shape=[kernel, kernel], strides=[stride, stride],
                         pads=[pad] * 4, group=cin if depthwise else 1),
        helper.make_node("Clip", ["y0", "lo", "hi"], ["y1"]) if depthwise else helper.make_node("Relu", ["y0"], ["y1"]),
        helper.make_node("Conv", ["y1", "w2"], ["y"], kernel_shape=[1, 1]),
    ]
    inits = [init("w0", (cin, cin, 1, 1), 0.1), init("w", (cout, 1 if depthwise else cin, kernel, kernel), 0.1),
             init("b", (cout,), 1.0), init("w2", (16, cout, 1, 1), 0.1)]
    if depthwise:
        inits += [numpy_helper.from_array(np.array(0, np.float32), "lo"),
                  numpy_helper.from_array(np.array(6, np.float32), "hi")]
    out = (size + 2 * pad - kernel) // stride + 1
    graph = helper.make_graph(nodes, "layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, out, out])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    os.makedirs(path, exist_ok=True)
    onnx.save(model, os.path.join(path, "model.onnx"))
    np.save(os.path.join(path, "x.npy"), rng.standard_normal((1, cin, size, size)).astype(np.float32))


def dlc_step_ms(dlc, path, threads, iterations):
    """The measured conv's (node y0's) median and minimum step time from `dlc bench --profile`."""
    cmd = [dlc, "bench", os.path.join(path, "model.onnx"), "--target", "cpu", "--threads", str(threads),
           "--iterations", str(iterations), "--input", "x=" + os.path.join(path, "x.npy"), "--profile",
           "--profile-steps", "20"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+) ms .*\(min ([\d.]+)\)\s+node 'y0/blocked'", line)
        if m:
            return float(m.group(1)), float(m.group(2))
    raise RuntimeError("no step for node y0 in:\n" + text)


def ort_step_ms(path, threads, iterations):
    """The measured conv's median and minimum kernel time from onnxruntime's profiler."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    with tempfile.TemporaryDirectory() as tmp:
        opts.enable_profiling = True
        opts.profile_file_prefix = os.path.join(tmp, "ort")
        session = ort.InferenceSession(os.path.join(path, "model.onnx"), opts, providers=["CPUExecutionProvider"])
        feed = {"x": np.load(os.path.join(path, "x.npy"))}
        for _ in range(iterations):
            session.run(None, feed)
        with open(session.end_profiling()) as f:
            events = json.load(f)
    # The fused conv is named after its output: y1 (the activation's).
    times = [e["dur"] / 1000 for e in events
             if e.get("cat") == "Node" and e["name"].startswith("y1") and e["name"].endswith("_kernel_time")]
    if not times:
        raise RuntimeError("onnxruntime's profile has no node for y1")
    return statistics.median(times), min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=300)
    p.add_argument("--dlc", default=os.path.join(HERE, "..", "build", "dlc"))
    args = p.parse_args()
    print(f"onnxruntime {ort.__version__}, {args.threads} thread(s), {args.iterations} runs each; "
          "the conv's step alone, median and minimum ms (on a shared machine the minimum is the steadier)\n")
    print("| layer | ort median | dlc median | dlc/ort | ort min | dlc min | dlc/ort |")
    print("|---|---|---|---|---|---|---|")
    for name, shape in CASES.items():
        path = os.path.join(HERE, "models", "conv_layers", re.sub(r"[^0-9a-z]+", "_", name))
        build(path, *shape)
        d, dmin = dlc_step_ms(args.dlc, path, args.threads, args.iterations)
        o, omin = ort_step_ms(path, args.threads, args.iterations)
        print(f"| {name} | {o:.3f} | {d:.3f} | {d / o:.3f} | {omin:.3f} | {dmin:.3f} | {dmin / omin:.3f} |", flush=True)


if __name__ == "__main__":
    main()
