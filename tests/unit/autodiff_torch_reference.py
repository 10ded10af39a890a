# Generates the PyTorch reference numbers in tests/unit/autodiff_test.cpp
# (run once with /work/wt-bench/.venv/bin/python; the numbers are committed).
# Three optimizer steps on loss = sum(c * w * w), and the three losses.
import torch

torch.set_printoptions(precision=17)
w0 = [0.5, -1.25, 2.0]
c = torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64)


def run(make):
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = make([w])
    for _ in range(3):
        opt.zero_grad()
        (c * w * w).sum().backward()
        opt.step()
    return [f"{v:.17g}" for v in w.detach().tolist()]


configs = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum_wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda p: torch.optim.Adam(p, lr=0.1, weight_decay=0.1),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.1),
}
for name, make in configs.items():
    print(name, ", ".join(run(make)))

logits = torch.tensor([[1.0, -0.5, 2.0], [0.3, 0.2, -1.0]], dtype=torch.float64)
labels = torch.tensor([2, 0])
target = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]], dtype=torch.float64)
F = torch.nn.functional
print("cross_entropy mean", f"{F.cross_entropy(logits, labels).item():.17g}")
print("cross_entropy sum", f"{F.cross_entropy(logits, labels, reduction='sum').item():.17g}")
print("mse mean", f"{F.mse_loss(logits, target).item():.17g}")
print("bce_with_logits mean", f"{F.binary_cross_entropy_with_logits(logits, target).item():.17g}")
print("bce_with_logits sum", f"{F.binary_cross_entropy_with_logits(logits, target, reduction='sum').item():.17g}")
