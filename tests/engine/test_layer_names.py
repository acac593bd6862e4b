"""Layers named the way the app names them: "3", or an inner layer of a residual block by
its parameters' prefix, "4.body.1" / "6.shortcut.0" — as `Selection.select` takes them."""

from __future__ import annotations

import pytest

from cnnviz.core.presets import get_preset
from cnnviz.core.spec import parse_spec
from cnnviz.engine.selection import Selection
from cnnviz.engine.steps import parse_layer_name, split_layer_name

RESNET = parse_spec(get_preset("mini-resnet"))  # 4: identity block; 6: 1×1 projection


@pytest.mark.parametrize("name, expected", [
    ("3", (3, None)), (3, (3, None)), ("4.body.1", (4, "body.1")),
    ("6.shortcut.1", (6, "shortcut.1")), (" 8.body.7 ", (8, "body.7")), ("12", (12, None)),
])
def test_good_names_give_layer_and_inner(name, expected):
    assert parse_layer_name(RESNET, name) == expected
    layer, inner = expected
    sel = Selection.for_spec(RESNET)
    sel.select_layer(layer, inner)  # exactly what a Selection takes
    assert (sel.layer, sel.inner) == expected


@pytest.mark.parametrize("name, words", [
    ("13", ["no layer 13", "0…12"]),
    ("4.body.5", ["block 4 has no body layer 5", "4.body.0…4.body.4"]),
    ("6.shortcut.2", ["block 6 has no shortcut layer 2", "6.shortcut.0…6.shortcut.1"]),
    ("4.shortcut.0", ["block 4 has an identity shortcut", "no 4.shortcut.0"]),
    ("3.body.0", ["layer 3 (maxpool2d) is not a residual block", "body.0"]),
    ("4.1", ["'4.1' is not a layer name", "4.body.1 or 6.shortcut.0",
             "step F4.1's layer is 4.body.1"]),
    ("6.s0", ["step F6.s0's layer is 6.shortcut.0"]),
    ("4.head.0", ["'4.head.0' is not a layer name"]),
    ("-1", ["'-1' is not a layer name"]),
    ("", ["'' is not a layer name"]),
])
def test_bad_names_say_what_is_wrong(name, words):
    with pytest.raises(ValueError) as info:
        parse_layer_name(RESNET, name)
    for word in words:
        assert word in str(info.value)


def test_the_form_alone_is_checked_without_a_network():
    assert split_layer_name("99.shortcut.3") == (99, "shortcut.3")
    with pytest.raises(ValueError, match="not a layer name"):
        split_layer_name("4.body")
