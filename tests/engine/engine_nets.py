"""Networks and batches shared by the engine tests."""

import numpy as np
from block_nets import random_spec

from cnnviz.core import Network
from cnnviz.core.presets import get_preset
from cnnviz.engine import Stepper

# avgpool with padding, leaky_relu, tanh, a strided and padded conv, stride-1 max pool
MIXED = {
    "input": [2, 9, 9],
    "layers": [
        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "leaky_relu", "negative_slope": 0.1},
        {"type": "avgpool2d", "kernel_size": 2, "padding": 1},
        {"type": "tanh"},
        {"type": "maxpool2d", "kernel_size": 2, "stride": 1},
        {"type": "flatten"},
        {"type": "dense", "units": 4},
        {"type": "sigmoid"},
        {"type": "dense", "units": 3},
    ],
    "loss": "cross_entropy",
}


def make_net(spec, dtype="float64", seed=3):
    """A network with random (non-zero) biases, so that constants are exercised."""
    net = Network.from_spec(spec, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    state = net.state_dict()
    for key in state:
        if key.endswith(".bias"):
            state[key] = rng.normal(0, 0.3, state[key].shape)
    net.load_state_dict(state)
    return net


def batch(net, n, seed=0):
    """A random input batch and labels for net."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *net.spec.input_shape))
    y = rng.integers(0, net.spec.num_classes, n)
    return x, y


# a stem with batch norm, an identity block with dropout, a flat head
BLOCKS = {"input": [3, 6, 6], "layers": [
    {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}, {"type": "batchnorm2d"},
    {"type": "residual", "body": [{"type": "conv2d", "out_channels": 3, "kernel_size": 3,
                                   "padding": 1}, {"type": "relu"}, {"type": "dropout", "p": 0.4}]},
    {"type": "residual", "body": [{"type": "conv2d", "out_channels": 2, "kernel_size": 1}],
     "shortcut": [{"type": "conv2d", "out_channels": 2, "kernel_size": 1},
                  {"type": "batchnorm2d"}]},
    {"type": "flatten"}, {"type": "dense", "units": 3}]}
NETS = [("blocks", BLOCKS), ("mini-resnet", None), ("deep-sigmoid-skip", None),
        ("lenet5-dropout", None)] + [(f"random{k}", random_spec(k)) for k in range(4)]


def build(name: str, spec: dict | None, dtype: str) -> Network:
    """The named preset or the given spec, seeded."""
    return Network.from_spec(spec if spec is not None else get_preset(name), seed=5, dtype=dtype)


def block_batch(net: Network, n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A seeded batch and labels."""
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, *net.spec.input_shape)), rng.integers(0, 3, n)


def snapshot(st: Stepper) -> dict:
    """Parameters, buffers and the mask generator's state of the stepper's network."""
    return {"state": st.net.state_dict(), "rng": st.net.rng.bit_generator.state}


def same_snapshot(a: dict, b: dict) -> bool:
    """Bitwise equality of two snapshots."""
    return a["rng"] == b["rng"] and a["state"].keys() == b["state"].keys() and all(
        np.array_equal(a["state"][k], b["state"][k]) for k in a["state"])


def same_records(a: list, b: list) -> bool:
    """Bitwise equality of two lists of step records (names, values, meta)."""
    return len(a) == len(b) and all(
        x.name == y.name and x.values.keys() == y.values.keys() and x.meta.keys() == y.meta.keys()
        and all(np.array_equal(x.values[k], y.values[k]) for k in x.values)
        for x, y in zip(a, b, strict=True))
