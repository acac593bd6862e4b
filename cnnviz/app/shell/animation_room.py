"""Room for the Explain dock's sliding-window animation in the lecture layout.

The animation's figures (the plane, the map, kernel ⊙ window = products) need more room
than the presentation's default split leaves at 1280×720. Both the exported lesson slides
(`lesson_slides.py`) and the live window in presentation mode (`LiveRoom`) make it the same
way, one change at a time until the figures are all in view: the pipeline dock at its
least height, the Explain dock as wide as its row allows, the inspector hidden (the
animation shows the layer's input itself), the lesson dock at its least width, the
prediction hidden. Live, the layout goes back as it was once the animation is no longer
shown (another tab, a step or unit with no sliding window, F11 left); where the figures
already fit (1920×1080), nothing changes. Outside presentation mode no dock is hidden:
the first two changes, then, if still needed, the left column narrower step by step (at
1440×900 the default split squeezed the kernel and products grids to nothing, at
1280×800 the products were cut off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QApplication

SEPARATOR_PX = 6  # between two docks
ROW = ("inspector", "explain", "prediction")  # the docks under the pipeline
HIDEABLE = ("inspector", "prediction")  # hidden, in this order, when the room is short
LEFT = ("input", "editor", "training")  # tabbed in the full-height left column
LEFT_STEP_PX = 40  # the left column gives up width this much at a time
Window = Any  # the MainWindow (which imports this module)


def animation_shown(window: Window) -> bool:
    """Whether the Explain dock shows a sliding-window animation."""
    panel = window.panels["explain"]
    shown = window.docks["explain"].isVisible() and panel.tabs.currentWidget() is panel.animation
    return shown and panel.animation.animation is not None


def settle(window: Window, size: tuple[int, int]) -> None:
    """Let the docks and the canvas lay themselves out; back to `size` if a passing
    minimum (a label wrapped for a moment) made the window larger."""
    for _ in range(3):
        for _ in range(2):  # the docks take their sizes, then what is in them
            QApplication.processEvents()
        if (window.width(), window.height()) == size:
            return
        window.resize(*size)


def animation_fits(window: Window, size: tuple[int, int], scale: float = 0.0) -> bool:
    """Whether, in a window of `size`, the animation's figures are all in view with
    numbers at least `scale` times the window's font."""
    settle(window, size)
    canvas = window.panels["explain"].animation.canvas
    return canvas.fitted and canvas.plan is not None and canvas.plan.scale >= scale


def shrink_pipeline(window: Window) -> None:
    """The pipeline dock at its least height, the Explain dock taller by as much (the
    window keeps its height: a larger request would grow it)."""
    pipeline, explain = window.docks["pipeline"], window.docks["explain"]
    top = pipeline.minimumSizeHint().height()
    extra = pipeline.height() - top
    window.resizeDocks([pipeline, explain], [top, explain.height() + extra],
                       Qt.Orientation.Vertical)


def widen_explain(window: Window) -> None:
    """The Explain dock as wide as the other shown docks of its row allow."""
    docks = window.docks
    keys = [k for k in ROW if docks[k].isVisible()]
    others = sum(docks[k].minimumSizeHint().width() + SEPARATOR_PX
                 for k in keys if k != "explain")
    lesson = window.lesson_dock.width() + SEPARATOR_PX if window.lesson_dock.isVisible() else 0
    room = window.width() - lesson - others
    wide = [room if k == "explain" else 1 for k in keys]
    window.resizeDocks([docks[k] for k in keys], wide, Qt.Orientation.Horizontal)


def narrow_lesson(window: Window) -> None:
    """The lesson dock at its least width."""
    window.resizeDocks([window.lesson_dock], [1], Qt.Orientation.Horizontal)


def left_column(window: Window) -> Any:
    """The shown dock of the left column (input, editor and training are tabbed there), or
    None when the column is hidden (presentation mode)."""
    shown = [window.docks[k] for k in LEFT if window.docks[k].isVisible()]
    return shown[0] if shown else None



def room_steps(window: Window) -> list[Callable[[], None]]:
    """What is given up for the animation, in order: the inspector, the lesson dock's
    width, the prediction."""
    docks = window.docks
    return [docks["inspector"].hide, lambda: narrow_lesson(window), docks["prediction"].hide]


@dataclass
class SavedLayout:
    """The live layout before the animation got its room."""

    pipeline: int  # the pipeline dock's height
    bottom: int  # the Explain dock's height
    row: dict[str, int]  # the widths of the shown docks under it
    lesson: int  # the lesson dock's width
    shown: list[str]  # the docks of HIDEABLE that were shown
    left: int  # the left column's width (0: hidden)


class LiveRoom(QObject):
    """Gives the Explain dock's animation the room its figures need whenever it is shown
    and they are not all in view (hiding docks only in presentation mode), and puts the
    layout back once it is no longer shown. Runs after the event that asked (tab,
    animation, lesson dock, F11, a resize)."""

    def __init__(self, window: Window) -> None:
        super().__init__(window)
        self.win = window
        self.saved: SavedLayout | None = None
        self.before: SavedLayout | None = None  # the layout when a change asked for a look
        self.size = QSize(window.size())  # the window's own size: not grown by a minimum
        self.busy = False
        self.enabled = True  # the lesson slides turn it off: they arrange the docks
        self.timer = QTimer(self)
        self.timer.setObjectName("animation_room")
        self.timer.setSingleShot(True)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self.update)
        panel = window.panels["explain"]
        for signal in (panel.tabs.currentChanged, panel.animation.changed,
                       window.lesson_dock.visibilityChanged):
            signal.connect(lambda *_: self.schedule(keep=True))
        window.installEventFilter(self)

    def schedule(self, keep: bool = False) -> None:
        """Look again once the event that asked has been handled; `keep`: the layout now
        (before the change lays itself out) is the one to put back later."""
        if not self.enabled or self.busy:
            return
        if keep and self.saved is None and self.before is None:
            self.before = self._save()
        self.timer.start()

    def target(self) -> tuple[int, int]:
        """The size the window should keep."""
        return self.size.width(), self.size.height()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Remember the window's size unless the docks' minimum forced it larger; a new
        size (another screen, the user resizing) is looked at again."""
        if watched is self.win and event.type() == QEvent.Type.Resize and not self.busy:
            self._remember(event)
        return False

    def _remember(self, event: QResizeEvent) -> None:
        """The new size, except a dimension that grew to exactly the window's minimum."""
        new, old, least = event.size(), event.oldSize(), self.win.minimumSizeHint()
        forced_w = old.width() > 0 and old.width() < new.width() == least.width()
        forced_h = old.height() > 0 and old.height() < new.height() == least.height()
        width = self.size.width() if forced_w else new.width()
        height = self.size.height() if forced_h else new.height()
        if QSize(width, height) != self.size:
            self.size = QSize(width, height)
            if self.saved is not None or animation_shown(self.win):
                self.schedule()

    def update(self) -> None:
        """Make room for the animation, or give the room back."""
        if self.busy:
            return
        self.busy = True
        try:
            if animation_shown(self.win):
                self._make_room()
            else:
                self.restore()
        finally:
            self.busy, self.before = False, None

    def _fits(self) -> bool:
        """Whether every figure is in view and the window kept its size."""
        return animation_fits(self.win, self.target()) and (
            (self.win.width(), self.win.height()) == self.target())

    def _make_room(self) -> None:
        """One change more at a time (`room_steps` in presentation mode) until the figures
        fit."""
        if self._fits():
            return
        if self.saved is None:
            self.saved = self.before or self._save()
        steps = [None, None, *(room_steps(self.win) if self.win.presentation else [])]
        for level, step in enumerate(steps):
            if step is not None:
                step()
            self._widen(level)
            if self._fits():
                return
        if not self.win.presentation:
            self._narrow_left_until_fits()

    def _narrow_left_until_fits(self) -> None:
        """Outside presentation mode: the left column narrower, LEFT_STEP_PX at a time, the
        Explain dock taking the width, until the figures fit or the column is at its least
        (at 1280×800 the products grid was cut off; the column comes back with the layout)."""
        dock = left_column(self.win)
        while dock is not None:
            before = dock.width()
            self.win.resizeDocks([dock], [before - LEFT_STEP_PX], Qt.Orientation.Horizontal)
            self._widen(1)  # (a window that its docks' least heights made taller stays so)
            if animation_fits(self.win, self.target()) or dock.width() >= before:
                return

    def _widen(self, level: int) -> None:
        """The window at its size, the pipeline at its least height; from level 1 on the
        Explain dock wide too, from level 3 on the lesson dock narrow."""
        settle(self.win, self.target())
        shrink_pipeline(self.win)
        if level >= 1:
            widen_explain(self.win)
        if level >= 3 and self.win.lesson_dock.isVisible():
            narrow_lesson(self.win)

    def _save(self) -> SavedLayout:
        """The layout as it is now."""
        docks = self.win.docks
        left = left_column(self.win)
        return SavedLayout(docks["pipeline"].height(), docks["explain"].height(),
                           {k: docks[k].width() for k in ROW if docks[k].isVisible()},
                           self.win.lesson_dock.width(),
                           [k for k in HIDEABLE if docks[k].isVisible()],
                           left.width() if left is not None else 0)

    def release(self) -> None:
        """Show the docks the animation took, and forget the layout (leaving F11 puts
        back the window's own)."""
        self.timer.stop()
        self.before = None
        if self.saved is not None:
            for key in self.saved.shown:
                self.win.docks[key].show()
        self.saved = None

    def restore(self) -> None:
        """The layout as it was before the animation got its room."""
        saved = self.saved
        if saved is None:
            return
        self.release()
        settle(self.win, self.target())
        docks = self.win.docks
        self.win.resizeDocks([docks["pipeline"], docks["explain"]],
                             [saved.pipeline, saved.bottom], Qt.Orientation.Vertical)
        keys = [k for k in saved.row if docks[k].isVisible()]
        self.win.resizeDocks([docks[k] for k in keys], [saved.row[k] for k in keys],
                             Qt.Orientation.Horizontal)
        if self.win.lesson_dock.isVisible():
            self.win.resizeDocks([self.win.lesson_dock], [saved.lesson],
                                 Qt.Orientation.Horizontal)
        left = left_column(self.win)
        if left is not None and saved.left:
            self.win.resizeDocks([left], [saved.left], Qt.Orientation.Horizontal)
        settle(self.win, self.target())
