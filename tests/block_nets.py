"""Random residual-block, batch-norm and dropout network specs shared by the tests."""

from __future__ import annotations

import numpy as np


def conv(filters: int, kernel: int = 3, stride: int = 1) -> dict:
    """A conv2d entry with 'same' padding for odd kernels."""
    return {"type": "conv2d", "out_channels": int(filters), "kernel_size": kernel,
            "stride": stride, "padding": kernel // 2}


def random_block(rng: np.random.Generator, c: int) -> tuple[dict, int]:
    """An identity, projection or bottleneck block on c channels; returns it and its width."""
    bn = [{"type": "batchnorm2d", "momentum": float(rng.uniform(0.05, 0.5))}]
    drop = [{"type": "dropout", "p": float(rng.uniform(0, 0.6))}] if rng.random() < 0.5 else []
    kind = rng.choice(["identity", "projection", "bottleneck"])
    if kind == "identity":
        body = [conv(c), *bn, {"type": "relu"}, *drop, conv(c)]
        return {"type": "residual", "body": body}, c
    if kind == "projection":
        width, stride = int(rng.integers(2, 6)), int(rng.integers(1, 3))
        body = [conv(width, stride=stride), *bn, {"type": "tanh"}, conv(width)]
        shortcut = [conv(width, kernel=1, stride=stride)]
        if rng.random() < 0.5:
            shortcut.append({"type": "batchnorm2d"})
        return {"type": "residual", "body": body, "shortcut": shortcut}, width
    mid = max(1, c // 2)
    body = [conv(mid, kernel=1), *bn, {"type": "relu"}, conv(mid), *drop, conv(c, kernel=1),
            {"type": "batchnorm2d"}]
    return {"type": "residual", "body": body}, c


def random_spec(seed: int) -> dict:
    """A stem, one to three random blocks, a flat tail with batchnorm1d and dropout."""
    rng = np.random.default_rng(seed)
    c, size = int(rng.integers(2, 5)), int(rng.integers(5, 9))
    layers = [conv(c), {"type": "batchnorm2d"}, {"type": "relu"}]
    for _ in range(int(rng.integers(1, 4))):
        block, c = random_block(rng, c)
        layers += [block, {"type": "relu"}]
    layers += [{"type": "avgpool2d", "kernel_size": 2}] if rng.random() < 0.5 else []
    layers += [{"type": "flatten"}, {"type": "dense", "units": 6}, {"type": "batchnorm1d"},
               {"type": "residual", "body": [{"type": "tanh"}, {"type": "dropout", "p": 0.2}]},
               {"type": "dropout", "p": 0.4}, {"type": "dense", "units": 3}]
    return {"input": [int(rng.integers(1, 4)), size, size], "layers": layers}
