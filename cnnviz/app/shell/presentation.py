"""Presentation mode (F11), zoom (Ctrl+=, Ctrl+-, Ctrl+0) and high contrast, for a lecture.

F11 goes full screen with a layout made for a projector: only the debugger's docks (no
toolbar: every action has its key), the pipeline across the whole width as a fit-to-width
overview (``debugger/overview.py``), the inspector, explain and prediction panels below
it, and fonts sized from the screen height
(16 pt at 1080 lines, never under 12 pt). Fonts, pyqtgraph axes and labels, the
computation view and the thumbnails all follow the font size, so Ctrl+± zooms everything.
Leaving F11 puts back the window's geometry, state and docks exactly as they were.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QToolBar, QWidget

from cnnviz.app.debugger import overview
from cnnviz.app.widgets import theme as themes
from cnnviz.app.widgets.colormaps import palette
from cnnviz.app.widgets.mapview import MapView, ThumbGrid
from cnnviz.app.widgets.number_grid import NumberGrid

SECONDARY = ["editor", "input", "training"]  # hidden in presentation mode
FULL_HD = 1080  # screen lines at which presentation fonts are PRESENTATION_POINT_SIZE
MIN_POINT_SIZE, MAX_POINT_SIZE = 8, 40
PIPELINE_SHARE = 0.5  # of the height under the toolbar: the rest is inspector and explain
BOTTOM_SHARES = {"inspector": 0.25, "explain": 0.57, "prediction": 0.18}


class MainWindow(Protocol):
    """What presentation mode uses of the main window (which imports this module), besides
    QMainWindow's own methods."""

    docks: dict[str, QDockWidget]
    panels: dict[str, QWidget]
    theme_name: str
    point_size: int

    def apply_theme(self, name: str, remember: bool = False) -> None: ...


def presentation_point_size(lines: int) -> int:
    """The presentation font for a screen (window) `lines` pixels high."""
    size = round(themes.PRESENTATION_POINT_SIZE * lines / FULL_HD)
    return max(12, min(MAX_POINT_SIZE, size))


class Presentation(QObject):
    """The window's presentation state: on/off, zoom steps, high contrast."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.win = window
        self.active = False
        self.high_contrast = False
        self.steps = 0  # Ctrl+± steps from the mode's default size
        self._geometry = QByteArray()
        self._state = QByteArray()
        self._window_state = Qt.WindowState.WindowNoState
        self._docks: dict[str, bool] = {}
        self._lines = 0

    # ----- font size and zoom ---------------------------------------------------------
    def base_point_size(self) -> int:
        """The mode's default font size (presentation: from the window's height)."""
        if not self.active:
            return themes.BASE_POINT_SIZE
        return presentation_point_size(self.win.height())

    def point_size(self) -> int:
        """The font size in use: the default plus the zoom steps."""
        return max(MIN_POINT_SIZE, min(MAX_POINT_SIZE, self.base_point_size() + self.steps))

    def zoom_factor(self) -> float:
        """How much larger than normal everything is drawn."""
        return self.point_size() / themes.BASE_POINT_SIZE

    def zoom(self, delta: int) -> None:
        """Ctrl+= / Ctrl+- one step bigger or smaller; 0 (Ctrl+0) back to the default."""
        self.steps = 0 if delta == 0 else self.steps + delta
        self.steps = self.point_size() - self.base_point_size()  # clamped
        self.apply()

    def apply(self) -> None:
        """Fonts, plot axes, thumbnails and colours at the current size and contrast."""
        win = self.win
        win.point_size = self.point_size()
        win.apply_theme(win.theme_name)
        pipeline = win.panels["pipeline"]
        pipeline.thumb_zoom = self.zoom_factor()
        if pipeline.overview is not None:  # its compact maps grow with Ctrl+=
            pipeline.overview.zoom = self.point_size() / self.base_point_size()
        overview.fit_scale_bar(pipeline)
        pipeline.fit_thumbnails()

    def set_high_contrast(self, on: bool) -> None:
        """View → High contrast: black, white and yellow; colour-blind-safe maps."""
        self.high_contrast = on
        self.apply()

    # ----- entering and leaving -------------------------------------------------------
    def toggle(self) -> None:
        """F11."""
        self.leave() if self.active else self.enter()

    def enter(self) -> None:
        """Full screen, debugger docks only, overview pipeline, presentation fonts."""
        win = self.win
        self._geometry, self._state = win.saveGeometry(), win.saveState()
        self._window_state = win.windowState()
        self._docks = {k: win.docks[k].toggleViewAction().isChecked() for k in SECONDARY}
        self.active, self.steps = True, 0
        for key in SECONDARY:
            win.docks[key].setVisible(False)
        for bar in win.findChildren(QToolBar):  # every action has its key (F1 lists them)
            bar.setVisible(False)
        win.showFullScreen()
        overview.enable(win.panels["pipeline"], True)
        self.arrange()
        win.installEventFilter(self)

    def leave(self) -> None:
        """Back to the window, docks and sizes there were before F11."""
        win = self.win
        win.removeEventFilter(self)
        self.active, self.steps = False, 0
        overview.enable(win.panels["pipeline"], False)
        self.apply()  # normal fonts first: the window's minimum size shrinks back
        win.setWindowState(self._window_state)
        if not (self._window_state & (Qt.WindowState.WindowFullScreen
                                      | Qt.WindowState.WindowMaximized)):
            win.showNormal()
        win.restoreGeometry(self._geometry)
        if not win.restoreState(self._state):  # the docks at the restored window size
            for key in SECONDARY:
                win.docks[key].setVisible(self._docks.get(key, True))
            for bar in win.findChildren(QToolBar):
                bar.setVisible(True)
        win.restoreGeometry(self._geometry)  # again: the lecture layout's docks had made
        # the window's minimum size larger while the dock state was restored

    def arrange(self) -> None:
        """The lecture layout: the pipeline across the top, the other three below it."""
        win = self.win
        d: dict[str, QDockWidget] = win.docks
        win.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, d["pipeline"])
        win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, d["inspector"])
        win.splitDockWidget(d["inspector"], d["explain"], Qt.Orientation.Horizontal)
        win.splitDockWidget(d["explain"], d["prediction"], Qt.Orientation.Horizontal)
        for key in ("pipeline", "inspector", "explain", "prediction"):
            d[key].setVisible(True)
        self.apply()
        self.resize_docks()

    def resize_docks(self) -> None:
        """Share the screen: half the height for the pipeline, the rest below it."""
        win, d = self.win, self.win.docks
        self._lines = win.height()
        room = win.height() - win.menuBar().height() - win.statusBar().height() - 60
        top = int(room * PIPELINE_SHARE)
        win.resizeDocks([d["pipeline"], d["inspector"]], [top, room - top],
                        Qt.Orientation.Vertical)
        keys = list(BOTTOM_SHARES)
        win.resizeDocks([d[k] for k in keys], [int(win.width() * BOTTOM_SHARES[k]) for k in keys],
                        Qt.Orientation.Horizontal)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A new screen size in presentation mode: new fonts and dock sizes."""
        resized = event.type() == QEvent.Type.Resize and watched is self.win
        if resized and self.active and self.win.height() != self._lines:
            if self.point_size() != self.win.point_size:  # else the fonts stay: an
                self.apply()  # animation playing in the Explain dock goes on
            self.resize_docks()
        return False


def recolor(window: QWidget) -> None:
    """Redraw every map, thumbnail and number grid of a window if the colour maps changed."""
    if window.property("cnnviz_palette") == palette():
        return
    window.setProperty("cnnviz_palette", palette())
    for kind in (MapView, ThumbGrid):
        for widget in window.findChildren(kind):
            widget.recolor()
    for grid in window.findChildren(NumberGrid):
        grid.update()
