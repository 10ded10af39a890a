#!/usr/bin/env python3
"""Exports the benchmark models to ONNX, with PyTorch, into bench/models/.

Each case is a folder bench/models/<model>_b<batch>/ holding model.onnx
(opset 17, TorchScript exporter, constant folding, static shapes) and one
<input name>.npy per input. Weights are random but seeded (no downloads);
BatchNorm statistics are made non-trivial so that the folded convolutions are
not identities.

Models (torchvision is not needed; the standard architectures are written
out below):
  resnet18     ResNet-18, 224x224, 1000 classes          batch 1, 8, 32
  mobilenetv2  MobileNetV2 (width 1.0), 224x224          batch 1, 8
  bert         BERT-style encoder: 4 layers, hidden 256, 4 heads, FFN 1024,
               seq 128, GELU, padding attention mask     batch 2, 8
  gpt          GPT-style decoder: 4 pre-norm layers, hidden 256, 4 heads,
               seq 128, causal mask, LM head (vocab 8000)  batch 1, 4
  mlp          784-1024-1024-10 with ReLU                batch 1, 256
  resnet50     ResNet-50 (25.6 M parameters), for the compile-time goal  batch 1
  matmul512    one MatMul, [512,512] x [512,512] weight (GEMM efficiency)
  matmul1024   one MatMul, [1024,1024] x [1024,1024] weight
  chain        an elementwise chain over 32 Mi floats (one fused kernel in
               dlc: 128 MiB read, 128 MiB written; HBM bandwidth)   batch 1

build_case(name, batch) returns the same torch module and inputs that are
exported (bench/run_cuda.py times that module in PyTorch and its export in
dlc); the forwards create their tensors on the inputs' device.

Usage: PY bench/export_models.py [--out bench/models] [--batches 1,32] [MODEL...]
(PY: a Python with torch, onnx and numpy, e.g. .venv/bin/python.)
"""
import argparse
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn

# --- CNNs -------------------------------------------------------------------


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNet(nn.Module):
    """torchvision's ResNet layout: 7x7 stem, max pool, 4 stages, avg pool, fc."""

    def __init__(self, block, depths, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for stage, depth in enumerate(depths):
            width = 64 * 2**stage
            for i in range(depth):
                layers.append(block(cin, width, 2 if stage > 0 and i == 0 else 1))
                cin = width * block.expansion
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        y = self.layers(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


def conv_bn(cin, cout, kernel, stride, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU6()) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [conv_bn(cin, hidden, 1, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, cout, 1, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 at width 1.0 (torchvision's inverted-residual table)."""

    def __init__(self, classes=1000):
        super().__init__()
        table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                 (6, 320, 1, 1)]
        layers, cin = [conv_bn(3, 32, 3, 2)], 32
        for expand, cout, repeats, stride in table:
            for i in range(repeats):
                layers.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand))
                cin = cout
        layers.append(conv_bn(cin, 1280, 1, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


# --- transformers -----------------------------------------------------------


class BertEncoder(nn.Module):
    """BERT-style: token + position embeddings, LayerNorm, post-norm encoder
    layers with GELU, padding mask from attention_mask, pooled tanh head."""

    def __init__(self, vocab=8000, dim=256, heads=4, layers=4, seq=128, classes=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(seq, dim)
        self.norm = nn.LayerNorm(dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 4, dropout=0.0, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pool = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, ids, mask):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.norm(self.tok(ids) + self.pos(positions))
        x = self.encoder(x, src_key_padding_mask=mask == 0)
        return self.head(torch.tanh(self.pool(x[:, 0])))


class GptDecoder(nn.Module):
    """GPT-style: pre-norm layers with a causal attention mask, LM head."""

    def __init__(self, vocab=8000, dim=256, heads=4, layers=4, seq=128):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(seq, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 4, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)

    def forward(self, ids):
        seq = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(seq, device=ids.device).unsqueeze(0))
        causal = torch.triu(torch.full((seq, seq), float("-inf"), device=x.device, dtype=x.dtype), diagonal=1)
        return self.lm_head(self.norm(self.blocks(x, mask=causal)))


class Mlp(nn.Module):
    def __init__(self, sizes=(784, 1024, 1024, 10)):
        super().__init__()
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i + 2 < len(sizes):
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class MatMul(nn.Module):
    """x @ W with W a [k, n] initializer: a single ONNX MatMul."""

    def __init__(self, k, n):
        super().__init__()
        self.w = nn.Parameter(torch.randn(k, n) / k**0.5)

    def forward(self, x):
        return x @ self.w


class Chain(nn.Module):
    """sigmoid(1.5 x + 0.25) * x - 0.5: elementwise only (one read, one write)."""

    def forward(self, x):
        return torch.sigmoid(x * 1.5 + 0.25) * x - 0.5


# --- cases --------------------------------------------------------------------


def image(batch, g):
    return {"input": torch.randn(batch, 3, 224, 224, generator=g)}


def tokens(batch, seq, g, with_mask):
    ids = torch.randint(0, 8000, (batch, seq), generator=g)
    if not with_mask:
        return {"input_ids": ids}
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[batch // 2:, seq * 3 // 4:] = 0  # the second half of the batch is padded
    return {"input_ids": ids, "attention_mask": mask}


# name -> (constructor, [(batch, input maker)])
MODELS = {
    "resnet18": (lambda: ResNet(BasicBlock, [2, 2, 2, 2]), [(b, lambda b, g: image(b, g)) for b in (1, 8, 32)]),
    "mobilenetv2": (MobileNetV2, [(b, lambda b, g: image(b, g)) for b in (1, 8)]),
    "bert": (BertEncoder, [(b, lambda b, g: tokens(b, 128, g, True)) for b in (2, 8)]),
    "gpt": (GptDecoder, [(b, lambda b, g: tokens(b, 128, g, False)) for b in (1, 4)]),
    "mlp": (Mlp, [(b, lambda b, g: {"input": torch.randn(b, 784, generator=g)}) for b in (1, 256)]),
    "resnet50": (lambda: ResNet(Bottleneck, [3, 4, 6, 3]), [(1, lambda b, g: image(b, g))]),
    "matmul512": (lambda: MatMul(512, 512), [(512, lambda b, g: {"input": torch.randn(b, 512, generator=g)})]),
    "matmul1024": (lambda: MatMul(1024, 1024), [(1024, lambda b, g: {"input": torch.randn(b, 1024, generator=g)})]),
    "chain": (Chain, [(1, lambda b, g: {"input": torch.randn(b, 32 << 20, generator=g)})]),
}


def randomize_batchnorm(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def build_case(name, batch):
    """(module in eval mode on the CPU, {input name: tensor}) of one case: what export() writes."""
    make, cases = MODELS[name]
    makers = dict(cases)
    if batch not in makers:
        raise KeyError(f"{name} has no batch {batch} (batches: {sorted(makers)})")
    torch.manual_seed(0)
    model = make().eval()
    randomize_batchnorm(model, 1)
    return model, makers[batch](batch, torch.Generator().manual_seed(2))


def export_module(model, inputs, case):
    """Writes case/model.onnx (opset 17, static shapes) and case/<input>.npy; returns a summary line."""
    os.makedirs(case, exist_ok=True)
    path = os.path.join(case, "model.onnx")
    # Not under torch.no_grad(): there, TransformerEncoderLayer takes a fused
    # fast path that the TorchScript exporter cannot export.
    torch.onnx.export(model, tuple(inputs.values()), path, input_names=list(inputs), output_names=["output"],
                      opset_version=17, dynamo=False, do_constant_folding=True)
    for input_name, tensor in inputs.items():
        np.save(os.path.join(case, f"{input_name}.npy"), tensor.numpy())
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    ops = sorted({n.op_type for n in proto.graph.node})
    return f"{os.path.getsize(path) / 1e6:.1f} MB, {len(proto.graph.node)} nodes, ops: {' '.join(ops)}"


def export(name, out_dir, batches=None):
    for batch, _ in MODELS[name][1]:
        if batches and batch not in batches:
            continue
        model, inputs = build_case(name, batch)
        summary = export_module(model, inputs, os.path.join(out_dir, f"{name}_b{batch}"))
        print(f"{name}_b{batch}: {summary}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
    parser.add_argument("--batches", help="comma-separated batch sizes to keep (default: every case)")
    parser.add_argument("models", nargs="*", help=f"subset of: {' '.join(MODELS)}")
    args = parser.parse_args()
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s): {' '.join(unknown)}; known: {' '.join(MODELS)}")
    # dynamo=False is deliberate (the brief's exporter): keep its notice quiet.
    warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
    torch.set_num_threads(2)
    for name in args.models or MODELS:
        export(name, args.out, {int(b) for b in args.batches.split(",")} if args.batches else None)


if __name__ == "__main__":
    main()
