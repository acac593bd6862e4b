"""The Explain dock's animation in live presentation mode (animation_room.LiveRoom): at
1280×720 its figures and its position line are all in view without the teacher dragging
the pipeline smaller, the layout comes back when the animation is left, and nothing
changes at 1920×1080; outside presentation mode only the pipeline gives up height (no dock
is hidden)."""

from __future__ import annotations

import pytest
from gui_helpers import preset_window
from PySide6.QtWidgets import QApplication

from cnnviz.app.shell.main_window import MainWindow

UNIT = (0, (2, 10, 12))  # F0: LeNet-5's first conv layer, map 2


@pytest.fixture
def lenet(qtbot, settings):
    """The default LeNet-5 window, shown."""
    return preset_window(qtbot, settings, "lenet5", restore_layout=False)


def settled(win: MainWindow, qtbot) -> None:
    """Let the window, and the animation's room after it, lay themselves out."""
    for _ in range(3):
        QApplication.processEvents()
    room = getattr(win, "live_room", None)  # (None: the code before it, for comparison)
    qtbot.waitUntil(lambda: room is None or not room.timer.isActive())
    for _ in range(3):
        QApplication.processEvents()


def present(win: MainWindow, qtbot, size: tuple[int, int]) -> None:
    """Presentation mode at a projector's `size` (the offscreen screen is 800×800: the
    window leaves full screen and takes that size instead, as in test_presentation)."""
    win.toggle_presentation()
    win.showNormal()
    win.resize(*size)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
    settled(win, qtbot)


def at_unit(win: MainWindow, qtbot) -> None:
    """Step to F0 and select a unit of map 2 (the Explain dock on its current tab)."""
    win.ctrl.run_to("F0")
    win.ctrl.select_unit(*UNIT)
    settled(win, qtbot)


def windowed_at_unit(win: MainWindow, qtbot, size: tuple[int, int]) -> None:
    """Outside presentation mode at `size`, stepped to F0 with the unit selected."""
    win.resize(*size)
    settled(win, qtbot)
    at_unit(win, qtbot)


def show_tab(win: MainWindow, qtbot, name: str) -> None:
    """The Explain dock's tab `name`, once the layout has settled."""
    win.panels["explain"].show_tab(name)
    settled(win, qtbot)


def show_animation(win: MainWindow, qtbot) -> None:
    """At that unit, open the Explain dock's Animation tab."""
    at_unit(win, qtbot)
    win.panels["explain"].show_tab("animation")
    settled(win, qtbot)


def hidden_parts(win: MainWindow) -> list[str]:
    """The animation's figures and lines that are hidden, clipped or outside their room."""
    canvas = win.panels["explain"].animation.canvas
    bad = []
    for key, grid in canvas.grids.items():
        if grid.grid is None:
            continue
        whole = grid.visibleRegion().boundingRect() == grid.rect()
        if not (grid.isVisible() and canvas.box.rect().contains(grid.geometry()) and whole):
            bad.append(key)
    for key, label in (("title", canvas.title), ("value", canvas.value)):
        if label.visibleRegion().boundingRect() != label.rect():
            bad.append(key)
    if "position" not in canvas.value.text():
        bad.append("position")
    return bad


def layout(win: MainWindow) -> dict[str, tuple[bool, int, int]]:
    """Each debugger dock: shown, width, height."""
    keys = ("pipeline", "inspector", "explain", "prediction")
    return {k: (win.docks[k].isVisible(), win.docks[k].width(), win.docks[k].height())
            for k in keys}


def test_the_animation_gets_its_room_at_1280x720_and_gives_it_back(lenet, qtbot):
    # before: the products were cut off on the right and the window grew past the screen
    win = lenet
    present(win, qtbot, (1280, 720))
    at_unit(win, qtbot)
    before = layout(win)
    pipeline = win.docks["pipeline"]
    win.panels["explain"].show_tab("animation")
    settled(win, qtbot)
    assert hidden_parts(win) == []
    assert win.panels["explain"].animation.canvas.fitted
    assert (win.width(), win.height()) == (1280, 720)  # not grown past the screen
    assert pipeline.height() == pipeline.minimumSizeHint().height()
    shrunk = pipeline.height()
    win.panels["explain"].show_tab("computation")  # leaving the tab gives the room back
    settled(win, qtbot)
    after = layout(win)
    assert [after[k][0] for k in after] == [True] * 4
    assert pipeline.height() > shrunk + 10
    # the pipeline's height as it was (it came back at 264 of 330 px: the tab widget kept
    # the animation page's minimum height after another tab was shown)
    assert abs(after["pipeline"][2] - before["pipeline"][2]) <= 2
    for key in ("inspector", "explain", "prediction"):  # the row's widths as they were
        assert abs(after[key][1] - before[key][1]) <= 2, key
    assert (win.width(), win.height()) == (1280, 720)


def test_a_unit_without_a_window_gives_the_room_back(lenet, qtbot):
    win = lenet
    present(win, qtbot, (1280, 720))
    show_animation(win, qtbot)
    assert not win.docks["inspector"].isVisible() and hidden_parts(win) == []
    win.ctrl.run_to("F11")
    win.ctrl.select_unit(11, (7,))  # a dense layer: no window slides
    settled(win, qtbot)
    assert win.panels["explain"].animation.animation is None
    assert win.docks["inspector"].isVisible() and win.docks["prediction"].isVisible()
    assert win.live_room.saved is None


def test_leaving_presentation_mode_brings_back_the_window_docks(lenet, qtbot):
    win = lenet
    docks = {k: d.isVisible() for k, d in win.docks.items()}
    present(win, qtbot, (1280, 720))
    show_animation(win, qtbot)
    assert not win.docks["inspector"].isVisible()
    win.toggle_presentation()
    settled(win, qtbot)
    assert not win.presentation
    assert {k: d.isVisible() for k, d in win.docks.items()} == docks
    room = win.live_room.saved  # outside F11 the animation may keep the pipeline's height
    assert room is None or all(win.docks[k].isVisible() for k in room.shown)


def test_nothing_changes_at_1920x1080_where_the_animation_fits(lenet, qtbot):
    win = lenet
    present(win, qtbot, (1920, 1080))
    at_unit(win, qtbot)
    before = layout(win)
    win.panels["explain"].show_tab("animation")
    settled(win, qtbot)
    assert hidden_parts(win) == []
    assert layout(win) == before and win.live_room.saved is None


@pytest.mark.parametrize("size", [(1440, 900)])
def test_outside_presentation_mode_only_the_pipeline_gives_room(lenet, qtbot, size):
    # before: at 1440×900 the default split squeezed the kernel and products to nothing
    win = lenet
    windowed_at_unit(win, qtbot, size)
    pipeline = win.docks["pipeline"].height()
    show_tab(win, qtbot, "animation")
    assert hidden_parts(win) == []
    assert win.panels["explain"].animation.canvas.fitted
    assert (win.width(), win.height()) == size
    assert win.docks["inspector"].isVisible() and win.docks["prediction"].isVisible()
    assert win.docks["pipeline"].height() < pipeline
    show_tab(win, qtbot, "computation")
    assert win.live_room.saved is None
    assert abs(win.docks["pipeline"].height() - pipeline) <= 2


def test_outside_presentation_mode_the_left_column_gives_width_when_needed(lenet, qtbot):
    # before: at 1280×800 the products grid was cut off on the right, all docks shown
    win = lenet
    windowed_at_unit(win, qtbot, (1280, 800))
    left = win.docks["input"].width()
    show_tab(win, qtbot, "animation")
    assert hidden_parts(win) == []
    assert (win.width(), win.height()) == (1280, 800)
    assert all(win.docks[k].isVisible() for k in ("input", "inspector", "prediction"))
    assert win.docks["input"].minimumSizeHint().width() < win.docks["input"].width() < left
    show_tab(win, qtbot, "computation")  # the column's width comes back
    assert win.live_room.saved is None
    assert abs(win.docks["input"].width() - left) <= 2


def test_the_lesson_animation_step_fits_live_at_1280x720(lenet, qtbot):
    # lesson 3 step 2, "Watch the window slide": before, the kernel and the products
    # were below the Explain dock's edge
    win = lenet
    win.ctrl.error_raised.disconnect(win._on_error_raised)  # no dialogs offscreen
    present(win, qtbot, (1280, 720))
    win.open_lesson("conv-forward", 0)
    settled(win, qtbot)
    before = layout(win)
    win.lessons.next()
    settled(win, qtbot)
    assert win.panels["explain"].tabs.currentWidget() is win.panels["explain"].animation
    assert hidden_parts(win) == [] and (win.width(), win.height()) == (1280, 720)
    assert win.panels["explain"].animation.play.isChecked()  # still playing
    win.lessons.next()  # step 3 shows the formula: the room goes back
    settled(win, qtbot)
    after = layout(win)
    assert [after[k][0] for k in after] == [True] * 4
    for key in ("inspector", "explain", "prediction"):
        assert abs(after[key][1] - before[key][1]) <= 2, key
    win.lessons.leave()
    win.panels["explain"].animation.stop()
