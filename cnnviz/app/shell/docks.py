"""The main window's docks: the seven panels in their docks, arranged and sized.

Dock objectNames (saveState and tests rely on them): pipeline, inspector, explain,
prediction, editor, input, training. A mixin of `MainWindow`: it builds ``panels`` and
``docks`` in the window and shares its size among them the first time it is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.explain_panel import ExplainPanel
from cnnviz.app.debugger.inspector import Inspector
from cnnviz.app.debugger.pipeline import PipelineView
from cnnviz.app.debugger.prediction import PredictionPanel
from cnnviz.app.editor.layer_editor import LayerEditor
from cnnviz.app.input.panel import InputPanel
from cnnviz.app.training.panel import TrainingPanel

DOCKS = ["pipeline", "inspector", "explain", "prediction", "editor", "input", "training"]
EXTERNAL = {  # the docks whose panels sit in a scroll area: (class, title)
    "editor": (LayerEditor, "Layer editor"),
    "input": (InputPanel, "Input"),
    "training": (TrainingPanel, "Training"),
}
LEFT_SHARE, LEFT_MIN_PX, LEFT_MAX_PX = 0.32, 400, 600  # the left column of docks
TITLES = {"pipeline": "Pipeline", "inspector": "Inspector", "explain": "Explain",
          "prediction": "Prediction"}


def scrollable(widget: QWidget) -> QScrollArea:
    """A panel inside a scroll area, so a big panel never forces the window to grow."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


class DockLayout:
    """Builds the panels and their docks (`_build_docks`) and sizes them (`_size_docks`)."""

    ctrl: AppController
    _before_kernels: Callable[[], object] | None

    def _build_docks(self) -> None:
        """The seven panels, arranged for a 1280×720 screen and up."""
        self.panels: dict[str, QWidget] = {
            "pipeline": PipelineView(self.ctrl), "inspector": Inspector(self.ctrl),
            "explain": ExplainPanel(self.ctrl)}
        for key, (panel_class, _title) in EXTERNAL.items():
            self.panels[key] = panel_class(self.ctrl)
        if self._before_kernels is not None:
            self._before_kernels()  # the prediction panel runs a forward pass: kernels
        self.panels["prediction"] = PredictionPanel(self.ctrl)
        self.docks: dict[str, QDockWidget] = {}
        for key in DOCKS:
            title = TITLES.get(key) or EXTERNAL[key][1]
            dock = QDockWidget(title, self)
            dock.setObjectName(key)
            dock.setWidget(scrollable(self.panels[key]) if key in EXTERNAL else self.panels[key])
            self.docks[key] = dock
        self.setDockNestingEnabled(True)
        self.setAcceptDrops(True)
        self._arrange_docks()
        center = QWidget()  # an empty, flat centre takes the rounding of every re-layout,
        center.setMaximumHeight(0)  # which otherwise widened the left column at each tab
        self.setCentralWidget(center)
        self._sized = False

    def _arrange_docks(self) -> None:
        """Input, editor and training tabbed on the left (full height); the pipeline with
        the prediction beside it on top, inspector and explain below."""
        d = self.docks
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, d["input"])
        self.tabifyDockWidget(d["input"], d["editor"])
        self.tabifyDockWidget(d["editor"], d["training"])
        self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, d["pipeline"])
        self.splitDockWidget(d["pipeline"], d["prediction"], Qt.Orientation.Horizontal)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, d["inspector"])
        self.splitDockWidget(d["inspector"], d["explain"], Qt.Orientation.Horizontal)
        d["input"].raise_()
        for corner in (Qt.Corner.TopLeftCorner, Qt.Corner.BottomLeftCorner):
            self.setCorner(corner, Qt.DockWidgetArea.LeftDockWidgetArea)  # full height

    def _size_docks(self) -> None:
        """Share the window: input, editor and training tabbed in a full-height left column
        (each usable without scrolling at 1440×900); on the right the pipeline with the
        prediction where the network ends, inspector and explain below."""
        d, w, h = self.docks, self.width(), self.height()
        left = max(LEFT_MIN_PX, min(int(w * LEFT_SHARE), LEFT_MAX_PX))
        right = w - left
        self.resizeDocks([d["input"]], [left], Qt.Orientation.Horizontal)
        self.resizeDocks([d["pipeline"], d["inspector"]], [int(h * 0.40), int(h * 0.50)],
                         Qt.Orientation.Vertical)
        self.resizeDocks([d["pipeline"], d["prediction"]], [int(right * 0.76), int(right * 0.24)],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([d["inspector"], d["explain"]], [int(right * 0.5), int(right * 0.5)],
                         Qt.Orientation.Horizontal)
