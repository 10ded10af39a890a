#!/usr/bin/env python3
"""Exports the small real models that dlc is tested on, with PyTorch.

Each model is written in the ONNX backend-test layout:
    OUT/<name>/model.onnx
    OUT/<name>/test_data_set_0/input_K.pb, output_K.pb   (PyTorch's outputs)
so that `dlc conformance OUT/<name> --rtol 1e-4` compares dlc with the
exporter. Weights are random but seeded, and BatchNorm statistics are made
non-trivial, so the outputs are deterministic.

Usage: .venv/bin/python tests/models/export_models.py OUT_DIR [NAME...]
Needs torch, onnx (and onnxscript for torch's dynamo exporter) from PyPI.
"""
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class TinyResNet(nn.Module):
    """ResNet-18's structure at a small width: stem, 4 stages of 2 blocks."""

    def __init__(self, width=8, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, cin = [], width
        for i, mult in enumerate([1, 2, 4, 8]):
            cout = width * mult
            layers += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        y = self.layers(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class TinyMobileNet(nn.Module):
    """MobileNetV2-style inverted residuals with depthwise convolutions."""

    def __init__(self, classes=10):
        super().__init__()

        def block(cin, cout, stride, expand):
            hidden = cin * expand
            return nn.Sequential(
                nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                nn.ReLU6(), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.b1 = block(8, 8, 1, 4)
        self.b2 = block(8, 16, 2, 4)
        self.b3 = block(16, 16, 1, 4)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.b1(x)
        x = self.b2(x)
        x = x + self.b3(x)
        return self.fc(x.mean(dim=(2, 3)))


class TinyBert(nn.Module):
    """A BERT-style encoder: token + position embeddings, LayerNorm,
    post-norm transformer layers with GELU, a pooled classifier head."""

    def __init__(self, vocab=100, dim=32, heads=4, layers=2, seq=16, classes=3):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(seq, dim)
        self.norm = nn.LayerNorm(dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 4, dropout=0.0, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, classes)

    def forward(self, ids, mask):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.norm(self.tok(ids) + self.pos(positions))
        x = self.encoder(x, src_key_padding_mask=mask == 0)
        return x, self.head(torch.tanh(x[:, 0]))


class TinyGpt(nn.Module):
    """A GPT-style decoder: token + learned position embeddings, pre-norm
    layers with causal self-attention written out (q/k/v projections,
    scaled scores, a causal mask, softmax), a GELU MLP, a final LayerNorm
    and an LM head."""

    def __init__(self, vocab=64, dim=32, heads=4, layers=2, seq=12):
        super().__init__()
        self.heads = heads
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(seq, dim)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(dim), "qkv": nn.Linear(dim, 3 * dim), "proj": nn.Linear(dim, dim),
                "ln2": nn.LayerNorm(dim), "fc": nn.Linear(dim, 4 * dim), "out": nn.Linear(4 * dim, dim)}))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.register_buffer("causal", torch.tril(torch.ones(seq, seq, dtype=torch.bool)))

    def forward(self, ids):
        b, t = ids.shape
        x = self.tok(ids) + self.pos(torch.arange(t).unsqueeze(0))
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln1"](x)).split(x.shape[-1], dim=-1)
            q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / (q.shape[-1] ** 0.5)
            att = att.masked_fill(~self.causal[:t, :t], float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, -1)
            x = x + blk["proj"](y)
            x = x + blk["out"](nn.functional.gelu(blk["fc"](blk["ln2"](x))))
        return self.head(self.ln(x))


class TinyLstm(nn.Module):
    def __init__(self, features=8, hidden=16, classes=4):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


class DemoCnn(nn.Module):
    """The README's demo: a LeNet-style classifier for 28x28 images."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 10),
                                        nn.Softmax(dim=1))

    def forward(self, x):
        return self.classifier(self.features(x))


def randomize_batchnorm(model):
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def models():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2)
    yield "demo_cnn", DemoCnn(), (torch.rand(1, 1, 28, 28, generator=g),), ["input"], ["probabilities"], \
        {"input": {0: "N"}, "probabilities": {0: "N"}}
    yield "resnet_tiny", TinyResNet(), (torch.randn(2, 3, 64, 64, generator=g),), ["input"], ["logits"], \
        {"input": {0: "N"}, "logits": {0: "N"}}
    yield "mobilenet_tiny", TinyMobileNet(), (torch.randn(2, 3, 32, 32, generator=g),), ["input"], ["logits"], \
        {"input": {0: "N"}, "logits": {0: "N"}}
    ids = torch.randint(0, 100, (2, 16), generator=g)
    mask = torch.ones(2, 16, dtype=torch.int64)
    mask[1, 12:] = 0
    yield "bert_tiny", TinyBert(), (ids, mask), ["input_ids", "attention_mask"], ["hidden", "logits"], None
    yield "gpt_tiny", TinyGpt(), (torch.randint(0, 64, (2, 12), generator=g),), ["input_ids"], ["logits"], None
    yield "lstm_tiny", TinyLstm(), (torch.randn(3, 10, 8, generator=g),), ["input"], ["logits"], None


def write_case(out_dir, name, model, args, input_names, output_names, dynamic_axes):
    model.eval()
    randomize_batchnorm(model)
    case = os.path.join(out_dir, name)
    data = os.path.join(case, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    path = os.path.join(case, "model.onnx")
    torch.onnx.export(model, args, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=17, dynamo=False)
    with torch.no_grad():
        outs = model(*args)
    outs = outs if isinstance(outs, tuple) else (outs,)
    for k, (n, t) in enumerate(zip(input_names, args)):
        _save(os.path.join(data, f"input_{k}.pb"), t.numpy(), n)
    for k, (n, t) in enumerate(zip(output_names, outs)):
        _save(os.path.join(data, f"output_{k}.pb"), t.numpy(), n)
    onnx.checker.check_model(onnx.load(path))
    print(f"{name}: {os.path.getsize(path)} bytes, ops:",
          sorted({n.op_type for n in onnx.load(path).graph.node}))


def _save(path, array, name):
    with open(path, "wb") as f:
        f.write(onnx.numpy_helper.from_array(np.ascontiguousarray(array), name).SerializeToString())


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    wanted = set(sys.argv[2:])
    for case in models():
        if not wanted or case[0] in wanted:
            write_case(sys.argv[1], *case)


if __name__ == "__main__":
    main()
