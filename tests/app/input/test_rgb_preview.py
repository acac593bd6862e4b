"""Issue 12 polish: the Input dock's "Network input" preview draws a colour input as one RGB
image whose pixels are the input's values × 255 (clipped, never colour-mapped), the way the
pipeline's input column does; a grey input keeps its map and colour bar."""

from __future__ import annotations

import numpy as np
import pytest
from canvas_strokes import press_and_move, release
from gui_helpers import expected_colour, pixel_rgb, shown
from PySide6.QtCore import QPoint, Qt

from cnnviz.app.controller import AppController
from cnnviz.app.input.panel import InputPanel
from cnnviz.app.widgets.mapview import MapView
from cnnviz.data import open_dataset


def make_panel(qtbot, preset: str) -> InputPanel:
    """An input panel on a preset, shown at a dock's size."""
    panel = InputPanel(AppController(preset, user_weights=False))
    shown(qtbot, panel, 420, 700)
    return panel


@pytest.fixture
def rgb_panel(qtbot) -> InputPanel:
    """rgb-shapes on the first test example of shapes-rgb (a coloured shape)."""
    panel = make_panel(qtbot, "rgb-shapes")
    data = open_dataset("shapes-rgb")
    index = int(data.test_indices[0])
    assert panel.controller.set_input(data.images[index], int(data.labels[index]))
    return panel


def drawn_colour(view: MapView, i: int, j: int) -> tuple[int, int, int]:
    """The colour on screen at input pixel (i, j) of the preview, read off a grab."""
    return pixel_rgb(view, view.widget_pos_of((0, i, j)))


def test_a_colour_input_is_previewed_as_one_rgb_image_of_its_values(rgb_panel):
    view, x = rgb_panel.preview, rgb_panel.controller.input_image
    assert x.shape == (3, 16, 16) and not np.allclose(x[0], x[1])  # a colour, not grey
    assert view.rgb and view.mosaic.C == 1  # one image, not three maps
    assert not view.colorbar.isVisible()  # its colours are its numbers: no scale
    cells = [(8, 8), (0, 0), (3, 12), (15, 15)]
    for i, j in cells:
        assert drawn_colour(view, i, j) == expected_colour(x, i, j), (i, j)
    r, g, b = drawn_colour(view, 8, 8)
    assert r > 2 * max(g, b)  # this example's shape is red, and shows red
    assert "RGB" in rgb_panel.caption.text()


def test_the_preview_matches_the_pipeline_input_column(rgb_panel, qtbot):
    """The same pixels as the pipeline's RGB input column (one shared conversion)."""
    from cnnviz.app.widgets.colormaps import rgb_qimage

    x = rgb_panel.controller.input_image
    column = rgb_qimage(x)
    for i, j in [(8, 8), (2, 5)]:
        colour = column.pixelColor(QPoint(j, i))
        assert drawn_colour(rgb_panel.preview, i, j) == (colour.red(), colour.green(),
                                                         colour.blue())


def test_values_outside_zero_one_are_clipped_not_rescaled(rgb_panel):
    ctrl = rgb_panel.controller
    x = np.full((3, 16, 16), 0.25, dtype=np.float32)
    x[:, 4, 4] = (1.5, -0.5, 0.5)  # clipped to (1, 0, 0.5)
    x[:, 10, 10] = (0.0, 0.6, 1.0)
    assert ctrl.set_input(x, None)
    view = rgb_panel.preview
    assert drawn_colour(view, 4, 4) == (255, 0, 128)
    assert drawn_colour(view, 10, 10) == (0, 153, 255)
    assert drawn_colour(view, 0, 0) == (64, 64, 64)  # 0.25: not stretched to the range
    np.testing.assert_array_equal(view.maps, x)  # the readout keeps the real numbers
    assert view.hover_text((0, 4, 4)) == "[4,4] = R 1.5, G -0.5, B 0.5"


def test_the_live_preview_of_a_colour_stroke_is_rgb(qtbot):
    panel = make_panel(qtbot, "rgb-shapes")
    qtbot.mouseClick(panel.colour_pens.buttons["green"], Qt.MouseButton.LeftButton)
    stroke = [(40, 140), (140, 140), (240, 140)]
    panel._last_preview = 0.0  # the next move draws a preview
    before = panel.controller.input_image.copy()
    press_and_move(panel.canvas, stroke)
    view = panel.preview
    assert view.rgb and float(view.maps[1].max()) > 0.2  # the stroke so far, in green
    np.testing.assert_array_equal(panel.controller.input_image, before)  # not run yet
    np.testing.assert_allclose(view.shown_maps(), np.round(np.clip(view.maps, 0, 1) * 255) / 255)
    release(panel.canvas, stroke[-1])
    x = panel.controller.input_image
    i, j = np.unravel_index(np.argmax(x[1]), x[1].shape)
    assert drawn_colour(view, i, j) == expected_colour(x, i, j)
    r, g, b = drawn_colour(view, i, j)
    assert g > 100 and r < 20 and b < 20  # a green stroke shows green


def test_a_grey_input_keeps_its_map_and_colour_bar(qtbot):
    panel = make_panel(qtbot, "lenet5")
    view = panel.preview
    assert not view.rgb and view.colorbar.isVisible()
    np.testing.assert_array_equal(view.shown_maps(), panel.controller.input_image)
    assert "RGB" not in panel.caption.text()
    panel.controller.load_preset("rgb-shapes")  # and back and forth with the network
    assert view.rgb and not view.colorbar.isVisible()
    panel.controller.load_preset("lenet5")
    assert not view.rgb and view.colorbar.isVisible()
    assert view.image.image.ndim == 2 and view.mosaic.C == 1
