"""Finite differences against backprop in float64: every layer type and every preset."""

import pytest

from cnnviz.cli import main
from cnnviz.core import Network
from cnnviz.core.gradcheck import gradient_check, random_batch, relative_error
from cnnviz.core.presets import get_preset, preset_names


def single_layer_spec(layer: dict, input_shape=(2, 7, 6)) -> dict:
    """The layer under test, then flatten + dense so that a loss applies."""
    layers = [layer]
    if layer["type"] not in ("dense", "flatten"):
        layers.append({"type": "flatten"})
    layers.append({"type": "dense", "units": 3})
    return {"input": list(input_shape), "layers": layers, "loss": "cross_entropy"}


LAYER_CASES = [
    {
        "type": "conv2d",
        "out_channels": 3,
        "kernel_size": [3, 2],
        "stride": [2, 1],
        "padding": [1, 0],
    },
    {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
    {"type": "maxpool2d", "kernel_size": 2, "stride": 1, "padding": 1},
    {"type": "maxpool2d", "kernel_size": [3, 2]},
    {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "relu"},
    {"type": "leaky_relu", "negative_slope": 0.2},
    {"type": "sigmoid"},
    {"type": "tanh"},
    {"type": "flatten"},
]


@pytest.mark.parametrize("layer", LAYER_CASES, ids=lambda c: c["type"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_every_layer_type_passes_the_gradient_check(layer, loss):
    spec = single_layer_spec(layer)
    spec["loss"] = loss
    net = Network.from_spec(spec, seed=1, dtype="float64")
    x, y = random_batch(net, batch=3, seed=2)
    x = x * 2 - 1  # signed inputs exercise both sides of relu's kink
    for check in gradient_check(net, x, y, max_checks=None):
        assert check.max_rel_error < 1e-6, check


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_passes_the_gradient_check(name):
    net = Network.from_spec(get_preset(name), seed=0, dtype="float64")
    x, y = random_batch(net, batch=2, seed=0)
    checks = gradient_check(net, x, y, max_checks=40)
    names = {c.name for c in checks}
    assert set(net.params()) | {"input", "loss"} <= names  # every trainable tensor
    assert len(names) == len(net.params()) + len(net.layers) + 1  # + each layer's input δ
    for check in checks:
        assert check.max_rel_error < 1e-6, check


@pytest.mark.parametrize("name", ["square", "mlp"])
def test_end_to_end_check_of_the_whole_loss_also_passes(name):
    """The textbook check (nudge a weight, watch the network's loss) on shallow presets."""
    net = Network.from_spec(get_preset(name), seed=0, dtype="float64")
    x, y = random_batch(net, batch=2, seed=0)
    for check in gradient_check(net, x, y, max_checks=30, end_to_end=True):
        assert check.max_rel_error < 1e-5, check


def test_a_wrong_gradient_is_caught(monkeypatch):
    """Break the dense weight gradient on purpose: the check must fail for that tensor."""
    from cnnviz.core import layers

    original = layers.Dense._backward

    def broken(self, grad_out, need_input_grad):
        result = original(self, grad_out, need_input_grad)
        self.grads["weight"] = self.grads["weight"] * 1.01
        return result

    monkeypatch.setattr(layers.Dense, "_backward", broken)
    net = Network.from_spec(single_layer_spec({"type": "relu"}), seed=0, dtype="float64")
    x, y = random_batch(net, batch=2)
    failed = {c.name for c in gradient_check(net, x, y) if not c.passed}
    assert failed == {"2.weight"}


def test_relative_error_uses_a_floor_for_tiny_gradients():
    assert relative_error(1.0, 1.0 + 1e-9) < 1e-8
    assert relative_error(0.0, 1e-12) < 1e-4


def test_gradcheck_command_prints_a_table_and_passes(capsys):
    assert main(["gradcheck", "--preset", "square", "--max-checks", "0"]) == 0
    out = capsys.readouterr().out
    assert "0.weight" in out and "input" in out and "all" in out


def test_gradcheck_command_fails_on_a_tiny_tolerance(capsys):
    assert main(["gradcheck", "--preset", "square", "--tolerance", "1e-30"]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_gradcheck_command_reports_a_bad_spec_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"input": [1, 4, 4], "layers": [{"type": "conv2d"}]}')
    assert main(["gradcheck", "--spec", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "conv2d" in err
