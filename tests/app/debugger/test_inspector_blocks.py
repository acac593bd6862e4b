"""The inspector on batch norm, dropout and colour networks: statistics, masks, RGB filters."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.inspector import Inspector
from cnnviz.app.debugger.norm_view import rgb_filters


def _inspector(qtbot, preset: str) -> Inspector:
    view = Inspector(AppController(preset, user_weights=False))
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    return view


def test_batch_norm_statistics_per_channel_of_a_top_level_and_an_inner_layer(qtbot):
    ins = _inspector(qtbot, "mini-resnet")
    ctrl = ins.ctrl
    ctrl.run_to("F1")
    table = ins.show_tab("norm")
    rec = ctrl.stepper.record("F1")
    assert table.rowCount() == 16 and "F1" in ins.note.text() and "batch" in ins.note.text()
    row = table.rows[3]
    assert row[1] == pytest.approx(float(rec.values["mean"][3]))
    assert row[2] == pytest.approx(float(rec.values["var"][3]))
    assert row[3] == 0.0 and row[4] == pytest.approx(float(rec.values["running_mean_after"][3]))
    assert row[5] == 1.0 and row[6] == pytest.approx(float(rec.values["running_var_after"][3]))
    assert row[7:] == [1.0, 0.0]  # γ, β at initialisation
    assert table.item(3, 1).text() == f"{float(rec.values['mean'][3]):.4g}"
    ctrl.run_to("F6.s1")  # batch norm on the projection shortcut, inside block 6
    assert table.rowCount() == 32 and "F6.s1" in ins.note.text()
    np.testing.assert_allclose([r[1] for r in table.rows],
                               ctrl.stepper.record("F6.s1").values["mean"], rtol=1e-6)


def test_eval_mode_table_names_the_running_statistics(qtbot):
    ins = _inspector(qtbot, "mini-resnet")
    ins.ctrl.set_training_mode(False)
    ins.ctrl.run_to("F1")
    table = ins.show_tab("norm")
    assert "running" in table.horizontalHeaderItem(1).text() and "eval" in ins.note.text()


def test_dropout_mask_as_a_map_and_none_in_eval_mode(qtbot):
    ins = _inspector(qtbot, "lenet5-dropout")
    ctrl = ins.ctrl
    ctrl.run_to("F9")
    view = ins.show_tab("mask")
    mask = ctrl.stepper.record("F9").values["mask"][0]
    np.testing.assert_array_equal(view.shown_maps()[0, :, 0], mask)
    assert f"{int(mask.sum())} of {mask.size} kept" in ins.note.text()
    ctrl.set_training_mode(False)
    ctrl.run_to("F9")
    assert view.maps is None and "eval mode" in ins.note.text()


def test_filters_of_a_colour_first_layer_show_as_rgb_images(qtbot):
    ins = _inspector(qtbot, "rgb-shapes")
    ins.ctrl.run_to("F0")
    view = ins.show_tab("filters")
    assert ins.rgb.isVisibleTo(ins) and ins.rgb.isChecked()
    weight = ins.ctrl.network.layers[0].params["weight"]
    image = view.image.image
    assert image.ndim == 3 and image.shape[-1] == 3
    colours = rgb_filters(weight)
    y, x = view.mosaic.origin(5)
    np.testing.assert_allclose(image[y:y + 3, x:x + 3], colours[5])
    assert not view.colorbar.isVisible()
    assert "R, G, B" in view.unit_name((5, 1, 1))
    ins.rgb.setChecked(False)  # one grey map per colour channel again
    assert view.image.image.ndim == 2 and view.shown_maps().shape == (8 * 3, 3, 3)


def test_rgb_filter_colours_put_zero_at_mid_grey():
    weight = np.zeros((2, 3, 1, 1))
    weight[1, 0, 0, 0], weight[1, 2, 0, 0] = 2.0, -1.0
    colours = rgb_filters(weight)
    np.testing.assert_array_equal(colours[0, 0, 0], [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(colours[1, 0, 0], [1.0, 0.5, 0.25])


def test_the_rgb_switch_hides_for_grey_networks(qtbot):
    ins = _inspector(qtbot, "lenet5")
    ins.show_tab("filters")
    assert not ins.rgb.isVisibleTo(ins)
