"""The main window: dockable panels around the backprop debugger, menus, toolbar, status bar.

Dock objectNames (saveState and tests rely on them): pipeline, inspector, explain,
prediction, editor, input, training. Opens on the lenet5 preset (trained weights if the
user trained it before), an MNIST 7 as input, ready to step with F10.

The window composes collaborators, each with one job: `DockLayout` (dock_layout.py: the
panels in their docks), `WindowMenus` (window_menus.py: the menu bar and its dialogs),
`StatusFields` (status_fields.py: the unit and step fields), `FileActions`,
`FigureExport`, `WeightActions`, `DebuggerActions` (the step keys and play), `ModeSwitch`
and `Presentation`. It keeps the theme, zoom and presentation commands, the transient
status messages and error dialogs, drops, and saving the layout on close.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QSettings
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from cnnviz import __version__
from cnnviz.app.controller import AppController
from cnnviz.app.input.panel import accept_image_drop
from cnnviz.app.lessons.dock import LessonDock
from cnnviz.app.shell.animation_room import LiveRoom
from cnnviz.app.shell.app_icon import app_icon
from cnnviz.app.shell.dock_layout import DOCKS, DockLayout
from cnnviz.app.shell.figure_export import FigureExport
from cnnviz.app.shell.file_actions import FileActions
from cnnviz.app.shell.kernel_gate import KernelGate
from cnnviz.app.shell.lesson_ui import ShellLessonUi, add_lesson_dock
from cnnviz.app.shell.mode_switch import ModeSwitch
from cnnviz.app.shell.presentation import Presentation, recolor
from cnnviz.app.shell.settings import AppSettings
from cnnviz.app.shell.status_fields import StatusFields
from cnnviz.app.shell.step_actions import DebuggerActions
from cnnviz.app.shell.weights_menu import WeightActions
from cnnviz.app.shell.window_menus import WindowMenus
from cnnviz.app.widgets import theme as themes
from cnnviz.app.widgets.wheel_guard import guard_existing, install_wheel_guard
from cnnviz.core.presets import preset_names

__all__ = ["DOCKS", "MainWindow"]  # DOCKS (dock_layout.py) is imported from here too
STATUS_MS, ERROR_STATUS_MS = 8_000, 20_000  # transient status messages disappear after this


class MainWindow(QMainWindow):
    """cnnviz's window. All keyword arguments are optional (tests pass their own)."""

    def __init__(self, controller: AppController | None = None, *,
                 settings: QSettings | None = None, preset: str | None = None,
                 theme: str | None = None, restore_layout: bool = True,
                 before_kernels: Callable[[], object] | None = None) -> None:
        """`before_kernels`: the launcher waits there for the kernels the prediction panel
        needs (it runs a forward pass)."""
        super().__init__()
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
        self.dock_layout = DockLayout(self, self.ctrl, before_kernels)
        self.panels, self.docks = self.dock_layout.panels, self.dock_layout.docks
        self.setAcceptDrops(True)  # an image file dropped anywhere becomes the input
        self.lessons = LessonDock(self.ctrl, self.settings.qsettings, ShellLessonUi(self))
        self.lesson_dock = add_lesson_dock(self, self.lessons)
        self.live_room = LiveRoom(self)  # F11: room for the Explain dock's animation
        self.files = FileActions(self, self.ctrl, self.settings, self.panels,
                                 lambda: self.theme_name)
        self.figures = FigureExport(self, self.ctrl, self.panels, self.docks)
        self.weight_actions = WeightActions(self, self.ctrl)
        self.menus = WindowMenus(self)
        self._keep_menu_handles()
        self.addToolBar(toolbar := self.debugger.make_toolbar(self))
        toolbar.addAction(self.mode_switch.action)
        self.status_fields = fields = StatusFields(self, self.ctrl)
        self.step_label, self.unit_label = fields.step_label, fields.unit_label
        self.ctrl.error_raised.connect(self._on_error_raised)
        self.ctrl.status_changed.connect(self._on_status_changed)
        self.ctrl.stepper_changed.connect(self.status_fields.refresh)
        self.ctrl.selection_changed.connect(self.status_fields.refresh)
        self.ctrl.spec_changed.connect(self._on_spec_changed)
        self.resize(1440, 900)
        if restore_layout:
            self.dock_layout.restore(self.settings)
        self.apply_theme(self.theme_name)
        self.status_fields.refresh()
        guard_existing(self)

    def _keep_menu_handles(self) -> None:
        """The menus and actions other code reaches through the window (the same objects)."""
        menus = self.menus
        self.recent_menu, self.preset_menu = menus.recent_menu, menus.preset_menu
        self.batch_action, self.theme_actions = menus.batch_action, menus.theme_actions
        self.presentation_action = menus.presentation_action
        self.contrast_action = menus.contrast_action

    def open_lesson(self, lesson: str, step: int | None = None) -> None:
        """Open a lesson (name or path) in the lesson dock, where it was left."""
        self.lesson_dock.show()
        self.lesson_dock.raise_()
        self.lessons.open(lesson, step)

    def showEvent(self, event: QShowEvent) -> None:
        """Size the docks once the window has its real size (unless a layout was restored)."""
        super().showEvent(event)
        self.dock_layout.size_on_first_show()

    def attach_kernel_gate(self, gate: KernelGate) -> None:
        """The launcher's warm-up: steps wait for kernels still compiling, and the status
        bar shows the background progress until every kernel is ready."""
        self.debugger.gate = gate
        self.kernel_progress = self.status_fields.show_kernel_progress(gate)

    # ----- signals -------------------------------------------------------------------------
    def _on_spec_changed(self) -> None:
        """Remember the preset for next time."""
        if self.ctrl.preset_name:
            self.settings.last_preset = self.ctrl.preset_name
        self.status_fields.refresh()

    def _on_status_changed(self, text: str) -> None:
        """Transient message in the status bar (it goes away: no stale news)."""
        self.statusBar().showMessage(text, STATUS_MS)

    def _on_error_raised(self, title: str, message: str) -> None:
        """Errors from the controller become a dialog (and a status message)."""
        self.statusBar().showMessage(f"{title}: {message}", ERROR_STATUS_MS)
        QMessageBox.warning(self, title, message)

    def single_example(self) -> None:
        """Debug → Step one example: back to the example the panels show."""
        self.menus.single_example()

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
        window, docks and sizes there were before (see `presentation.py`). The Explain
        dock's animation gets the room it needs there (`animation_room.py`)."""
        self.live_room.release()  # each mode lays out the animation's room afresh
        self.presenter.toggle()
        self.live_room.schedule()
        self.presentation_action.setChecked(self.presentation)

    def show_about(self) -> None:
        """Help → About."""
        self.menus.show_about()

    # ----- drops and closing ---------------------------------------------------------------
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
        self.dock_layout.save(self.settings)
        self.settings.play_interval_ms = self.debugger.timer.interval()
        if self.ctrl.preset_name:
            self.settings.last_preset = self.ctrl.preset_name
        self.settings.sync()
        super().closeEvent(event)


def _preset_exists(name: str | None) -> bool:
    """True for a known preset name."""
    return name is not None and name in preset_names()
