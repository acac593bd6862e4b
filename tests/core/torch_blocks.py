"""Test helper: the PyTorch float64 twin of a cnnviz network, residual blocks included.

A block is a module with `body` and `shortcut` nn.Sequentials (identity = an empty one),
so that its state_dict names are the ones DESIGN.md fixes. Dropout takes the mask cnnviz
recorded (x·mask/(1 − p), by hand), so that both sides drop the same units.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def torch_twin(net: Any, torch: Any) -> Any:
    """An nn.Sequential equal to `net`, holding net's parameters and buffers."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, body: list, shortcut: list) -> None:
            super().__init__()
            self.body = nn.Sequential(*body)
            self.shortcut = nn.Sequential(*shortcut)

        def forward(self, x):
            return self.body(x) + self.shortcut(x)

    class MaskedDropout(nn.Module):
        def __init__(self, p: float) -> None:
            super().__init__()
            self.p, self.mask = p, None

        def forward(self, x):
            if not self.training:
                return x
            return x * torch.from_numpy(self.mask) / (1 - self.p)

    def module(layer: Any) -> Any:
        c = layer.config
        if layer.type == "residual":
            return Block([module(inner) for inner in layer.body],
                         [module(inner) for inner in layer.shortcut])
        if layer.type == "conv2d":
            return nn.Conv2d(layer.in_shape[0], c["out_channels"], c["kernel_size"],
                             c["stride"], c["padding"])
        if layer.type in ("batchnorm2d", "batchnorm1d"):
            cls = nn.BatchNorm2d if layer.type == "batchnorm2d" else nn.BatchNorm1d
            return cls(layer.in_shape[0], eps=c["eps"], momentum=c["momentum"])
        if layer.type == "dropout":
            return MaskedDropout(c["p"])
        if layer.type == "dense":
            return nn.Linear(layer.in_shape[0], c["units"])
        if layer.type in ("maxpool2d", "avgpool2d"):
            cls = nn.MaxPool2d if layer.type == "maxpool2d" else nn.AvgPool2d
            return cls(c["kernel_size"], c["stride"], c["padding"])
        return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
                "flatten": nn.Flatten}[layer.type]()

    model = nn.Sequential(*[module(layer) for layer in net.layers]).double()
    load_into(model, net.state_dict(), torch)
    return model.train(net.training)


def load_into(model: Any, state: dict[str, np.ndarray], torch: Any) -> None:
    """Load a cnnviz state_dict by name; only num_batches_tracked may be left out."""
    tensors = {name: torch.from_numpy(np.array(value)) for name, value in state.items()}
    result = model.load_state_dict(tensors, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys
    assert all(k.endswith("num_batches_tracked") for k in result.missing_keys), result


def copy_masks(net: Any, model: Any) -> None:
    """Give every torch dropout the mask of the matching cnnviz layer's latest pass."""
    from cnnviz.core.layers import Dropout

    for layer, twin in zip(_walk(net.layers), _walk_torch(model), strict=True):
        if isinstance(layer, Dropout):
            twin.mask = layer.saved.get("mask")


def _walk(layers: list) -> list:
    """cnnviz layers depth first: a block's body, then its shortcut."""
    found = []
    for layer in layers:
        found.append(layer)
        if layer.type == "residual":
            found.extend(_walk([*layer.body, *layer.shortcut]))
    return found


def _walk_torch(model: Any) -> list:
    """The torch modules in the same order as _walk."""
    found = []
    for module in model:
        found.append(module)
        if hasattr(module, "body"):
            found.extend(_walk_torch([*module.body, *module.shortcut]))
    return found
