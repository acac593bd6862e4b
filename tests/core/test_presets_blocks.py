"""The presets of issue 12: mini-resnet, deep-sigmoid-skip, lenet5-dropout, rgb-shapes."""

from __future__ import annotations

import numpy as np

from cnnviz.core import Network
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import parse_spec
from cnnviz.data import open_dataset


def test_mini_resnet_has_every_promised_part():
    spec = parse_spec(get_preset("mini-resnet"))
    assert spec.input_shape == (1, 28, 28) and spec.num_classes == 10
    blocks = [layer for layer in spec.layers if layer.type == "residual"]
    identity, down, bottleneck = blocks
    assert identity.shortcut == ()
    assert [s.type for s in down.shortcut] == ["conv2d", "batchnorm2d"]
    projection = down.shortcut[0].config
    assert projection["kernel_size"] == (1, 1) and projection["stride"] == (2, 2)
    assert down.in_shape == (16, 14, 14) and down.out_shape == (32, 7, 7)
    kernels = [s.config["kernel_size"][0] for s in bottleneck.body if s.type == "conv2d"]
    assert kernels == [1, 3, 1] and bottleneck.shortcut == ()
    types = [layer.type for layer in spec.layers]
    assert types[0] == "conv2d" and "batchnorm2d" in types and "avgpool2d" in types
    assert types[-1] == "dense"


def test_deep_sigmoid_skip_is_deep_sigmoid_with_identity_shortcuts():
    plain = parse_spec(get_preset("deep-sigmoid"))
    skip = parse_spec(get_preset("deep-sigmoid-skip"))
    sigmoids = [layer for layer in plain.layers if layer.type == "sigmoid"]
    blocks = [layer for layer in skip.layers if layer.type == "residual"]
    assert len(sigmoids) == 7 and len(blocks) == 6
    assert all(b.shortcut == () and [s.type for s in b.body] == ["conv2d", "sigmoid"]
               for b in blocks)
    assert skip.layers[0].out_shape == (32, 1, 1)  # the first dense layer, as a conv


def first_layer_gradient_norm(name: str, x: np.ndarray, y: np.ndarray) -> float:
    """‖∂E/∂w‖ of the first layer with weights, at initialisation (seed 0, float64)."""
    net = Network.from_spec(get_preset(name), seed=0, dtype="float64")
    grads = net.run_pass(x, y).grads
    return float(np.linalg.norm(grads[next(iter(net.params()))]))


def test_skip_connections_keep_the_first_layer_gradient_alive():
    """Vanishing gradients and their fix: deep-sigmoid vs deep-sigmoid-skip on one batch."""
    x, y = open_dataset("mnist").train()
    x, y = x[:64], y[:64]
    plain = first_layer_gradient_norm("deep-sigmoid", x, y)
    skip = first_layer_gradient_norm("deep-sigmoid-skip", x, y)
    print(f"first-layer gradient norm: deep-sigmoid {plain:.3e}, deep-sigmoid-skip {skip:.3e}, "
          f"ratio {skip / plain:,.0f}")
    assert skip >= 100 * plain


def test_lenet5_dropout_is_lenet5_plus_dropout():
    lenet = parse_spec(get_preset("lenet5"))
    dropout = parse_spec(get_preset("lenet5-dropout"))
    kept = [layer for layer in dropout.layers if layer.type != "dropout"]
    assert [(s.type, s.out_shape) for s in kept] == [(s.type, s.out_shape) for s in lenet.layers]
    assert [s.config["p"] for s in dropout.layers if s.type == "dropout"] == [0.3, 0.3]
    assert dropout.param_count == lenet.param_count


def test_rgb_shapes_fits_the_colour_shapes_dataset():
    spec = parse_spec(get_preset("rgb-shapes"))
    data = open_dataset("shapes-rgb", n=18)
    assert spec.input_shape == data.input_shape == (3, 16, 16)
    assert spec.num_classes == data.num_classes == 9
