"""The editor's block rules on plain spec dicts (no Qt)."""

from __future__ import annotations

from cnnviz.app.editor import blocks
from cnnviz.app.editor import model as em
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import parse_spec


def _small() -> dict:
    return {"input": [1, 8, 8], "loss": "cross_entropy",
            "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                       {"type": "flatten"}, {"type": "dense", "units": 3}]}


def test_rows_name_a_blocks_body_and_shortcut_like_its_steps():
    paths = blocks.rows(get_preset("mini-resnet"))
    labels = [blocks.label(p) for p in paths]
    assert labels[4:11] == ["4", "4.0", "4.1", "4.2", "4.3", "4.4", "4.s"]
    assert "6.s0" in labels and "6.s1" in labels and "6.s" not in labels


def test_a_block_builds_and_undoing_is_the_old_draft():
    draft = _small()
    after = blocks.add_block(draft, 1, channels=4)
    spec = parse_spec(after)
    assert spec.layers[1].type == "residual" and not spec.layers[1].shortcut
    assert draft["layers"][1]["type"] == "flatten"  # the edit returns a copy
    body = (1, "body", 4)
    after = blocks.add_inner(after, body, em.new_layer("relu"))
    assert blocks.layer_at(after, (1, "body", 5))["type"] == "relu"
    after = blocks.remove_inner(after, (1, "body", 5))
    after = blocks.move_inner(after, (1, "body", 2), 0)
    assert [layer["type"] for layer in after["layers"][1]["body"]][:2] == ["relu", "conv2d"]


def test_the_identity_row_takes_a_layer_and_an_emptied_shortcut_is_identity_again():
    draft = blocks.add_block(_small(), 1, channels=4)
    after = blocks.add_inner(draft, (1, "shortcut", None), em.new_layer("batchnorm2d"))
    assert blocks.shortcut_layers(after["layers"][1])[0]["type"] == "batchnorm2d"
    assert em.validate(after).ok
    back = blocks.remove_inner(after, (1, "shortcut", 0))
    assert back["layers"][1]["shortcut"] == "identity"


def test_a_branch_mismatch_names_the_block_and_its_suggested_fix_makes_it_valid():
    draft = blocks.add_block(_small(), 1, channels=4)
    wide = blocks.replace_inner(draft, (1, "body", 3), {"type": "conv2d", "out_channels": 8,
                                                        "kernel_size": 3, "stride": 2,
                                                        "padding": 1})
    wide = blocks.replace_inner(wide, (1, "body", 4), {"type": "batchnorm2d"})
    v = em.validate(wide)
    assert not v.ok and v.error_layer == 1 and "projection" in v.error
    block, shortcut = blocks.suggested_fix(v.error)
    assert block == 1 and shortcut == [{"type": "conv2d", "out_channels": 8,
                                        "kernel_size": 1, "stride": 2}]
    fixed = em.validate(blocks.set_shortcut(wide, 1, shortcut))
    assert fixed.ok and fixed.spec.layers[1].out_shape == (8, 4, 4)


def test_projection_of_equal_shapes_and_the_flat_table_of_an_inner_error():
    assert blocks.projection((4, 8, 8), (4, 8, 8)) == [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 1, "stride": 1}]
    draft = blocks.add_block(_small(), 1, channels=4)
    bad = blocks.replace_inner(draft, (1, "body", 0), {"type": "conv2d", "out_channels": 4,
                                                       "kernel_size": 20})
    v = em.validate(bad)
    paths, infos, row = blocks.flat_table(bad, v.spec, v.rows, v.error, v.error_layer)
    assert paths[row] == (1, "body", 0) and "1.body.0" in v.error
    assert infos[0] is not None and infos[row] is None
    good = em.validate(draft)
    paths, infos, row = blocks.flat_table(draft, good.spec, good.rows, "", None)
    assert row is None and infos[paths.index((1, "shortcut", None))]["output_shape"] == "4×8×8"
    assert infos[paths.index((1,))]["formula"] == "o = body(x) + shortcut(x)"


def test_new_layer_types_have_their_fields():
    assert em.new_layer("dropout") == {"type": "dropout", "p": 0.5}
    assert em.new_layer("batchnorm2d") == {"type": "batchnorm2d", "eps": 1e-5, "momentum": 0.1}
    assert em.layer_summary({"type": "residual", "body": [], "shortcut": [{}]}).endswith(
        "(projection shortcut)")
