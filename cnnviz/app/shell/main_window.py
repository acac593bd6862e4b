"""The main window: dockable panels around the backprop debugger, menus, toolbar, status bar.

Dock objectNames (saveState and tests rely on them): pipeline, inspector, explain,
prediction, editor, input, training. Opens on the lenet5 preset (trained weights if the
user trained it before), an MNIST 7 as input, ready to step with F10.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from cnnviz import __version__
from cnnviz.app.controller import AppController, status
from cnnviz.app.debugger.explain_panel import ExplainPanel
from cnnviz.app.debugger.inspector import Inspector
from cnnviz.app.debugger.pipeline import PipelineView
from cnnviz.app.debugger.prediction import PredictionPanel
from cnnviz.app.editor.layer_editor import LayerEditor
from cnnviz.app.input.panel import InputPanel, accept_image_drop
from cnnviz.app.lessons.dock import LessonDock
from cnnviz.app.shell.app_icon import app_icon
from cnnviz.app.shell.figure_export import FigureExport
from cnnviz.app.shell.file_actions import FileActions
from cnnviz.app.shell.kernel_gate import KernelGate, KernelProgress
from cnnviz.app.shell.lesson_ui import ShellLessonUi, fill_lesson_menu
from cnnviz.app.shell.menus import Shortcut, add_action
from cnnviz.app.shell.mode_switch import ModeSwitch
from cnnviz.app.shell.presentation import Presentation, recolor
from cnnviz.app.shell.settings import AppSettings
from cnnviz.app.shell.step_actions import ACTIONS, DebuggerActions
from cnnviz.app.shell.weights_menu import WeightActions
from cnnviz.app.training.panel import TrainingPanel
from cnnviz.app.widgets import theme as themes
from cnnviz.app.widgets.wheel_guard import guard_existing, install_wheel_guard
from cnnviz.core.presets import preset_names

DOCKS = ["pipeline", "inspector", "explain", "prediction", "editor", "input", "training"]
EXTERNAL = {  # the docks whose panels sit in a scroll area: (class, title)
    "editor": (LayerEditor, "Layer editor"),
    "input": (InputPanel, "Input"),
    "training": (TrainingPanel, "Training"),
}
LEFT_SHARE, LEFT_MIN_PX, LEFT_MAX_PX = 0.32, 400, 600  # the left column of docks
STATUS_MS, ERROR_STATUS_MS = 8_000, 20_000  # transient status messages disappear after this
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


class MainWindow(QMainWindow):
    """cnnviz's window. All keyword arguments are optional (tests pass their own)."""

    def __init__(self, controller: AppController | None = None, *,
                 settings: QSettings | None = None, preset: str | None = None,
                 theme: str | None = None, restore_layout: bool = True,
                 before_kernels: Callable[[], object] | None = None) -> None:
        super().__init__()
        self._before_kernels = before_kernels  # the launcher waits for kernels there
        install_wheel_guard()  # before any panel exists: the wheel edits no value it passes
        self.settings = AppSettings(settings)
        name = preset or self.settings.last_preset
        self.ctrl = controller or AppController(name if _preset_exists(name) else "lenet5")
        self.ctrl.setParent(self)
        self.setWindowTitle(f"cnnviz {__version__} — see backpropagation happen")
        self.setWindowIcon(app_icon())
        self.theme_name = theme or self.settings.theme
        self.point_size = themes.BASE_POINT_SIZE
        self.presenter = Presentation(self)  # F11, Ctrl+± and high contrast (presentation.py)
        self.debugger = DebuggerActions(self.ctrl, self)
        self.debugger.set_interval(self.settings.play_interval_ms)
        self.mode_switch = ModeSwitch(self.ctrl, self)  # train/eval: batch norm, dropout
        self._build_docks()
        self._build_lesson_dock()
        self.files = FileActions(self, self.ctrl, self.settings, self.panels,
                                 lambda: self.theme_name)
        self.figures = FigureExport(self, self.ctrl, self.panels, self.docks)
        self.weight_actions = WeightActions(self, self.ctrl)
        self._build_menus()
        self.addToolBar(toolbar := self.debugger.make_toolbar(self))
        toolbar.addAction(self.mode_switch.action)
        self._build_status_bar()
        self.ctrl.error_raised.connect(self._on_error_raised)
        self.ctrl.status_changed.connect(self._on_status_changed)
        self.ctrl.stepper_changed.connect(self._on_stepper_changed)
        self.ctrl.selection_changed.connect(self._on_stepper_changed)
        self.ctrl.spec_changed.connect(self._on_spec_changed)
        self.resize(1440, 900)
        self._restored = False
        if restore_layout:
            self._restore_layout()
        self.apply_theme(self.theme_name)
        self._on_stepper_changed()
        guard_existing(self)

    # ----- building ------------------------------------------------------------------------
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
            dock.setWidget(_scrollable(self.panels[key]) if key in EXTERNAL else self.panels[key])
            self.docks[key] = dock
        self.setDockNestingEnabled(True)
        self.setAcceptDrops(True)
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
        center = QWidget()  # an empty, flat centre takes the rounding of every re-layout,
        center.setMaximumHeight(0)  # which otherwise widened the left column at each tab
        self.setCentralWidget(center)
        self._sized = False

    def _build_lesson_dock(self) -> None:
        """The lesson dock on the right, hidden until a lesson is opened (Help → Lessons)."""
        self.lessons = LessonDock(self.ctrl, self.settings.qsettings, ShellLessonUi(self))
        self.lesson_dock = QDockWidget("Lesson", self)
        self.lesson_dock.setObjectName("lessons")
        self.lesson_dock.setWidget(self.lessons)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.lesson_dock)
        for corner in (Qt.Corner.TopRightCorner, Qt.Corner.BottomRightCorner):
            self.setCorner(corner, Qt.DockWidgetArea.RightDockWidgetArea)  # full height
        self.lesson_dock.hide()
        self.lessons.lesson_changed.connect(
            lambda: self.lesson_dock.setVisible(self.lessons.lesson is not None))

    def open_lesson(self, lesson: str, step: int | None = None) -> None:
        """Open a lesson (name or path) in the lesson dock, where it was left."""
        self.lesson_dock.show()
        self.lesson_dock.raise_()
        self.lessons.open(lesson, step)

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

    def showEvent(self, event: QShowEvent) -> None:
        """Size the docks once the window has its real size (unless a layout was restored)."""
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            if not self._restored:
                self._size_docks()

    def _build_menus(self) -> None:
        """File, Debug, View and Help."""
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        files = self.files
        self._add(file_menu, "Open session…", files.open_session_dialog, "Ctrl+O")
        self._add(file_menu, "Save session…", files.save_session_dialog, "Ctrl+S")
        self.recent_menu = file_menu.addMenu("Recent sessions")
        files.use_recent_menu(self.recent_menu)
        file_menu.addSeparator()
        self.preset_menu = file_menu.addMenu("New network from preset")
        for name in preset_names():
            self._add(self.preset_menu, name, lambda _=False, n=name: self.ctrl.load_preset(n))
        self._add(file_menu, "Open spec…", files.open_spec_dialog)
        self._add(file_menu, "Save spec…", files.save_spec_dialog)
        self.figures.add_export_menu(file_menu)
        file_menu.addSeparator()
        self.weight_actions.add_to_file_menu(file_menu)
        file_menu.addSeparator()
        self._add(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        self.weight_actions.add_edit_menu(bar.addMenu("&Edit"))
        debug = bar.addMenu("&Debug")
        for key, *_ in ACTIONS:
            debug.addAction(self.debugger.actions[key])
        debug.addSeparator()
        debug.addAction(self.mode_switch.action)
        self.batch_action = self._add(debug, "Step a mini-batch…", self.batch_dialog, "Ctrl+B")
        self._add(debug, "Step one example", self.single_example, "Ctrl+Shift+B")
        self._build_view_menu(bar.addMenu("&View"))
        help_menu = bar.addMenu("&Help")
        fill_lesson_menu(help_menu.addMenu("Lessons"), self.open_lesson)
        self._add(help_menu, "Keyboard shortcuts", self.show_shortcuts, "F1")
        self._add(help_menu, "About cnnviz", self.show_about)

    def _build_view_menu(self, view: QMenu) -> None:
        """Dock toggles, theme, presentation mode and zoom."""
        for key in DOCKS:
            view.addAction(self.docks[key].toggleViewAction())
        view.addAction(self.lesson_dock.toggleViewAction())
        view.addSeparator()
        theme_menu = view.addMenu("Theme")
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in themes.THEMES:
            action = self._add(theme_menu, name.capitalize(),
                               lambda _=False, n=name: self.apply_theme(n, remember=True))
            action.setCheckable(True)
            group.addAction(action)
            self.theme_actions[name] = action
        self.presentation_action = self._add(view, "Presentation mode",
                                             self.toggle_presentation, "F11")
        self.presentation_action.setCheckable(True)
        self.contrast_action = self._add(view, "High contrast", self.toggle_high_contrast)
        self.contrast_action.setCheckable(True)
        zoom_in = self._add(view, "Zoom in", lambda: self.zoom(+1), "Ctrl+=")
        zoom_in.setShortcuts([QKeySequence("Ctrl+="), QKeySequence.StandardKey.ZoomIn])
        self._add(view, "Zoom out", lambda: self.zoom(-1), QKeySequence.StandardKey.ZoomOut)
        self._add(view, "Reset zoom", lambda: self.zoom(0), "Ctrl+0")

    def _add(self, menu: QMenu, text: str, slot: Callable[[], object],
             shortcut: Shortcut = None) -> QAction:
        """A menu action of this window (see `menus.add_action`)."""
        return add_action(self, menu, text, slot, shortcut)

    def _build_status_bar(self) -> None:
        """Messages on the left; the selected unit with its value and the current step on
        the right, in bold, each in its own framed field so that neither clips the other."""
        self.step_label = QLabel("")
        self.unit_label = QLabel("")
        for label in (self.unit_label, self.step_label):
            label.setObjectName(f"status_{'unit' if label is self.unit_label else 'step'}")
            font = label.font()
            font.setBold(True)
            label.setFont(font)
            label.setContentsMargins(8, 0, 8, 0)
            self.statusBar().addPermanentWidget(label)

    def attach_kernel_gate(self, gate: KernelGate) -> None:
        """The launcher's warm-up: steps wait for kernels still compiling, and the status
        bar shows the background progress until every kernel is ready."""
        self.debugger.gate = gate
        self.kernel_progress = KernelProgress(gate)
        self.statusBar().insertPermanentWidget(0, self.kernel_progress)

    # ----- signals -------------------------------------------------------------------------
    def _on_stepper_changed(self) -> None:
        """Status bar: step and unit (the unit's field disappears when nothing is selected)."""
        self.step_label.setText(status.step_status(self.ctrl.stepper))
        unit = status.unit_status(self.ctrl.stepper, self.ctrl.spec, self.ctrl.selection)
        self.unit_label.setText(unit)
        self.unit_label.setVisible(bool(unit))

    def _on_spec_changed(self) -> None:
        """Remember the preset for next time."""
        if self.ctrl.preset_name:
            self.settings.last_preset = self.ctrl.preset_name
        self._on_stepper_changed()

    def _on_status_changed(self, text: str) -> None:
        """Transient message in the status bar (it goes away: no stale news)."""
        self.statusBar().showMessage(text, STATUS_MS)

    def _on_error_raised(self, title: str, message: str) -> None:
        """Errors from the controller become a dialog (and a status message)."""
        self.statusBar().showMessage(f"{title}: {message}", ERROR_STATUS_MS)
        QMessageBox.warning(self, title, message)

    def batch_dialog(self) -> None:
        """Debug → Step a mini-batch…: the first N test examples of the dataset."""
        size, ok = QInputDialog.getInt(
            self, "Step a mini-batch", "Number of test examples (the inspector's 'example' "
            "box picks the one every panel shows):", max(2, len(self.ctrl.stepper.x)), 1, 256)
        if ok:
            self.ctrl.use_test_batch(size)

    def single_example(self) -> None:
        """Debug → Step one example: back to the example the panels show."""
        self.ctrl.set_input(self.ctrl.input_image, self.ctrl.input_label)

    # ----- view ----------------------------------------------------------------------------
    def apply_theme(self, name: str, remember: bool = False) -> None:
        """Light, dark or system; font size from zoom and presentation mode."""
        app = QApplication.instance()
        self.theme_name = name
        colors = themes.apply_theme(app, name, point_size=self.point_size,
                                    high_contrast=self.presenter.high_contrast)
        for view in self.findChildren(pg.GraphicsView):
            themes.restyle_view(view, colors, self.point_size)
        recolor(self)  # the colour maps may have changed (high contrast)
        for key in ("pipeline", "inspector", "prediction", "training"):
            self.panels[key].set_colors(colors)
        self.panels["explain"].refresh()  # its rich text is sized from the font
        self.debugger.set_icon_color(colors.text)
        if name in self.theme_actions:
            self.theme_actions[name].setChecked(True)
        if remember:
            self.settings.theme = name

    @property
    def presentation(self) -> bool:
        """True in presentation mode (F11)."""
        return self.presenter.active

    def zoom(self, delta: int) -> None:
        """Bigger or smaller fonts and thumbnails everywhere (0 = back to the default)."""
        self.presenter.zoom(delta)

    def toggle_high_contrast(self) -> None:
        """View → High contrast: black/white/yellow and colour-blind-safe colour maps."""
        self.presenter.set_high_contrast(not self.presenter.high_contrast)
        self.contrast_action.setChecked(self.presenter.high_contrast)

    def toggle_presentation(self) -> None:
        """F11: full screen, only the debugger panels, the pipeline as a fit-to-width
        overview and everything scaled for a lecture hall; F11 again brings back the
        window, docks and sizes there were before (see `presentation.py`)."""
        self.presenter.toggle()
        self.presentation_action.setChecked(self.presentation)

    def show_shortcuts(self) -> None:
        """Help → Keyboard shortcuts."""
        rows = "".join(f"<tr><td><b>{s}</b></td><td>{tip}</td></tr>" for _, _, s, tip in ACTIONS)
        rows += "<tr><td><b>F11</b></td><td>Presentation mode</td></tr>"
        rows += "<tr><td><b>Ctrl+C</b></td><td>Copy the explanation (Explain panel)</td></tr>"
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> None:
        """Help → About."""
        QMessageBox.about(self, "About cnnviz", about_text())

    # ----- layout and closing --------------------------------------------------------------
    def _restore_layout(self) -> None:
        """Window geometry and dock arrangement from last time."""
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self._restored = self.restoreState(state, LAYOUT_VERSION)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept an image file dragged anywhere onto the window."""
        accept_image_drop(event, self.ctrl)

    def dropEvent(self, event: QDropEvent) -> None:
        """A dropped image file becomes the network's input (a bad file shows an error)."""
        accept_image_drop(event, self.ctrl)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the play timer and any training, keep the layout."""
        self.debugger.pause()
        stop = getattr(self.panels.get("training"), "shutdown", None)
        if callable(stop):
            stop()
        self.settings.save_window_state(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
        self.settings.play_interval_ms = self.debugger.timer.interval()
        if self.ctrl.preset_name:
            self.settings.last_preset = self.ctrl.preset_name
        self.settings.sync()
        super().closeEvent(event)


def about_text() -> str:
    """Help → About: the version, what cnnviz is, the licences."""
    return (f"<h3>cnnviz {__version__}</h3>"
            "<p>See backpropagation happen: step a convolutional network forward "
            "and back, one operation at a time.</p>"
            "<p>Licence: MIT. The bundled MNIST subset (Y. LeCun, C. Cortes, C. J. C. Burges) "
            "is under CC BY-SA 3.0.</p>")


def _preset_exists(name: str | None) -> bool:
    """True for a known preset name."""
    return name is not None and name in preset_names()
