"""Ready-made network specs (plain data) for the layer editor, the CLI and the lectures.

Each preset is a spec dict in the format of `cnnviz.core.spec`; `get_preset` hands out a
deep copy so that a caller may edit it freely.
"""

from __future__ import annotations

import copy

from cnnviz.core.spec import SpecError, parse_spec


def _conv(filters: int, kernel: int, padding: int = 0, stride: int = 1) -> dict:
    """A conv2d layer entry (stride written only when it is not 1)."""
    entry = {"type": "conv2d", "out_channels": filters, "kernel_size": kernel, "padding": padding}
    return entry if stride == 1 else {**entry, "stride": stride}


def _dense(units: int) -> dict:
    """A dense layer entry."""
    return {"type": "dense", "units": units}


def _plain(kind: str) -> dict:
    """A layer entry without fields (activations, flatten)."""
    return {"type": kind}


def _pool2() -> dict:
    """A 2×2 max pool with stride 2."""
    return {"type": "maxpool2d", "kernel_size": 2}


def _bn() -> dict:
    """A batchnorm2d entry with PyTorch's defaults."""
    return {"type": "batchnorm2d"}


def _block(body: list[dict], shortcut: list[dict] | None = None) -> dict:
    """A residual block entry; no shortcut: the identity."""
    return {"type": "residual", "body": body, "shortcut": shortcut or "identity"}


def _basic_block(filters: int, stride: int = 1, project: bool = False) -> dict:
    """ResNet's basic block: two 3×3 convs with batch norm; a 1×1 projection if asked."""
    body = [_conv(filters, 3, 1, stride), _bn(), _plain(RELU), _conv(filters, 3, 1), _bn()]
    return _block(body, [_conv(filters, 1, 0, stride), _bn()] if project else None)


def _bottleneck(filters: int, squeeze: int) -> dict:
    """ResNet's bottleneck: 1×1 down to `squeeze` channels, 3×3, 1×1 back up."""
    body = [_conv(squeeze, 1), _bn(), _plain(RELU), _conv(squeeze, 3, 1), _bn(), _plain(RELU),
            _conv(filters, 1), _bn()]
    return _block(body)


def _lenet5(dropout: float = 0.0) -> list[dict]:
    """LeNet-5's layers; with dropout after each hidden dense layer's relu."""
    drop = [{"type": "dropout", "p": dropout}] if dropout else []
    return [
        _conv(6, 5, padding=2), _plain(RELU), _pool2(),
        _conv(16, 5), _plain(RELU), _pool2(),
        _plain(FLATTEN), _dense(120), _plain(RELU), *drop,
        _dense(84), _plain(RELU), *[dict(d) for d in drop], _dense(10),
    ]  # fmt: skip


# Every layer entry is a fresh dict, so that no two places of PRESETS share an object.
RELU, SIGMOID, FLATTEN = "relu", "sigmoid", "flatten"

PRESETS: dict[str, dict] = {
    # The seeds' square detector: one 4×4 filter finds a square in an 8×8 image.
    "square": {
        "input": [1, 8, 8],
        "layers": [_conv(1, 4), _plain(SIGMOID), _pool2(), _plain(FLATTEN), _dense(2)],
        "loss": "mse",
    },
    # The same network whose bundled weights hold seed 000's learned filter W_{t+n}
    # (cnnviz.core.seed_square); only its dense layer was trained.
    "square-seed": {
        "input": [1, 8, 8],
        "layers": [_conv(1, 4), _plain(SIGMOID), _pool2(), _plain(FLATTEN), _dense(2)],
        "loss": "mse",
    },
    "lenet5": {"input": [1, 28, 28], "layers": _lenet5(), "loss": "cross_entropy"},
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
    # deep-sigmoid with identity shortcuts. Blocks hold maps, so each 32-unit dense layer
    # is a conv on a 1×1 map (a 28×28 kernel on the image for the first): the same
    # functions, and the gradient now also flows around every sigmoid.
    "deep-sigmoid-skip": {
        "input": [1, 28, 28],
        "layers": [
            _conv(32, 28),
            _plain(SIGMOID),
            *[_block([_conv(32, 1), _plain(SIGMOID)]) for _ in range(6)],
            _plain(FLATTEN),
            _dense(10),
        ],
        "loss": "cross_entropy",
    },
    "lenet5-dropout": {"input": [1, 28, 28], "layers": _lenet5(0.3), "loss": "cross_entropy"},
    "mini-resnet": {
        "input": [1, 28, 28],
        "layers": [
            _conv(16, 3, padding=1), _bn(), _plain(RELU), _pool2(),  # stem: 16×14×14
            _basic_block(16), _plain(RELU),                          # identity shortcut
            _basic_block(32, stride=2, project=True), _plain(RELU),  # 32×7×7, 1×1 projection
            _bottleneck(32, 16), _plain(RELU),                       # 1×1 → 3×3 → 1×1
            {"type": "avgpool2d", "kernel_size": 2}, _plain(FLATTEN), _dense(10),  # 32×3×3
        ],
        "loss": "cross_entropy",
    },  # fmt: skip
    # Colour shapes (dataset "shapes-rgb"): the label is a colour and a shape together.
    "rgb-shapes": {
        "input": [3, 16, 16],
        "layers": [
            _conv(8, 3, padding=1), _bn(), _plain(RELU), _pool2(),
            _conv(16, 3, padding=1), _plain(RELU), _pool2(),
            _plain(FLATTEN), _dense(9),
        ],
        "loss": "cross_entropy",
    },  # fmt: skip
}

_DESCRIPTIONS = {
    "square": "the seeds' square detector: one 4×4 filter on an 8×8 image, MSE loss",
    "square-seed": "the square detector with seed 000's learned 4×4 filter W_{t+n} "
    "(bundled weights)",
    "lenet5": "LeNet-5 for 28×28 digits: two conv+pool stages, three dense layers",
    "tinyvgg": "a tiny VGG: two stages of two 3×3 convs and a max pool, then dense",
    "mlp": "a multilayer perceptron: no convolutions, two hidden dense layers",
    "deep-sigmoid": "seven sigmoid dense layers in a row, to watch gradients vanish",
    "deep-sigmoid-skip": "deep-sigmoid with identity shortcuts around six of its sigmoid "
    "layers: the gradient reaches the first layer",
    "lenet5-dropout": "LeNet-5 with dropout (p 0.3) after its two hidden dense layers",
    "mini-resnet": "a small ResNet: stem, identity block, downsampling block with a 1×1 "
    "projection, 1×1-3×3-1×1 bottleneck, batch norm, average pooling",
    "rgb-shapes": "a small colour network for the 16×16 colour shapes (shapes-rgb, 9 classes)",
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
