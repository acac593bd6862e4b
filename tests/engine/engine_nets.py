"""Networks and batches shared by the engine tests."""

import numpy as np

from cnnviz.core import Network


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
