# Generates tests/unit/data/trainer_torch_parity.txt, the PyTorch reference
# for tests/unit/trainer_parity_test.cpp: the loss at each of the first 20
# steps of SGD (momentum 0.9) and Adam on a small MLP and a small CNN, from
# the same initial weights and batches as the test (both defined by the
# formula `wave` below, so the test needs no Python and no data files).
# Run once with /work/wt-bench/.venv/bin/python; the output is committed.
import math
import sys

import numpy as np
import torch

F = torch.nn.functional
STEPS = 20


def wave(shape, scale, freq, phase):
    n = int(np.prod(shape))
    v = np.array([scale * math.sin(freq * i + phase) for i in range(n)], dtype=np.float64)
    return torch.tensor(v.astype(np.float32).reshape(shape))


def labels(n, classes, step):
    return torch.tensor([(7 * i + 3 * step) % classes for i in range(n)], dtype=torch.int64)


def mlp_params():
    return {"fc1.w": wave((5, 6), 0.4, 0.9, 0.1), "fc1.b": wave((5,), 0.1, 1.3, 0.2),
            "fc2.w": wave((3, 5), 0.4, 1.7, 0.3), "fc2.b": wave((3,), 0.1, 0.5, 0.4)}


def mlp_forward(p, x):
    h = F.relu(F.linear(x, p["fc1.w"], p["fc1.b"]))
    return F.linear(h, p["fc2.w"], p["fc2.b"])


def mlp_batch(step):
    return wave((8, 6), 1.0, 0.37, 0.1 * step), labels(8, 3, step)


def cnn_params():
    return {"conv.w": wave((3, 1, 3, 3), 0.4, 1.3, 0.1), "conv.b": wave((3,), 0.1, 0.7, 0.2),
            "fc.w": wave((4, 27), 0.2, 0.7, 0.3), "fc.b": wave((4,), 0.1, 0.9, 0.4)}


def cnn_forward(p, x):
    c = F.relu(F.conv2d(x, p["conv.w"], p["conv.b"], padding=1))
    return F.linear(torch.flatten(F.max_pool2d(c, 2, 2), 1), p["fc.w"], p["fc.b"])


def cnn_batch(step):
    return wave((4, 1, 6, 6), 1.0, 0.41, 0.1 * step), labels(4, 4, step)


def run(params, forward, batch, make_opt):
    p = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    opt = make_opt(list(p.values()))
    losses = []
    for step in range(1, STEPS + 1):
        x, y = batch(step)
        opt.zero_grad()
        loss = F.cross_entropy(forward(p, x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


optimizers = {
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
}
models = {"mlp": (mlp_params, mlp_forward, mlp_batch), "cnn": (cnn_params, cnn_forward, cnn_batch)}
print(f"# torch {torch.__version__}, float32; written by tests/unit/trainer_torch_parity.py")
for mname, (params, forward, batch) in models.items():
    for oname, make in optimizers.items():
        losses = run(params(), forward, batch, make)
        print(mname, oname, " ".join(f"{v:.9g}" for v in losses))
