"""Lesson slides (`cnnviz lesson --export`): the prediction dock's numbers are never
clipped, and every slide — the sliding-window animation's too — is grabbed at its size,
unscaled."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QFontMetrics, QTextDocumentFragment

import cnnviz.app.shell.lesson_slides as lesson_slides
from cnnviz.app.debugger.prediction import ProbabilityBars
from cnnviz.app.widgets.animation_canvas import AnimationCanvas
from cnnviz.app.widgets.theme import small_point_size
from cnnviz.core import Network
from cnnviz.core.presets import PRESETS
from cnnviz.engine.animation import animation_for
from cnnviz.engine.lessons import load_lesson
from cnnviz.engine.stepper import Stepper

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
    # conv-forward opens the Explain dock's animation of LeNet-5's first layer (step 2);
    # the prediction numbers must fit on every slide
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


def cut_words(label) -> list[str]:
    """Words of a word-wrapped label that do not fit its width, or all of them if the
    label is shorter than its wrapped text."""
    font = label.font()
    font.setBold(True)  # the title is bold (rich text): the widest case
    metrics, width = QFontMetrics(font), label.contentsRect().width()
    words = QTextDocumentFragment.fromHtml(label.text()).toPlainText().split()
    if label.heightForWidth(label.width()) > label.height():
        return words
    return [w for w in words if metrics.horizontalAdvance(w) > width]


def clipped_figures(canvas) -> list[str]:
    """The animation's figures that are hidden or not wholly inside the canvas's room."""
    bad, room = [], getattr(canvas, "box", canvas)  # the figures' own box, if it has one
    for key, grid in canvas.grids.items():
        if grid.grid is None:
            continue
        whole = grid.visibleRegion().boundingRect() == grid.rect()
        if not (grid.isVisible() and room.rect().contains(grid.geometry()) and whole):
            bad.append(key)
    return bad


def animation_slide(size, tmp_path, monkeypatch):
    """Export lesson 3 at `size`; (grab size, figures clipped, kernel font pt, smallest
    allowed pt, inspector shown, inspector words cut) on its animation slide."""
    seen = []
    original = lesson_slides.slide_image

    def spy(window, slide_size):
        canvas = window.panels["explain"].animation.canvas
        if canvas.isVisible():
            inspector = window.docks["inspector"]
            grab = window.grab()
            seen.append(((grab.width(), grab.height()), clipped_figures(canvas),
                         canvas.grids["kernel"].number_font().pointSizeF(),
                         small_point_size(window.font().pointSizeF()),
                         inspector.isVisible(), cut_words(window.panels["inspector"].title)))
        return original(window, slide_size)

    monkeypatch.setattr(lesson_slides, "slide_image", spy)
    _, problems = lesson_slides.export_slides(load_lesson("conv-forward"), tmp_path, size)
    assert problems == [] and len(seen) == 1  # step 2, "Watch the window slide"
    return seen[0]


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_animation_slide_is_not_scaled(size, tmp_path, monkeypatch):
    # the kernel, the window and the products at the presentation font made the window
    # 2242 px wide at 1280×720 (a slide scaled to 0.57×) and 2570 px at 1920×1080 (0.75×)
    grab, clipped, number_pt, small_pt, inspector, cut = animation_slide(size, tmp_path,
                                                                        monkeypatch)
    assert grab == size  # scale factor 1.0
    assert clipped == []  # the plane, the map, the kernel and the products all in view
    assert number_pt >= small_pt  # numbers no smaller than the presentation's small font
    assert cut == [] or not inspector  # the inspector's title is not cut off
    if size == (1920, 1080):  # room for the inspector beside the animation
        assert inspector


def test_animation_figures_wrap_in_a_narrow_canvas(qtbot):
    """Kernel ⊙ window = products in one row when wide; the products under the kernel when
    narrow; every figure in view, kernel and products cells alike."""
    net = Network.from_spec(PRESETS["lenet5"], seed=0, dtype="float64")
    x = np.random.default_rng(0).random((1, 1, 28, 28))
    st = Stepper(net, x, np.array([7]))
    st.run_to("F0")
    canvas = AnimationCanvas()
    qtbot.addWidget(canvas)
    canvas.set_animation(animation_for(st, st.record("F0"), 0, 2))
    canvas.show()
    rows = {}
    for width in (1400, 420):
        canvas.resize(width, 900)
        qtbot.waitUntil(lambda w=width: canvas.box.width() > w - 60)
        rows[width] = canvas.plan.rows
        assert canvas.fitted and clipped_figures(canvas) == [], width
    assert rows[1400] == 1 and rows[420] == 3
    kernel, products = canvas.grids["kernel"], canvas.grids["products"]
    assert kernel.cell == products.cell
    assert max(len(kernel.cell_text(r, c)) for r, c in np.ndindex(5, 5)) <= 5  # "−0.34"
