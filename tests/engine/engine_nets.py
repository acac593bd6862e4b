"""Networks and batches shared by the engine tests."""

import numpy as np

from cnnviz.core import Network

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
