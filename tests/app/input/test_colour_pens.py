"""Issue 12: the canvas offers colour pens for a network over RGB images and draws in
colour; a 1-channel network keeps the grayscale canvas."""

from __future__ import annotations

import numpy as np
from canvas_strokes import draw_stroke
from gui_helpers import shown
from PySide6.QtCore import Qt

from cnnviz.app.controller import AppController
from cnnviz.app.input.panel import InputPanel


def make_panel(qtbot, preset: str) -> InputPanel:
    """An input panel on a preset, shown."""
    panel = InputPanel(AppController(preset, user_weights=False))
    shown(qtbot, panel, 500, 800)
    return panel


def test_a_red_stroke_reaches_an_rgb_network_in_red(qtbot):
    panel = make_panel(qtbot, "rgb-shapes")
    assert panel.colour_pens.isVisible() and panel.canvas.colour_mode
    qtbot.mouseClick(panel.colour_pens.buttons["red"], Qt.MouseButton.LeftButton)
    draw_stroke(panel.canvas, [(60, 140), (140, 140), (220, 140)])
    image = panel.controller.input_image
    assert image.shape == tuple(panel.controller.spec.input_shape)
    red, green, blue = (float(image[c].max()) for c in range(3))
    assert red > 0.5 and green < 0.05 and blue < 0.05
    qtbot.mouseClick(panel.colour_pens.buttons["cyan"], Qt.MouseButton.LeftButton)
    draw_stroke(panel.canvas, [(140, 40), (140, 140), (140, 250)])
    image = panel.controller.input_image
    assert float(image[1].max()) > 0.5 and float(image[2].max()) > 0.5
    panel.canvas.undo_stroke()  # undo takes the cyan stroke back: red only again
    image = panel.controller.input_image
    assert float(image[0].max()) > 0.5 and float(image[1].max()) < 0.05


def test_a_grayscale_network_keeps_the_grayscale_canvas(qtbot):
    panel = make_panel(qtbot, "lenet5")
    assert not panel.colour_pens.isVisible() and not panel.canvas.colour_mode
    draw_stroke(panel.canvas, [(140, 40), (140, 140), (140, 250)])
    ink = panel.canvas.ink()
    np.testing.assert_array_equal(ink, panel.canvas.ink_rgb()[0])  # white pen: same ink
