"""Residual blocks, batch norm, dropout and colour input in the spec: shapes, table, errors."""

from __future__ import annotations

import copy

import pytest

from cnnviz.core.spec import SpecError, format_shape_table, parse_spec, shape_table


def conv(filters: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> dict:
    """A conv2d entry (3×3, same padding by default)."""
    return {"type": "conv2d", "out_channels": filters, "kernel_size": kernel,
            "stride": stride, "padding": padding}


def block_spec() -> dict:
    """3×9×9 → stem → identity block → downsampling block → flatten, bn1d, dropout, dense."""
    return {
        "input": [3, 9, 9],
        "layers": [
            conv(4), {"type": "batchnorm2d"}, {"type": "relu"},
            {"type": "residual", "body": [conv(4), {"type": "batchnorm2d"}, {"type": "relu"}]},
            {"type": "residual", "body": [conv(6, stride=2)],
             "shortcut": [conv(6, kernel=1, stride=2, padding=0), {"type": "batchnorm2d"}]},
            {"type": "flatten"}, {"type": "batchnorm1d", "eps": 1e-3, "momentum": 0.2},
            {"type": "dropout", "p": 0.25}, {"type": "dense", "units": 3},
        ],
    }


def mutate(path: tuple, value=None, delete: bool = False) -> dict:
    """block_spec() with the entry at path (keys and indices) set or deleted."""
    spec = block_spec()
    target = spec
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return spec


def test_block_shapes_params_and_buffers():
    spec = parse_spec(block_spec())
    assert spec.input_shape == (3, 9, 9)
    assert spec.layers[0].param_shapes["weight"] == (4, 3, 3, 3)
    block = spec.layers[4]
    assert block.type == "residual" and block.out_shape == (6, 5, 5)
    assert [s.path for s in block.body] == ["4.body.0"]
    assert [s.path for s in block.shortcut] == ["4.shortcut.0", "4.shortcut.1"]
    assert block.param_shapes == {
        "body.0.weight": (6, 4, 3, 3), "body.0.bias": (6,),
        "shortcut.0.weight": (6, 4, 1, 1), "shortcut.0.bias": (6,),
        "shortcut.1.weight": (6,), "shortcut.1.bias": (6,),
    }
    assert block.buffer_shapes == {"shortcut.1.running_mean": (6,),
                                   "shortcut.1.running_var": (6,)}
    assert spec.layers[3].shortcut == ()  # identity
    assert spec.layers[6].config == {"eps": 1e-3, "momentum": 0.2}
    assert spec.layers[1].config == {"eps": 1e-5, "momentum": 0.1}
    assert spec.layers[7].config == {"p": 0.25}
    shapes = spec.state_shapes()
    assert shapes["1.running_mean"] == (4,) and shapes["3.body.1.running_var"] == (4,)
    assert shapes["6.weight"] == (150,) and "7.weight" not in shapes
    assert spec.param_count == sum(r["params"] for r in shape_table(spec))


def test_round_trip_is_canonical():
    spec = parse_spec(block_spec())
    as_dict = spec.to_dict()
    assert as_dict["layers"][3]["shortcut"] == "identity"
    assert as_dict["layers"][7] == {"type": "dropout", "p": 0.25}
    assert parse_spec(as_dict) == spec
    explicit = block_spec()
    explicit["layers"][3]["shortcut"] = []  # an empty list is the identity too
    assert parse_spec(explicit) == spec


def test_any_channel_count_is_accepted():
    for channels in (1, 3, 5):
        spec = block_spec()
        spec["input"][0] = channels
        assert parse_spec(spec).layers[0].param_shapes["weight"] == (4, channels, 3, 3)


def test_shape_table_shows_both_branches_of_a_block():
    spec = parse_spec(block_spec())
    rows = [(r["layer"], r["type"]) for r in shape_table(spec)]
    assert rows[3:12] == [
        ("3.body.0", "conv2d"), ("3.body.1", "batchnorm2d"), ("3.body.2", "relu"),
        ("3.shortcut", "identity"), (3, "residual (+)"),
        ("4.body.0", "conv2d"), ("4.shortcut.0", "conv2d"), ("4.shortcut.1", "batchnorm2d"),
        (4, "residual (+)"),
    ]
    text = format_shape_table(spec)
    lines = {line.split()[0]: line for line in text.splitlines()[3:] if line}
    assert "⌊(9 − 1 + 2·0)/2⌋ + 1 = 5" in lines["4.shortcut.0"]
    assert lines["4"].split()[1:4] == ["residual", "(+)", "6×5×5"]
    assert f"total parameters: {spec.param_count:,}" in text


BAD_BLOCKS = [
    (mutate(("layers", 4, "shortcut"), delete=True),
     ["layer 4 (residual)", "body gives 6×5×5", "identity shortcut gives 4×9×9",
      "1×1 projection shortcut", '"kernel_size": 1, "stride": 2', '"out_channels": 6']),
    (mutate(("layers", 4, "shortcut", 0, "stride"), 3),
     ["layer 4 (residual)", "the shortcut gives 6×3×3", "1×1 projection"]),
    (mutate(("layers", 3, "body"), []),
     ["layer 3 (residual)", "body must be a non-empty list of layers", "got []"]),
    (mutate(("layers", 3, "body"), {"type": "relu"}),
     ["layer 3 (residual)", "body must be a non-empty list"]),
    (mutate(("layers", 3), {"type": "residual"}),
     ["layer 3 (residual)", "missing field 'body'"]),
    (mutate(("layers", 3, "shortcut"), "identiy"),
     ["layer 3 (residual)", 'shortcut must be "identity" or a list of layers', '"identiy"']),
    (mutate(("layers", 3, "shortcut"), 1),
     ["layer 3 (residual)", 'shortcut must be "identity"', "got 1"]),
    (mutate(("layers", 3, "skip"), "identity"),
     ["layer 3 (residual)", "unknown field 'skip'", "body, shortcut"]),
    (mutate(("layers", 3, "body", 1), {"type": "residual", "body": [{"type": "relu"}]}),
     ["layer 3.body.1 (residual)", "do not nest"]),
    (mutate(("layers", 3, "body", 1), {"type": "dense", "units": 4}),
     ["layer 3.body.1 (dense)", "not allowed inside a residual block", "after the block"]),
    (mutate(("layers", 4, "shortcut", 1), {"type": "flatten"}),
     ["layer 4.shortcut.1 (flatten)", "not allowed inside a residual block"]),
    (mutate(("layers", 3, "body", 0, "kernel_size"), 12),
     ["layer 3.body.0 (conv2d)", "kernel_size 12 does not fit its 9×9 input"]),
    (mutate(("layers", 3, "body", 0, "out_channels"), 0),
     ["layer 3.body.0 (conv2d)", "out_channels must be a positive integer"]),
    (mutate(("layers", 3, "body", 1), {"type": "batchnorm"}),
     ["layer 3.body.1", "unknown type 'batchnorm'", "batchnorm2d"]),
    (mutate(("layers", 3, "body", 1), "relu"),
     ["layer 3.body.1", "must be an object"]),
    (mutate(("layers", 1, "type"), "batchnorm1d"),
     ["layer 1 (batchnorm1d)", "4×9×9 input from layer 0 (conv2d)", "needs a flat vector",
      "batchnorm2d"]),
    (mutate(("layers", 6, "type"), "batchnorm2d"),
     ["layer 6 (batchnorm2d)", "needs a (C, H, W) input", "flat vector of 150",
      "layer 5 (flatten)", "batchnorm1d"]),
    (mutate(("layers", 1, "eps"), 0), ["layer 1 (batchnorm2d)", "eps must be a number", "got 0"]),
    (mutate(("layers", 1, "eps"), "small"), ["layer 1 (batchnorm2d)", "eps", '"small"']),
    (mutate(("layers", 6, "momentum"), 1.5),
     ["layer 6 (batchnorm1d)", "momentum must be a number from 0 to 1", "got 1.5"]),
    (mutate(("layers", 6, "momentum"), True), ["layer 6 (batchnorm1d)", "momentum", "true"]),
    (mutate(("layers", 6, "affine"), False),
     ["layer 6 (batchnorm1d)", "unknown field 'affine'", "eps, momentum"]),
    (mutate(("layers", 7, "p"), 1), ["layer 7 (dropout)", "p must be a number with 0 ≤ p < 1",
                                     "got 1"]),
    (mutate(("layers", 7, "p"), -0.1), ["layer 7 (dropout)", "0 ≤ p < 1", "got -0.1"]),
    (mutate(("layers", 7, "p"), None), ["layer 7 (dropout)", "got null"]),
    (mutate(("layers", 3, "body", 2), {"type": "dropout", "p": 2}),
     ["layer 3.body.2 (dropout)", "p must be a number"]),
]


@pytest.mark.parametrize(("spec", "fragments"), BAD_BLOCKS)
def test_bad_blocks_and_new_layers_raise_spec_errors_naming_what_is_wrong(spec, fragments):
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_branch_longer_than_the_layer_limit_is_refused():
    spec = block_spec()
    spec["layers"][3]["body"] = [{"type": "relu"}] * 65
    with pytest.raises(SpecError, match=r"layer 3 \(residual\): body has 65 layers; at most 64"):
        parse_spec(spec)


def test_a_block_on_a_flat_vector_is_fine_and_can_end_the_network():
    spec = {"input": [1, 4, 4], "layers": [
        {"type": "flatten"}, {"type": "dense", "units": 3},
        {"type": "residual", "body": [{"type": "batchnorm1d"}, {"type": "tanh"}]}]}
    parsed = parse_spec(spec)
    assert parsed.layers[2].out_shape == (3,) and parsed.num_classes == 3
    spec = copy.deepcopy(spec)
    spec["layers"][2]["body"].append({"type": "conv2d", "out_channels": 1, "kernel_size": 1})
    with pytest.raises(SpecError, match=r"layer 2.body.2 \(conv2d\): needs a \(C, H, W\) input"):
        parse_spec(spec)
