"""The network spec: parsing, shape inference, the shape table and every way a spec can be bad."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.core.presets import PRESETS, get_preset
from cnnviz.core.spec import (
    LAYER_FIELDS,
    MAX_ELEMENTS,
    MAX_LAYERS,
    LayerSpec,
    NetworkSpec,
    SpecError,
    format_shape_table,
    parse_spec,
    shape_table,
)


def base() -> dict:
    """A small valid spec: 1×8×8 -> conv 2@3×3 -> relu -> pool 2 -> flatten -> dense 3."""
    return {
        "input": [1, 8, 8],
        "layers": [
            {"type": "conv2d", "out_channels": 2, "kernel_size": 3},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 3},
        ],
        "loss": "cross_entropy",
    }


def edit(layer: int | None = None, **changes) -> dict:
    """base() with fields of one layer (or top-level keys) set; None deletes a key."""
    spec = base()
    target = spec if layer is None else spec["layers"][layer]
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return spec


def layers(*entries: dict, shape: list | None = None) -> dict:
    """A spec with these layers on a 1×8×8 (or given) input."""
    return {"input": shape or [1, 8, 8], "layers": list(entries)}


CONV = {"type": "conv2d", "out_channels": 2, "kernel_size": 3}
FLAT, RELU = {"type": "flatten"}, {"type": "relu"}
DENSE3 = {"type": "dense", "units": 3}

# (spec, fragments the message must contain: where, field, the value given, what is allowed)
BAD_SPECS = {
    "not json": ('{"input": [1, 8, 8],\n  "layers": [}', ["not valid JSON", "line 2", "column"]),
    "not an object": ("[1, 2]", ["must be an object", "[1, 2]"]),
    "not a spec type": (42, ["a spec must be", "42"]),
    "missing layers": (edit(layers=None), ["missing 'layers'"]),
    "empty layers": (edit(layers=[]), ["layers is empty"]),
    "layers not a list": (edit(layers="conv"), ["layers must be a list", '"conv"']),
    "too many layers": (
        edit(layers=[RELU] * (MAX_LAYERS + 1) + [FLAT, DENSE3]),
        [f"layers has {MAX_LAYERS + 3} entries", f"at most {MAX_LAYERS}"],
    ),
    "missing input": (edit(input=None), ["missing 'input'", "[C, H, W]"]),
    "input too short": (edit(input=[1, 8]), ["input must be [C, H, W]", "[1, 8]"]),
    "input zero": (edit(input=[1, 0, 8]), ["input", "positive integer", "got 0"]),
    "input string": (edit(input=[1, "8", 8]), ["input", 'got "8"']),
    "input float": (edit(input=[1, 8.0, 8]), ["input", "got 8.0"]),
    "input bool": (edit(input=[True, 8, 8]), ["input", "got true"]),
    "input not a list": (edit(input=28), ["input must be [C, H, W]", "got 28"]),
    "unknown top-level key": (
        edit(los="mse"),
        ["unknown top-level key 'los'; did you mean 'loss'?", "allowed: input, layers, loss"],
    ),
    "unknown loss": (
        edit(loss="crossentropy"),
        [
            "unknown loss 'crossentropy'; did you mean 'cross_entropy'?",
            "allowed: cross_entropy, mse",
        ],
    ),
    "loss not a string": (edit(loss=3), ["unknown loss 3", "cross_entropy, mse"]),
    "layer not an object": (
        edit(layers=[CONV, "relu"]),
        ["layer 1:", "must be an object", '"relu"'],
    ),
    "missing type": (edit(layers=[{"units": 3}]), ["layer 0:", "missing field 'type'", "conv2d"]),
    "unknown type": (
        layers({"type": "conv"}),
        ["layer 0: unknown type 'conv'; did you mean 'conv2d'?", "allowed: conv2d, maxpool2d"],
    ),
    "type not a string": (layers({"type": ["relu"]}), ['layer 0: unknown type ["relu"]']),
    "missing field": (
        edit(0, out_channels=None),
        ["layer 0 (conv2d): missing field 'out_channels'", "out_channels and kernel_size"],
    ),
    "misspelled field": (
        edit(0, kernal_size=3),
        ["layer 0 (conv2d): unknown field 'kernal_size'; did you mean 'kernel_size'?"],
    ),
    "field on a fieldless layer": (
        edit(1, negative_slope=0.1),
        ["layer 1 (relu): unknown field 'negative_slope'", "none besides 'type'"],
    ),
    "units on conv": (edit(0, units=4), ["layer 0 (conv2d): unknown field 'units'", "allowed:"]),
    "out_channels string": (
        edit(0, out_channels="2"),
        ['layer 0 (conv2d): out_channels must be a positive integer, got "2"'],
    ),
    "kernel_size float": (edit(0, kernel_size=3.0), ["layer 0 (conv2d): kernel_size", "3.0"]),
    "stride bool": (edit(0, stride=True), ["layer 0 (conv2d): stride", "got true"]),
    "stride null": (edit(0, stride=[None, 1]), ["layer 0 (conv2d): stride", "got null"]),
    "units float": (edit(4, units=2.5), ["layer 4 (dense): units", "got 2.5"]),
    "padding pair too short": (
        edit(0, padding=[1]),
        ["layer 0 (conv2d): padding", "[h, w]", "[1]"],
    ),
    "kernel triple": (
        edit(0, kernel_size=[3, 3, 3]),
        ["layer 0 (conv2d): kernel_size", "[3, 3, 3]"],
    ),
    "kernel pair string": (edit(0, kernel_size=[3, "a"]), ["layer 0 (conv2d): kernel_size", '"a"']),
    "out_channels zero": (edit(0, out_channels=0), ["layer 0 (conv2d): out_channels", "got 0"]),
    "kernel zero": (edit(0, kernel_size=0), ["layer 0 (conv2d): kernel_size", "got 0"]),
    "stride zero": (edit(2, stride=0), ["layer 2 (maxpool2d): stride", "positive", "got 0"]),
    "stride negative": (edit(0, stride=[1, -1]), ["layer 0 (conv2d): stride", "got -1"]),
    "units zero": (edit(4, units=0), ["layer 4 (dense): units", "positive integer", "got 0"]),
    "units negative": (edit(4, units=-3), ["layer 4 (dense): units", "got -3"]),
    "padding negative": (
        edit(0, padding=-1),
        ["layer 0 (conv2d): padding must be a non-negative integer, got -1"],
    ),
    "kernel too big": (
        layers(CONV | {"kernel_size": 7}, FLAT, DENSE3, shape=[1, 4, 4]),
        ["layer 0 (conv2d): kernel_size 7 does not fit its 4×4 input (with padding 0)"],
    ),
    "kernel too big with padding": (
        layers(CONV | {"kernel_size": [3, 7], "padding": 1}, FLAT, DENSE3, shape=[1, 4, 4]),
        ["layer 0 (conv2d): kernel_size 3×7 does not fit its 4×4 input (with padding 1)"],
    ),
    "pool kernel too big later": (
        edit(2, kernel_size=7),
        ["layer 2 (maxpool2d): kernel_size 7 does not fit its 6×6 input"],
    ),
    "pool padding over half": (
        edit(2, padding=2),
        ["layer 2 (maxpool2d): padding 2 is more than half of kernel_size 2 (at most 1)"],
    ),
    "avgpool padding over half": (
        layers({"type": "avgpool2d", "kernel_size": [3, 2], "padding": [1, 2]}, FLAT, DENSE3),
        ["layer 0 (avgpool2d): padding 1×2", "kernel_size 3×2", "at most 1"],
    ),
    "dense after spatial": (
        edit(layers=base()["layers"][:3] + [DENSE3]),
        ["layer 3 (dense): gets a 2×3×3 input from layer 2 (maxpool2d)", '{"type": "flatten"}'],
    ),
    "dense first": (layers(DENSE3), ["layer 0 (dense): gets a 1×8×8 input from the input"]),
    "conv after flatten": (
        layers(FLAT, CONV, FLAT, DENSE3),
        ["layer 1 (conv2d): needs a (C, H, W) input", "flat vector of 64 from layer 0 (flatten)"],
    ),
    "pool after dense": (
        layers(FLAT, DENSE3, {"type": "maxpool2d", "kernel_size": 2}),
        ["layer 2 (maxpool2d): needs a (C, H, W) input", "from layer 1 (dense)"],
    ),
    "last layer spatial": (
        edit(layers=base()["layers"][:3]),
        ["layer 2 (maxpool2d): the last layer outputs 2×3×3", "flatten", '"dense"'],
    ),
    "one class": (edit(4, units=1), ["layer 4 (dense): units 1 gives 1 class score", "2 or more"]),
    "one class after flatten": (
        layers(FLAT, RELU, shape=[1, 1, 1]),
        ["layer 1 (relu): its output of size 1 gives 1 class score"],
    ),
    "slope string": (
        layers({"type": "leaky_relu", "negative_slope": "x"}, FLAT, DENSE3),
        ['layer 0 (leaky_relu): negative_slope must be a finite number, got "x"'],
    ),
    "slope nan": (
        layers({"type": "leaky_relu", "negative_slope": math.nan}, FLAT, DENSE3),
        ["layer 0 (leaky_relu): negative_slope", "NaN"],
    ),
    "slope inf": (
        layers({"type": "leaky_relu", "negative_slope": -math.inf}, FLAT, DENSE3),
        ["layer 0 (leaky_relu): negative_slope", "-Infinity"],
    ),
    "slope bool": (
        layers({"type": "leaky_relu", "negative_slope": False}, FLAT, DENSE3),
        ["layer 0 (leaky_relu): negative_slope", "got false"],
    ),
    "slope huge int": (
        layers({"type": "leaky_relu", "negative_slope": 10**400}, FLAT, DENSE3),
        ["layer 0 (leaky_relu): negative_slope"],
    ),
    "input over the cap": (
        edit(input=[1, 10_000, 10_000]),
        ["input", "1×10000×10000", "100,000,000 elements", "limit of 50,000,000"],
    ),
    "output over the cap": (
        layers(CONV | {"out_channels": 1000, "kernel_size": 1}, FLAT, DENSE3, shape=[1, 300, 300]),
        ["layer 0 (conv2d): output 1000×300×300", "90,000,000 elements", "limit"],
    ),
    "weight over the cap": (
        layers(FLAT, {"type": "dense", "units": 3}, shape=[1, 5000, 5000]),
        ["layer 1 (dense): weight 3×25000000", "75,000,000 elements"],
    ),
    "conv weight over the cap": (
        layers(
            CONV | {"out_channels": 10_000, "kernel_size": 1}, FLAT, DENSE3, shape=[10_000, 1, 1]
        ),
        ["layer 0 (conv2d): weight 10000×10000×1×1", "100,000,000 elements"],
    ),
    "field over the cap": (
        edit(4, units=10**12),
        ["layer 4 (dense): units 1000000000000 is too large", "50,000,000"],
    ),
    "missing file": ("no/such/spec.json", ["spec file 'no/such/spec.json' not found"]),
}


@pytest.mark.parametrize("spec, fragments", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_bad_spec_raises_spec_error_naming_what_is_wrong(spec, fragments):
    """Each bad spec raises SpecError whose message has the layer, field, value and rule."""
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "\n" not in message


def test_spec_error_is_a_value_error():
    """Callers that catch ValueError catch spec mistakes too."""
    assert issubclass(SpecError, ValueError)


def test_shapes_with_stride_and_padding():
    """Output size is ⌊(W − F + 2P)/S⌋ + 1, by hand: (32 − 5 + 2)/2 → 14, + 1 = 15."""
    spec = parse_spec(
        layers(
            {"type": "conv2d", "out_channels": 8, "kernel_size": 5, "stride": 2, "padding": 1},
            {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1},
            {"type": "avgpool2d", "kernel_size": 2},
            FLAT,
            {"type": "dense", "units": 10},
            shape=[3, 32, 32],
        )
    )
    shapes = [layer.out_shape for layer in spec.layers]
    assert shapes == [(8, 15, 15), (8, 8, 8), (8, 4, 4), (128,), (10,)]
    assert [layer.in_shape for layer in spec.layers][1:] == shapes[:-1]
    conv = spec.layers[0]
    assert conv.param_shapes == {"weight": (8, 3, 5, 5), "bias": (8,)}
    assert conv.param_count == 8 * 3 * 25 + 8
    assert conv.config == {
        "out_channels": 8,
        "kernel_size": (5, 5),
        "stride": (2, 2),
        "padding": (1, 1),
    }
    assert spec.layers[1].config["stride"] == (2, 2)
    assert spec.layers[2].config == {"kernel_size": (2, 2), "stride": (2, 2), "padding": (0, 0)}
    assert spec.layers[4].param_shapes == {"weight": (10, 128), "bias": (10,)}
    assert spec.param_count == 608 + 1290
    assert spec.num_classes == 10
    assert spec.loss == "cross_entropy"  # the default when absent


def test_rectangular_kernels_strides_and_padding():
    """Each axis has its own numbers: H (10 − 3 + 2)/1 + 1 = 10, W ⌊(20 − 5 + 0)/2⌋ + 1 = 8."""
    conv = {"type": "conv2d", "out_channels": 4, "kernel_size": [3, 5], "stride": [1, 2]}
    spec = parse_spec(
        layers(
            conv | {"padding": [1, 0]},
            {"type": "avgpool2d", "kernel_size": [2, 3]},
            FLAT,
            DENSE3,
            shape=[1, 10, 20],
        )
    )
    assert spec.layers[0].out_shape == (4, 10, 8)
    assert spec.layers[0].param_shapes["weight"] == (4, 1, 3, 5)
    assert spec.layers[1].out_shape == (4, 5, 2)  # H (10 − 2)/2 + 1 = 5, W ⌊(8 − 3)/3⌋ + 1 = 2
    assert spec.layers[1].config["stride"] == (2, 3)
    assert spec.layers[0].formula == "H: ⌊(10 − 3 + 2·1)/1⌋ + 1 = 10; W: ⌊(20 − 5 + 2·0)/2⌋ + 1 = 8"


def test_kernel_exactly_filling_the_padded_input_and_pool_padding_at_half():
    """The limits themselves are allowed: F = W + 2P gives 1; pool padding k // 2 is fine."""
    spec = parse_spec(
        layers(
            {"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1},
            {"type": "conv2d", "out_channels": 2, "kernel_size": 10, "padding": 1},
            FLAT,
            {"type": "dense", "units": 2},
        )
    )
    assert spec.layers[0].out_shape == (1, 8, 8)
    assert spec.layers[1].out_shape == (2, 1, 1)


def test_formula_text_has_the_numbers():
    """The formula names W, F, P, S and the result; identical axes are written once."""
    spec = parse_spec(get_preset("lenet5"))
    assert spec.layers[0].formula == "⌊(28 − 5 + 2·2)/1⌋ + 1 = 28"
    assert spec.layers[2].formula == "⌊(28 − 2 + 2·0)/2⌋ + 1 = 14"
    assert spec.layers[6].formula == "16·5·5 = 400"
    assert spec.layers[1].formula == spec.layers[7].formula == ""


def test_activations_keep_shapes_and_leaky_relu_default():
    """Activations pass the shape through; leaky_relu's slope defaults to 0.01."""
    acts = [{"type": t} for t in ("relu", "sigmoid", "tanh", "leaky_relu")]
    spec = parse_spec(
        layers(CONV, *acts, {"type": "leaky_relu", "negative_slope": -2}, FLAT, DENSE3)
    )
    assert all(layer.out_shape == (2, 6, 6) for layer in spec.layers[:6])
    assert spec.layers[4].config == {"negative_slope": 0.01}
    assert spec.layers[5].config == {"negative_slope": -2.0}
    assert all(layer.param_shapes == {} for layer in spec.layers[1:7])


def test_numpy_integers_are_accepted_as_plain_ints():
    """A spec built in Python may carry NumPy ints; the config holds plain ints."""
    spec = parse_spec(edit(0, out_channels=np.int64(4), kernel_size=[np.int32(3), 3]))
    assert spec.layers[0].config["out_channels"] == 4
    assert type(spec.layers[0].config["out_channels"]) is int
    assert type(spec.layers[0].config["kernel_size"][0]) is int


def test_shape_table_rows():
    """One row per layer with index, type, output shape, params and formula."""
    rows = shape_table(parse_spec(base()))
    assert [r["layer"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0] == {
        "layer": 0,
        "type": "conv2d",
        "output_shape": (2, 6, 6),
        "params": 20,
        "formula": "⌊(8 − 3 + 2·0)/1⌋ + 1 = 6",
    }
    assert rows[4]["params"] == 18 * 3 + 3


def test_format_shape_table_is_aligned_with_totals():
    """The text table: a header, a rule, the input row, aligned columns and the totals."""
    text = format_shape_table(parse_spec(get_preset("lenet5")))
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "type", "output", "params", "output", "size"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["input", "1×28×28"]
    params_end = lines[0].index("params") + len("params")
    for line in lines[3:15]:
        assert line[params_end - 1].isdigit() and line[params_end : params_end + 1] in ("", " ")
    assert "⌊(28 − 5 + 2·2)/1⌋ + 1 = 28" in lines[3]
    assert "total parameters: 61,706" in lines
    assert "loss: cross_entropy (10 classes)" in lines


def round_trip(spec: NetworkSpec) -> None:
    """to_dict is JSON-able, canonical and parses back to an equal spec."""
    data = spec.to_dict()
    assert parse_spec(data) == spec
    assert parse_spec(json.dumps(data)) == spec
    assert parse_spec(data).to_dict() == data


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_to_dict_round_trip_presets(name):
    """Every preset survives spec -> dict -> spec."""
    round_trip(parse_spec(get_preset(name)))


def test_to_dict_is_canonical():
    """Defaults are filled in; a pair is an int when h == w and [h, w] otherwise."""
    spec = parse_spec(
        layers(
            {"type": "conv2d", "out_channels": 2, "kernel_size": [3, 3], "stride": [1, 2]},
            {"type": "leaky_relu"},
            {"type": "maxpool2d", "kernel_size": [2, 1]},
            FLAT,
            DENSE3,
        )
    )
    data = spec.to_dict()
    assert data["loss"] == "cross_entropy"
    assert data["layers"][0] == {
        "type": "conv2d",
        "out_channels": 2,
        "kernel_size": 3,
        "stride": [1, 2],
        "padding": 0,
    }
    assert data["layers"][1] == {"type": "leaky_relu", "negative_slope": 0.01}
    assert data["layers"][2] == {
        "type": "maxpool2d",
        "kernel_size": [2, 1],
        "stride": [2, 1],
        "padding": 0,
    }
    round_trip(spec)


def test_specs_are_frozen_and_compare_by_value():
    """LayerSpec and NetworkSpec are frozen; equal specs compare equal, different do not."""
    a, b = parse_spec(base()), parse_spec(json.dumps(base()))
    assert a == b
    assert a != parse_spec(edit(4, units=4))
    assert isinstance(a.layers[0], LayerSpec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.loss = "mse"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.layers[0].type = "relu"  # type: ignore[misc]


def test_json_text_and_paths(tmp_path: Path):
    """A spec may be JSON text, a str path, a PathLike, or a file not named *.json."""
    expected = parse_spec(base())
    text = json.dumps(base(), indent=2)
    json_file = tmp_path / "net.json"
    json_file.write_text(text, encoding="utf-8")
    other = tmp_path / "net.spec"
    other.write_text("\ufeff" + text, encoding="utf-8")  # a byte-order mark is fine
    assert parse_spec(text) == expected
    assert parse_spec(str(json_file)) == expected
    assert parse_spec(json_file) == expected
    assert parse_spec(str(other)) == expected


def test_file_errors_name_the_file(tmp_path: Path):
    """Bad JSON in a file names the file, line and column; a folder is not a spec file."""
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "input": [1, 8, 8],\n  "layers": [,]\n}', encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.json.*not valid JSON at line 3, column 14"):
        parse_spec(bad)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(SpecError, match="cannot read spec file"):
        parse_spec(str(folder))
    with pytest.raises(SpecError, match="not found"):
        parse_spec(tmp_path / "missing")


def test_input_that_does_not_mutate_the_callers_dict():
    """Parsing leaves the caller's dict as it was."""
    spec = base()
    before = copy.deepcopy(spec)
    parse_spec(spec)
    assert spec == before


def test_the_50_million_cap_allows_exactly_the_limit():
    """A tensor of exactly MAX_ELEMENTS elements is allowed; one more is not."""
    ok = layers(FLAT, {"type": "dense", "units": 2}, shape=[2, 5000, 5000])
    assert math.prod(ok["input"]) == MAX_ELEMENTS
    with pytest.raises(SpecError, match=r"layer 1 \(dense\): weight 2×50000000"):
        parse_spec(ok)  # the input itself is fine; the dense weight is twice the cap
    fine = parse_spec(
        layers(
            {"type": "conv2d", "out_channels": 1, "kernel_size": [1, 4]},
            FLAT,
            {"type": "dense", "units": 2},
            shape=[2, 5000, 5000],
        )
    )
    assert fine.layers[0].out_shape == (1, 5000, 4997)
    with pytest.raises(SpecError, match="over the limit"):
        parse_spec(layers(FLAT, DENSE3, shape=[1, 5001, 10_000]))


def test_torch_agrees_on_shapes():
    """Conv and pool output shapes match PyTorch for a few odd configurations."""
    torch = pytest.importorskip("torch")
    cases = [((3, 17, 11), (2, 4), (3, 1), (1, 2)), ((2, 9, 9), (3, 3), (2, 2), (0, 1))]
    for shape, kernel, stride, padding in cases:
        window = {"kernel_size": list(kernel), "stride": list(stride), "padding": list(padding)}
        spec = parse_spec(
            layers(
                {"type": "conv2d", "out_channels": 5, **window},
                {"type": "maxpool2d", **window},
                FLAT,
                DENSE3,
                shape=list(shape),
            )
        )
        x = torch.zeros(1, *shape)
        y = torch.nn.Conv2d(shape[0], 5, kernel, stride, padding)(x)
        assert tuple(y.shape[1:]) == spec.layers[0].out_shape
        z = torch.nn.MaxPool2d(kernel, stride, padding)(y)
        assert tuple(z.shape[1:]) == spec.layers[1].out_shape


# ---------------------------------------------------------------- fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
FIELD_NAMES = sorted({"type", "kernal_size", *(k for f in LAYER_FIELDS.values() for k in f)})
small_values = st.one_of(
    st.integers(-3, 40),
    st.lists(st.integers(-1, 12), min_size=0, max_size=3),
    st.sampled_from(list(LAYER_FIELDS) + ["cross_entropy", "mse", "conv"]),
    json_values,
)


def accepts_only_spec_or_spec_error(spec) -> None:
    """parse_spec returns a NetworkSpec (which round-trips) or raises SpecError; nothing else."""
    try:
        result = parse_spec(spec)
    except SpecError as error:
        assert str(error)
        return
    assert isinstance(result, NetworkSpec)
    assert parse_spec(result.to_dict()) == result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_fuzz_random_json_values(value):
    """Any JSON-like value, given directly, as JSON text, or inside a spec, is handled."""
    accepts_only_spec_or_spec_error(value)
    accepts_only_spec_or_spec_error(json.dumps(value))
    accepts_only_spec_or_spec_error({"input": [1, 8, 8], "layers": value})
    accepts_only_spec_or_spec_error({"input": value, "layers": base()["layers"]})


@st.composite
def mutated_specs(draw) -> dict:
    """A preset or the base spec with a few random edits: fields set, dropped, layers moved."""
    name = draw(st.sampled_from(["base", *sorted(PRESETS)]))
    spec = base() if name == "base" else get_preset(name)
    for _ in range(draw(st.integers(1, 4))):
        entries = spec["layers"]
        index = draw(st.integers(0, len(entries) - 1))
        action = draw(st.sampled_from(["set", "drop", "insert", "delete"]))
        if action == "set":
            entries[index][draw(st.sampled_from(FIELD_NAMES))] = draw(small_values)
        elif action == "drop" and entries[index]:
            entries[index].pop(draw(st.sampled_from(sorted(entries[index]))))
        elif action == "insert":
            kind = draw(st.sampled_from(list(LAYER_FIELDS)))
            fields = draw(st.dictionaries(st.sampled_from(FIELD_NAMES), small_values, max_size=3))
            entries.insert(index, {"type": kind, **fields})
        elif action == "delete" and len(entries) > 1:
            del entries[index]
    if draw(st.booleans()):
        spec[draw(st.sampled_from(["input", "loss", "layers", "lyers"]))] = draw(small_values)
    return spec


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_fuzz_mutated_valid_specs(spec):
    """Near-valid specs parse or raise SpecError, as dicts and as JSON text."""
    accepts_only_spec_or_spec_error(spec)
    accepts_only_spec_or_spec_error(json.dumps(spec))


class OddPath:
    """A PathLike whose __fspath__ gives bytes, or something that is not a path at all."""

    def __init__(self, value) -> None:
        self.value = value

    def __fspath__(self):
        return self.value


def test_deep_nesting_and_odd_python_values_are_spec_errors():
    """Pathological inputs a fuzzer rarely finds: deep JSON, huge numbers, odd keys."""
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    for spec in [
        {"input": [1, 8, 8], "layers": [deep]},
        OddPath(b"/no/such/spec.json"),
        OddPath(3),
        "[" * 100_000 + "]" * 100_000,
        '{"input": [1, 8, 8], "layers": [' + "9" * 5000 + "]}",
        {"input": [1, 8, 8], "layers": [{"type": "relu", 3: 4}, FLAT, DENSE3]},
        {("input",): [1, 8, 8]},
        {"input": {1, 2, 3}, "layers": [FLAT, DENSE3]},
        edit(4, units=10**5000),
        b"{}",
        None,
    ]:
        with pytest.raises(SpecError):
            parse_spec(spec)


sizes = st.integers(1, 4) | st.lists(st.integers(1, 4), min_size=2, max_size=2)
paddings = st.integers(0, 2) | st.lists(st.integers(0, 2), min_size=2, max_size=2)
plausible_layers = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("conv2d"), "out_channels": st.integers(1, 4), "kernel_size": sizes},
        optional={"stride": sizes, "padding": paddings},
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["maxpool2d", "avgpool2d"]), "kernel_size": sizes},
        optional={"stride": sizes, "padding": paddings},
    ),
    st.sampled_from([{"type": t} for t in ("relu", "sigmoid", "tanh", "leaky_relu", "flatten")]),
    st.fixed_dictionaries({"type": st.just("dense"), "units": st.integers(1, 12)}),
)


def pair(value) -> tuple[int, int]:
    """An int or [h, w] as (h, w), for the test's own shape arithmetic."""
    return tuple(value) if isinstance(value, list) else (value, value)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=3, max_size=3),
    st.lists(plausible_layers, min_size=1, max_size=6),
)
def test_fuzz_plausible_networks_follow_the_formula(input_shape, entries):
    """Random sensible layer stacks: valid ones obey ⌊(W − F + 2P)/S⌋ + 1 and round-trip."""
    spec = {"input": input_shape, "layers": [*entries, FLAT, {"type": "dense", "units": 2}]}
    try:
        result = parse_spec(spec)
    except SpecError:
        return
    round_trip(result)
    shape = tuple(input_shape)
    for entry, layer in zip(spec["layers"], result.layers, strict=True):
        assert layer.in_shape == shape
        if layer.type in ("conv2d", "maxpool2d", "avgpool2d"):
            k = pair(entry["kernel_size"])
            s = pair(entry.get("stride", 1 if layer.type == "conv2d" else entry["kernel_size"]))
            p = pair(entry.get("padding", 0))
            hw = [(shape[i + 1] - k[i] + 2 * p[i]) // s[i] + 1 for i in range(2)]
            channels = entry.get("out_channels", shape[0])
            assert layer.out_shape == (channels, *hw)
        shape = layer.out_shape
