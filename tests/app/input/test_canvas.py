"""The drawing canvas: strokes from mouse and tablet events, undo, clear, eraser."""

from __future__ import annotations

import numpy as np
import pytest
from canvas_strokes import SEVEN, draw_seven, draw_stroke, tablet_stroke
from gui_helpers import shown
from PySide6.QtCore import Qt

from cnnviz.app.input.canvas import SIZE, DrawingCanvas


@pytest.fixture
def canvas(qtbot):
    """A shown 300×300 canvas."""
    widget = DrawingCanvas()
    shown(qtbot, widget, 300, 300)
    return widget


def test_a_stroke_paints_antialiased_ink_and_signals_once(qtbot, canvas):
    ends, moves = [], []
    canvas.drawing_changed.connect(lambda: ends.append(1))
    canvas.ink_changed.connect(lambda: moves.append(1))
    assert not canvas.has_ink()
    draw_stroke(canvas, [(40, 140), (140, 140), (240, 140)])
    ink = canvas.ink()
    assert ink.shape == (SIZE, SIZE) and ink.dtype == np.float32
    assert ink[140, 60:220].min() == pytest.approx(1.0)       # the line is there, solid
    assert ink[20:100].max() == 0.0                           # and nowhere else
    assert len(ends) == 1                                     # once, on release
    assert len(moves) == 3                                    # press + two moves
    draw_stroke(canvas, [(40, 200), (240, 260)])              # a slanted line
    grey = canvas.ink()[180:280]
    assert ((grey > 0.05) & (grey < 0.95)).sum() > 100         # antialiased edges


def test_undo_and_clear_restore_earlier_drawings(qtbot, canvas):
    draw_stroke(canvas, SEVEN[0])
    first = canvas.ink()
    draw_stroke(canvas, SEVEN[1])
    assert not np.array_equal(canvas.ink(), first)
    canvas.setFocus()
    qtbot.waitUntil(canvas.hasFocus)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(canvas.ink(), first)
    canvas.clear()
    assert not canvas.has_ink()
    canvas.undo_stroke()                                      # the clear is undone
    np.testing.assert_array_equal(canvas.ink(), first)
    canvas.undo_stroke()
    assert not canvas.has_ink() and not canvas.can_undo()


def test_eraser_and_width(canvas):
    canvas.set_brush_width(30)
    draw_stroke(canvas, [(40, 140), (240, 140)])
    thick = canvas.ink().sum()
    canvas.set_eraser(True)
    draw_stroke(canvas, [(140, 100), (140, 180)])
    assert canvas.ink()[140, 130:150].max() == 0.0            # erased across the line
    assert canvas.ink()[140, 60].max() == pytest.approx(1.0)
    canvas.set_eraser(False)
    canvas.clear()
    canvas.set_brush_width(6)
    draw_stroke(canvas, [(40, 140), (240, 140)])
    assert canvas.ink().sum() < thick / 3


def test_tablet_pressure_sets_the_width(qtbot):
    sums = []
    for pressure in (0.1, 1.0):
        widget = DrawingCanvas()
        qtbot.addWidget(widget)
        widget.resize(280, 280)
        tablet_stroke(widget, [(40, 140), (140, 140), (240, 140)], pressure)
        assert not widget.can_undo() or widget._current is None   # the pen lifted
        sums.append(widget.ink().sum())
    assert 0 < sums[0] < sums[1] / 2


def test_screenshot_of_a_drawn_seven(canvas, artifacts_dir):
    draw_seven(canvas)
    assert canvas.has_ink()
    canvas.grab().save(str(artifacts_dir / "canvas_seven.png"))
