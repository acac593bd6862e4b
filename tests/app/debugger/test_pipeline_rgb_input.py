"""Issue 12: the pipeline's input column draws a colour input as one RGB image (its numbers
are the colours, whatever the colour scale), with the per-channel maps one click away."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import expected_colour, pixel_rgb, shown
from PySide6.QtCore import Qt

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.pipeline import INPUT, PipelineView
from cnnviz.data import open_dataset


@pytest.fixture
def rgb(qtbot) -> PipelineView:
    """rgb-shapes on a red square of shapes-rgb (channels differ: a real colour)."""
    ctrl = AppController("rgb-shapes", user_weights=False)
    data = open_dataset("shapes-rgb")
    index = int(data.test_indices[0])
    ctrl.set_input(data.images[index], int(data.labels[index]))
    view = PipelineView(ctrl)
    shown(qtbot, view, 1200, 420)
    return view


def drawn_colour(column, i: int, j: int) -> tuple[int, int, int]:
    """The colour the column's thumbnails show at input cell (i, j), read off the screen."""
    return pixel_rgb(column.thumbs, column.thumbs.pos_of((0, i, j)))


def test_a_colour_input_is_one_rgb_image_of_its_own_numbers(rgb):
    column, x = rgb.column(INPUT), rgb.ctrl.stepper.x[0]
    assert x.shape == (3, 16, 16) and not np.allclose(x[0], x[1])  # a colour, not grey
    assert column.thumbs.rgb and column.thumbs.stack_shape == (1, 16, 16)
    assert len(column.thumbs.images) == 1 and column.rgb_box.isChecked()
    assert "RGB" in column.mode_label.text()
    inside, background = (8, 8), (0, 0)
    for i, j in (inside, background):
        assert drawn_colour(column, i, j) == expected_colour(x, i, j)
    r, g, b = drawn_colour(column, *inside)
    assert r > 2 * max(g, b)  # the red square is red
    rgb.set_scale("log")  # the colour scales leave the colours alone
    assert column.thumbs.rgb and drawn_colour(column, *inside) == expected_colour(x, *inside)
    rgb.set_scale("shared")
    assert drawn_colour(column, *inside) == expected_colour(x, *inside)
    assert "shared" not in column.mode_label.text()


def test_the_rgb_box_switches_to_one_map_per_channel_and_back(rgb, qtbot):
    column = rgb.column(INPUT)
    column.rgb_box.click()  # a real click on the check box
    assert not rgb.input_rgb and not column.thumbs.rgb
    assert column.thumbs.stack_shape == (3, 16, 16) and len(column.thumbs.images) == 3
    np.testing.assert_array_equal(column.thumbs.array, rgb.ctrl.stepper.x[0])
    rgb.ctrl.run_to("F0")  # the choice stays while stepping
    assert not column.thumbs.rgb and not column.rgb_box.isChecked()
    column.rgb_box.click()
    assert column.thumbs.rgb and len(column.thumbs.images) == 1


def test_backward_the_input_column_shows_its_delta_per_channel(rgb):
    column = rgb.column(INPUT)
    rgb.ctrl.run_pass()
    assert column.mode == "delta" and not column.thumbs.rgb
    assert len(column.thumbs.images) == 3 and not column.rgb_box.isEnabled()
    rgb.ctrl.reset()
    assert column.mode == "input" and column.thumbs.rgb and column.rgb_box.isEnabled()


def test_receptive_fields_and_clicks_on_the_colour_image(rgb, qtbot):
    ctrl, column = rgb.ctrl, rgb.column(INPUT)
    ctrl.run_to("F0")
    ctrl.select_unit(0, (2, 5, 7))
    assert column.thumbs.outlines  # drawn on the one image (all channels are read)
    assert {box[0] for box in column.thumbs.outlines} == {0, 1, 2}
    column.thumbs.grab()  # paints the outlines onto the colour image without error
    errors: list = []
    ctrl.error_raised.connect(lambda *a: errors.append(a))
    thumbs = column.thumbs
    qtbot.mouseClick(thumbs, Qt.MouseButton.LeftButton, pos=thumbs.pos_of((0, 3, 3)))
    assert errors == [] and ctrl.selection.layer is None  # input pixels are not units


def test_a_grey_input_has_no_rgb_box(qtbot):
    view = PipelineView(AppController("lenet5", user_weights=False))
    qtbot.addWidget(view)
    column = view.column(INPUT)
    assert column.rgb_box is None and not column.thumbs.rgb and len(column.thumbs.images) == 1
