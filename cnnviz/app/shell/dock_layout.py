"""The main window's panels in their docks: built, arranged, sized, saved and restored.

`DockLayout` is a collaborator of `MainWindow`, which keeps its dicts as ``window.panels``
and ``window.docks``. Dock objectNames (saveState and tests rely on them): pipeline,
inspector, explain, prediction, editor, input, training. The default arrangement: input,
editor and training tabbed in a full-height left column; on the right the pipeline with
the prediction where the network ends, inspector and explain below.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.explain_panel import ExplainPanel
from cnnviz.app.debugger.inspector import Inspector
from cnnviz.app.debugger.pipeline import PipelineView
from cnnviz.app.debugger.prediction import PredictionPanel
from cnnviz.app.editor.layer_editor import LayerEditor
from cnnviz.app.input.panel import InputPanel
from cnnviz.app.shell.settings import AppSettings
from cnnviz.app.training.panel import TrainingPanel

DOCKS = ["pipeline", "inspector", "explain", "prediction", "editor", "input", "training"]
EXTERNAL = {  # the docks whose panels sit in a scroll area: (class, title)
    "editor": (LayerEditor, "Layer editor"),
    "input": (InputPanel, "Input"),
    "training": (TrainingPanel, "Training"),
}
LEFT_SHARE, LEFT_MIN_PX, LEFT_MAX_PX = 0.32, 400, 600  # the left column of docks
LAYOUT_VERSION = 2  # saveState's version: a layout saved by an older cnnviz is not restored
TITLES = {"pipeline": "Pipeline", "inspector": "Inspector", "explain": "Explain",
          "prediction": "Prediction"}


def _scrollable(widget: QWidget) -> QScrollArea:
    """A panel inside a scroll area, so a big panel never forces the window to grow."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


def make_panels(ctrl: AppController,
                before_kernels: Callable[[], object] | None) -> dict[str, QWidget]:
    """The seven panels; `before_kernels` (the launcher's wait for the kernels) runs just
    before the prediction panel, whose first forward pass needs them."""
    panels: dict[str, QWidget] = {
        "pipeline": PipelineView(ctrl), "inspector": Inspector(ctrl),
        "explain": ExplainPanel(ctrl)}
    for key, (panel_class, _title) in EXTERNAL.items():
        panels[key] = panel_class(ctrl)
    if before_kernels is not None:
        before_kernels()  # the prediction panel runs a forward pass: kernels
    panels["prediction"] = PredictionPanel(ctrl)
    return panels


class DockLayout:
    """The window's panels and docks, and the arrangement of the docks."""

    def __init__(self, window: QMainWindow, ctrl: AppController,
                 before_kernels: Callable[[], object] | None = None) -> None:
        """Build the panels and docks of `window`, arranged for a 1280×720 screen and up."""
        self.window = window
        self.panels = make_panels(ctrl, before_kernels)
        self.docks: dict[str, QDockWidget] = {}
        for key in DOCKS:
            title = TITLES.get(key) or EXTERNAL[key][1]
            dock = QDockWidget(title, window)
            dock.setObjectName(key)
            dock.setWidget(_scrollable(self.panels[key]) if key in EXTERNAL else self.panels[key])
            self.docks[key] = dock
        window.setDockNestingEnabled(True)
        self._arrange()
        self.restored = False  # a saved layout was restored: no default sizes then
        self._sized = False

    def _arrange(self) -> None:
        """Input, editor and training tabbed on the left; pipeline and prediction on top,
        inspector and explain below."""
        window, d = self.window, self.docks
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, d["input"])
        window.tabifyDockWidget(d["input"], d["editor"])
        window.tabifyDockWidget(d["editor"], d["training"])
        window.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, d["pipeline"])
        window.splitDockWidget(d["pipeline"], d["prediction"], Qt.Orientation.Horizontal)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, d["inspector"])
        window.splitDockWidget(d["inspector"], d["explain"], Qt.Orientation.Horizontal)
        d["input"].raise_()
        for corner in (Qt.Corner.TopLeftCorner, Qt.Corner.BottomLeftCorner):
            window.setCorner(corner, Qt.DockWidgetArea.LeftDockWidgetArea)  # full height
        center = QWidget()  # an empty, flat centre takes the rounding of every re-layout,
        center.setMaximumHeight(0)  # which otherwise widened the left column at each tab
        window.setCentralWidget(center)

    def size_docks(self) -> None:
        """Share the window: input, editor and training tabbed in a full-height left column
        (each usable without scrolling at 1440×900); on the right the pipeline with the
        prediction where the network ends, inspector and explain below."""
        window, d = self.window, self.docks
        w, h = window.width(), window.height()
        left = max(LEFT_MIN_PX, min(int(w * LEFT_SHARE), LEFT_MAX_PX))
        right = w - left
        window.resizeDocks([d["input"]], [left], Qt.Orientation.Horizontal)
        window.resizeDocks([d["pipeline"], d["inspector"]], [int(h * 0.40), int(h * 0.50)],
                           Qt.Orientation.Vertical)
        window.resizeDocks([d["pipeline"], d["prediction"]],
                           [int(right * 0.76), int(right * 0.24)], Qt.Orientation.Horizontal)
        window.resizeDocks([d["inspector"], d["explain"]], [int(right * 0.5), int(right * 0.5)],
                           Qt.Orientation.Horizontal)

    def size_on_first_show(self) -> None:
        """Once the window has its real size: the default sizes, unless a layout was restored."""
        if not self._sized:
            self._sized = True
            if not self.restored:
                self.size_docks()

    def restore(self, settings: AppSettings) -> None:
        """Window geometry and dock arrangement from last time."""
        geometry, state = settings.window_state()
        if geometry is not None:
            self.window.restoreGeometry(geometry)
        if state is not None:
            self.restored = self.window.restoreState(state, LAYOUT_VERSION)

    def save(self, settings: AppSettings) -> None:
        """Keep the window geometry and dock arrangement for next time."""
        settings.save_window_state(self.window.saveGeometry(),
                                   self.window.saveState(LAYOUT_VERSION))
