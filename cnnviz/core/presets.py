"""Ready-made network specs (plain data) for the layer editor, the CLI and the lectures.

Each preset is a spec dict in the format of `cnnviz.core.spec`; `get_preset` hands out a
deep copy so that a caller may edit it freely.
"""

from __future__ import annotations

import copy

from cnnviz.core.spec import SpecError, parse_spec


def _conv(filters: int, kernel: int, padding: int = 0) -> dict:
    """A conv2d layer entry."""
    return {"type": "conv2d", "out_channels": filters, "kernel_size": kernel, "padding": padding}


def _dense(units: int) -> dict:
    """A dense layer entry."""
    return {"type": "dense", "units": units}


def _plain(kind: str) -> dict:
    """A layer entry without fields (activations, flatten)."""
    return {"type": kind}


def _pool2() -> dict:
    """A 2×2 max pool with stride 2."""
    return {"type": "maxpool2d", "kernel_size": 2}


# Every layer entry is a fresh dict, so that no two places of PRESETS share an object.
RELU, SIGMOID, FLATTEN = "relu", "sigmoid", "flatten"

PRESETS: dict[str, dict] = {
    # The seeds' square detector: one 4×4 filter finds a square in an 8×8 image.
    "square": {
        "input": [1, 8, 8],
        "layers": [_conv(1, 4), _plain(SIGMOID), _pool2(), _plain(FLATTEN), _dense(2)],
        "loss": "mse",
    },
    "lenet5": {
        "input": [1, 28, 28],
        "layers": [
            _conv(6, 5, padding=2),
            _plain(RELU),
            _pool2(),
            _conv(16, 5),
            _plain(RELU),
            _pool2(),
            _plain(FLATTEN),
            _dense(120),
            _plain(RELU),
            _dense(84),
            _plain(RELU),
            _dense(10),
        ],
        "loss": "cross_entropy",
    },
    "tinyvgg": {
        "input": [1, 28, 28],
        "layers": [
            _conv(8, 3, padding=1),
            _plain(RELU),
            _conv(8, 3, padding=1),
            _plain(RELU),
            _pool2(),
            _conv(16, 3, padding=1),
            _plain(RELU),
            _conv(16, 3, padding=1),
            _plain(RELU),
            _pool2(),
            _plain(FLATTEN),
            _dense(10),
        ],
        "loss": "cross_entropy",
    },
    "mlp": {
        "input": [1, 28, 28],
        "layers": [
            _plain(FLATTEN),
            _dense(128),
            _plain(RELU),
            _dense(64),
            _plain(RELU),
            _dense(10),
        ],
        "loss": "cross_entropy",
    },
    # Seven sigmoid layers in a row: the gradient shrinks on its way back (vanishing).
    "deep-sigmoid": {
        "input": [1, 28, 28],
        "layers": [
            _plain(FLATTEN),
            *[layer for _ in range(7) for layer in (_dense(32), _plain(SIGMOID))],
            _dense(10),
        ],
        "loss": "cross_entropy",
    },
}

_DESCRIPTIONS = {
    "square": "the seeds' square detector: one 4×4 filter on an 8×8 image, MSE loss",
    "lenet5": "LeNet-5 for 28×28 digits: two conv+pool stages, three dense layers",
    "tinyvgg": "a tiny VGG: two stages of two 3×3 convs and a max pool, then dense",
    "mlp": "a multilayer perceptron: no convolutions, two hidden dense layers",
    "deep-sigmoid": "seven sigmoid dense layers in a row, to watch gradients vanish",
}


def preset_names() -> list[str]:
    """The preset names, in menu order."""
    return list(PRESETS)


def get_preset(name: str) -> dict:
    """A deep copy of the named preset's spec dict (unknown name: SpecError listing them)."""
    if not isinstance(name, str) or name not in PRESETS:
        raise SpecError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name])


def describe_preset(name: str) -> str:
    """One line for menus: what the preset is and how many parameters it has."""
    spec = parse_spec(get_preset(name))
    return f"{name}: {_DESCRIPTIONS[name]} ({spec.param_count:,} parameters)"
