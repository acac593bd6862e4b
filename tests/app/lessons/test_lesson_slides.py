"""Lesson slides (`cnnviz lesson --export`): the prediction dock's numbers are never
clipped, and slides without an animation are grabbed at 1920×1080, unscaled."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QFontMetrics

import cnnviz.app.shell.lesson_slides as lesson_slides
from cnnviz.app.debugger.prediction import ProbabilityBars
from cnnviz.engine.lessons import load_lesson

SIZE = (1920, 1080)


def clipped_numbers(bars: ProbabilityBars) -> list[str]:
    """The numbers whose text does not fit their rectangle or the widget."""
    font, name_w, bar_w, text_w = bars.layout_for(bars.width(), bars.height())
    metrics = QFontMetrics(font)
    bad = []
    for i, text in enumerate(bars.texts()):
        rect = bars.number_rect(i, name_w, bar_w, text_w)
        if metrics.horizontalAdvance(text) > rect.width() or rect.right() > bars.width():
            bad.append(text)
    if max(metrics.horizontalAdvance(bars._name(i)) for i in range(len(bars.values))) > name_w:
        bad.append("names")
    return bad


def export_measuring(lesson_name, tmp_path, monkeypatch):
    """Export a lesson's slides; per step (grab size before scaling, clipped numbers)."""
    seen = []
    original = lesson_slides.slide_image

    def spy(window, size):
        grab = window.grab()
        bars = window.docks["prediction"].widget().bars
        seen.append(((grab.width(), grab.height()), clipped_numbers(bars)))
        return original(window, size)

    monkeypatch.setattr(lesson_slides, "slide_image", spy)
    files, problems = lesson_slides.export_slides(load_lesson(lesson_name), tmp_path, SIZE)
    assert problems == []
    assert len(files) == len(seen)
    return seen


def test_lenet5_slides_show_every_prediction_number(tmp_path, monkeypatch):
    # conv-forward opens the Explain dock's animation of LeNet-5's first layer (step 2):
    # its kernel and products widen the window, so those slides are scaled (to ~0.8×)
    # rather than cut; the prediction numbers must still fit
    seen = export_measuring("conv-forward", tmp_path, monkeypatch)
    assert [bad for _, bad in seen] == [[]] * len(seen)
    assert seen[0][0] == SIZE  # before the animation opens: unscaled


def test_mse_prediction_numbers_fit_in_the_lesson_layout(tmp_path, monkeypatch):
    seen = export_measuring("softmax-vs-mse", tmp_path, monkeypatch)
    assert [size for size, _ in seen] == [SIZE] * len(seen)
    assert [bad for _, bad in seen] == [[]] * len(seen)


def test_bars_shrink_before_numbers_clip(qtbot):
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    bars.set_values(np.array([-0.0172, 0.693, 0.0118, -0.25]), ["0", "1", "2", "3"], 1)
    bars.show()
    hint = bars.minimumSizeHint().width()
    for width in (hint, hint + 40, 200, 160):
        bars.resize(width, 400)
        assert clipped_numbers(bars) == [], width
    bars.resize(hint, 400)
    font, name_w, bar_w, text_w = bars.layout_for(bars.width(), bars.height())
    assert bar_w >= 40 and font.pixelSize() == 30  # at its minimum width: full-size font
