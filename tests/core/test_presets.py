"""The preset networks: every one parses, has the promised structure, and is handed out safely."""

from __future__ import annotations

import pytest

from cnnviz.core.presets import PRESETS, describe_preset, get_preset, preset_names
from cnnviz.core.spec import SpecError, parse_spec


def types(name: str) -> list[str]:
    """The layer types of a preset, in order."""
    return [layer.type for layer in parse_spec(get_preset(name)).layers]


def test_the_promised_presets_exist_in_menu_order():
    """The presets of the design, listed in a stable order (issue 12 added the last four,
    issue 11 square-seed)."""
    assert preset_names() == [
        "square", "square-seed", "lenet5", "tinyvgg", "mlp", "deep-sigmoid",
        "deep-sigmoid-skip", "lenet5-dropout", "mini-resnet", "rgb-shapes",
    ]  # fmt: skip
    assert set(preset_names()) == set(PRESETS)


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_parses_and_ends_in_class_scores(name):
    """Each preset is a valid spec with at least 2 classes."""
    spec = parse_spec(get_preset(name))
    assert spec.num_classes >= 2
    assert spec.param_count > 0


def test_square_is_the_seeds_square_detector():
    """1×8×8 input, one 4×4 filter, sigmoid, 2×2 max pool, flatten, 2 outputs, MSE loss."""
    spec = parse_spec(get_preset("square"))
    assert spec.input_shape == (1, 8, 8)
    assert types("square") == ["conv2d", "sigmoid", "maxpool2d", "flatten", "dense"]
    assert spec.layers[0].config["out_channels"] == 1
    assert spec.layers[0].config["kernel_size"] == (4, 4)
    assert spec.layers[2].config["kernel_size"] == (2, 2)
    assert spec.num_classes == 2
    assert spec.loss == "mse"


def test_lenet5_layers_and_parameter_count():
    """LeNet-5 as listed: 6@5×5 pad 2, pool, 16@5×5, pool, 120, 84, 10; 61,706 parameters."""
    spec = parse_spec(get_preset("lenet5"))
    assert spec.input_shape == (1, 28, 28)
    assert types("lenet5") == [
        "conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d",
        "flatten", "dense", "relu", "dense", "relu", "dense",
    ]  # fmt: skip
    assert [layer.index for layer in spec.layers] == list(range(12))
    conv1, conv2 = spec.layers[0], spec.layers[3]
    assert (conv1.config["out_channels"], conv1.config["padding"]) == (6, (2, 2))
    assert (conv2.config["out_channels"], conv2.config["padding"]) == (16, (0, 0))
    assert [spec.layers[i].out_shape for i in (0, 2, 3, 5, 6)] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (400,),
    ]  # fmt: skip
    assert [spec.layers[i].config["units"] for i in (7, 9, 11)] == [120, 84, 10]
    assert spec.param_count == 61_706
    assert spec.loss == "cross_entropy"


def test_tinyvgg_stages():
    """Two stages of two padded 3×3 convs (8 then 16 filters) and a pool, then dense 10."""
    spec = parse_spec(get_preset("tinyvgg"))
    convs = [layer for layer in spec.layers if layer.type == "conv2d"]
    assert [c.config["out_channels"] for c in convs] == [8, 8, 16, 16]
    assert all(c.config["kernel_size"] == (3, 3) and c.config["padding"] == (1, 1) for c in convs)
    assert [c.out_shape for c in convs] == [(8, 28, 28), (8, 28, 28), (16, 14, 14), (16, 14, 14)]
    assert types("tinyvgg")[-2:] == ["flatten", "dense"]
    assert spec.num_classes == 10


def test_mlp_has_no_convolutions():
    """flatten, dense 128, relu, dense 64, relu, dense 10."""
    spec = parse_spec(get_preset("mlp"))
    assert types("mlp") == ["flatten", "dense", "relu", "dense", "relu", "dense"]
    assert [layer.out_shape for layer in spec.layers if layer.type == "dense"] == [
        (128,), (64,), (10,),
    ]  # fmt: skip


def test_deep_sigmoid_has_at_least_six_sigmoid_layers():
    """flatten, then dense+sigmoid pairs (≥ 6), then dense 10 with cross-entropy."""
    kinds = types("deep-sigmoid")
    assert kinds[0] == "flatten" and kinds[-1] == "dense"
    pairs = kinds[1:-1]
    assert pairs == ["dense", "sigmoid"] * (len(pairs) // 2)
    assert len(pairs) // 2 >= 6
    spec = parse_spec(get_preset("deep-sigmoid"))
    assert spec.num_classes == 10 and spec.loss == "cross_entropy"


def test_get_preset_returns_an_independent_deep_copy():
    """Editing a returned spec changes neither PRESETS nor another layer of the copy."""
    first = get_preset("lenet5")
    first["layers"][1]["type"] = "tanh"
    first["layers"][0]["out_channels"] = 99
    first["input"][0] = 3
    assert first["layers"][4]["type"] == "relu"  # the other relu entries are separate objects
    assert PRESETS["lenet5"]["layers"][1]["type"] == "relu"
    assert PRESETS["lenet5"]["layers"][0]["out_channels"] == 6
    assert get_preset("lenet5") == PRESETS["lenet5"]


def test_no_two_layer_entries_share_an_object():
    """PRESETS itself holds a fresh dict per layer, so editing one never edits another."""
    for name, spec in PRESETS.items():
        ids = [id(entry) for entry in spec["layers"]]
        assert len(ids) == len(set(ids)), name


def test_unknown_preset_lists_the_names():
    """An unknown name raises SpecError naming it and every preset."""
    with pytest.raises(SpecError) as info:
        get_preset("lenet")
    message = str(info.value)
    assert "'lenet'" in message
    assert all(name in message for name in preset_names())
    with pytest.raises(SpecError):
        get_preset(["lenet5"])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", preset_names())
def test_describe_preset_is_one_line_with_the_parameter_count(name):
    """One line for a menu: the name, a description and the parameter count."""
    text = describe_preset(name)
    count = parse_spec(get_preset(name)).param_count
    assert "\n" not in text
    assert text.startswith(f"{name}: ")
    assert f"{count:,} parameters" in text
