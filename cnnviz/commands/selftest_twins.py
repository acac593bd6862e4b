"""The self-test's numbers and data checks: a pass against the NumPy twins, bundled files."""

from __future__ import annotations

import json

import numpy as np

from cnnviz.core import reference as R
from cnnviz.core.layers import Layer
from cnnviz.core.network import Network, PassResult
from cnnviz.core.presets import get_preset
from cnnviz.data import open_dataset
from cnnviz.data.fileio import bundled_file
from cnnviz.data.images import load_image


def _relative(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest difference relative to the reference's largest magnitude."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-12)
    return float(np.max(np.abs(np.asarray(actual, dtype=np.float64) - expected), initial=0.0)
                 / scale)


def _twin_forward(layer: Layer, x: np.ndarray) -> np.ndarray:
    """The NumPy twin of one layer's forward (LeNet-5's layer types)."""
    c, p = layer.config, layer.params
    if layer.type == "conv2d":
        return R.conv2d_forward(x, p["weight"], p["bias"], c["stride"], c["padding"])
    if layer.type == "maxpool2d":
        return R.maxpool2d_forward(x, c["kernel_size"], c["stride"], c["padding"])[0]
    if layer.type == "relu":
        return R.relu_forward(x)
    if layer.type == "dense":
        return R.dense_forward(x, p["weight"], p["bias"])
    return x.reshape(len(x), -1)  # flatten


def _twin_backward(layer: Layer, x: np.ndarray, delta: np.ndarray,
                   argmax: np.ndarray | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The twin of one layer's backward: dE/d(input) and the parameter gradients."""
    c, p = layer.config, layer.params
    if layer.type in ("conv2d", "dense"):
        if layer.type == "conv2d":
            grad, gw, gb = R.conv2d_backward(x, p["weight"], delta, c["stride"], c["padding"])
        else:
            grad, gw, gb = R.dense_backward(x, p["weight"], delta)
        return grad, {f"{layer.index}.weight": gw, f"{layer.index}.bias": gb}
    if layer.type == "maxpool2d":
        return R.maxpool2d_backward(delta, argmax, x.shape), {}
    if layer.type == "relu":
        return R.relu_backward(x, delta), {}
    return delta.reshape(x.shape), {}  # flatten


def _errors(p: PassResult, net: Network, y: np.ndarray) -> list[tuple[float, str]]:
    """Each op of the pass recomputed by its twin from the pass's own inputs, in the
    order the pass runs them: forward, loss, backward."""
    forward, backward = [], []
    for layer in net.layers:
        i, name = layer.index, f"layer {layer.index} ({layer.type})"
        x = p.input if i == 0 else p.outputs[i - 1]
        forward.append((_relative(p.outputs[i], _twin_forward(layer, x)), f"{name} forward"))
        grad, params = _twin_backward(layer, x, p.output_grads[i], p.pool_argmax.get(i))
        below = p.input_grad if i == 0 else p.output_grads[i - 1]
        ops = [(_relative(below, grad), f"{name} backward")]
        ops += [(_relative(p.grads[key], value), f"{name} gradient {key}")
                for key, value in params.items()]
        backward = ops + backward
    loss = (_relative(p.loss, R.softmax_cross_entropy(p.outputs[-1], y)[0]), "the loss")
    return [*forward, loss, *backward]


def compare_pass_with_twins(tolerance: float) -> tuple[float, str]:
    """(relative error, where) of a LeNet-5 pass on two random images: the first op over
    `tolerance`, else the largest error."""
    net = Network.from_spec(get_preset("lenet5"), seed=0, dtype="float32")
    rng = np.random.default_rng(0)
    x = rng.random((2, *net.spec.input_shape), dtype=np.float32)
    y = np.array([7, 1])
    errors = _errors(net.run_pass(x, y), net, y)
    bad = [error for error in errors if error[0] > tolerance]
    return bad[0] if bad else max(errors)


def check_bundled_files() -> str:
    """Load the MNIST subset, the sample images, and bundled weights/lessons if present."""
    data = open_dataset("mnist")
    found = [f"MNIST {len(data.images):,} images"]
    samples = sorted(f for f in bundled_file("samples").iterdir() if f.name.endswith(".png"))
    for sample in samples:
        load_image(str(sample), size=(28, 28))
    found.append(f"{len(samples)} sample images")
    found += _optional_files("weights", ".npz", _load_weights)
    found += _optional_files("lessons", ".json", lambda f: json.loads(f.read_text("utf-8")))
    return ", ".join(found)


def _optional_files(folder: str, suffix: str, load: object) -> list[str]:
    """Load every `suffix` file of a bundled folder, if the folder exists."""
    root = bundled_file(folder)
    if not root.is_dir():
        return []
    files = [f for f in root.iterdir() if f.name.endswith(suffix)]
    for file in files:
        load(file)
    return [f"{len(files)} {folder} files"]


def _load_weights(file: object) -> None:
    """A bundled weights file: an npz of finite arrays."""
    with file.open("rb") as handle, np.load(handle, allow_pickle=False) as npz:
        for key in npz.files:
            if not np.all(np.isfinite(npz[key])):
                raise ValueError(f"{file.name}: {key} holds non-finite values")
