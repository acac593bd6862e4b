"""The main window's menu bar: File, Edit, Debug, View and Help, and the small dialogs the
Debug and Help menus open.

`WindowMenus` is a collaborator of `MainWindow`: it builds the menus from the window's
own collaborators (file, figure, weight and debugger actions, the mode switch, the docks)
and commands (theme, presentation, zoom, lessons). The window keeps the menus and actions
that other code reaches (``window.recent_menu``, ``window.theme_actions`` …) as the same
objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMenu, QMessageBox

from cnnviz import __version__
from cnnviz.app.controller import AppController
from cnnviz.app.shell.dock_layout import DOCKS
from cnnviz.app.shell.figure_export import FigureExport
from cnnviz.app.shell.file_actions import FileActions
from cnnviz.app.shell.lesson_ui import fill_lesson_menu
from cnnviz.app.shell.menus import Shortcut, add_action
from cnnviz.app.shell.mode_switch import ModeSwitch
from cnnviz.app.shell.step_actions import ACTIONS, DebuggerActions
from cnnviz.app.shell.weights_menu import WeightActions
from cnnviz.app.widgets import theme as themes
from cnnviz.core.presets import preset_names


class MenuWindow(Protocol):
    """What the menus use of the main window (which imports this module), besides
    QMainWindow's own methods."""

    ctrl: AppController
    files: FileActions
    figures: FigureExport
    weight_actions: WeightActions
    debugger: DebuggerActions
    mode_switch: ModeSwitch
    docks: dict[str, QDockWidget]
    lesson_dock: QDockWidget

    def apply_theme(self, name: str, remember: bool = False) -> None: ...
    def toggle_presentation(self) -> None: ...
    def toggle_high_contrast(self) -> None: ...
    def zoom(self, delta: int) -> None: ...
    def open_lesson(self, lesson: str, step: int | None = None) -> None: ...


class WindowMenus:
    """Builds the window's menu bar; holds the menus and actions whose state changes."""

    def __init__(self, window: MenuWindow) -> None:
        self.window, self.ctrl = window, window.ctrl
        bar = window.menuBar()
        self._build_file_menu(bar.addMenu("&File"))
        window.weight_actions.add_edit_menu(bar.addMenu("&Edit"))
        self._build_debug_menu(bar.addMenu("&Debug"))
        self._build_view_menu(bar.addMenu("&View"))
        self._build_help_menu(bar.addMenu("&Help"))

    def _add(self, menu: QMenu, text: str, slot: Callable[[], object],
             shortcut: Shortcut = None) -> QAction:
        """A menu action of the window (see `menus.add_action`)."""
        return add_action(self.window, menu, text, slot, shortcut)

    # ----- the menus -----------------------------------------------------------------------
    def _build_file_menu(self, file_menu: QMenu) -> None:
        """Sessions, presets, specs, figure export, weights, quit."""
        window, files = self.window, self.window.files
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
        window.figures.add_export_menu(file_menu)
        file_menu.addSeparator()
        window.weight_actions.add_to_file_menu(file_menu)
        file_menu.addSeparator()
        self._add(file_menu, "Quit", window.close, QKeySequence.StandardKey.Quit)

    def _build_debug_menu(self, debug: QMenu) -> None:
        """The step actions, the train/eval switch, mini-batch or one example."""
        for key, *_ in ACTIONS:
            debug.addAction(self.window.debugger.actions[key])
        debug.addSeparator()
        debug.addAction(self.window.mode_switch.action)
        self.batch_action = self._add(debug, "Step a mini-batch…", self.batch_dialog, "Ctrl+B")
        self._add(debug, "Step one example", self.single_example, "Ctrl+Shift+B")

    def _build_view_menu(self, view: QMenu) -> None:
        """Dock toggles, theme, presentation mode and zoom."""
        window = self.window
        for key in DOCKS:
            view.addAction(window.docks[key].toggleViewAction())
        view.addAction(window.lesson_dock.toggleViewAction())
        view.addSeparator()
        theme_menu = view.addMenu("Theme")
        group = QActionGroup(window)
        self.theme_actions: dict[str, QAction] = {}
        for name in themes.THEMES:
            action = self._add(theme_menu, name.capitalize(),
                               lambda _=False, n=name: window.apply_theme(n, remember=True))
            action.setCheckable(True)
            group.addAction(action)
            self.theme_actions[name] = action
        self.presentation_action = self._add(view, "Presentation mode",
                                             window.toggle_presentation, "F11")
        self.presentation_action.setCheckable(True)
        self.contrast_action = self._add(view, "High contrast", window.toggle_high_contrast)
        self.contrast_action.setCheckable(True)
        zoom_in = self._add(view, "Zoom in", lambda: window.zoom(+1), "Ctrl+=")
        zoom_in.setShortcuts([QKeySequence("Ctrl+="), QKeySequence.StandardKey.ZoomIn])
        self._add(view, "Zoom out", lambda: window.zoom(-1), QKeySequence.StandardKey.ZoomOut)
        self._add(view, "Reset zoom", lambda: window.zoom(0), "Ctrl+0")

    def _build_help_menu(self, help_menu: QMenu) -> None:
        """Lessons, keyboard shortcuts, about."""
        fill_lesson_menu(help_menu.addMenu("Lessons"), self.window.open_lesson)
        self._add(help_menu, "Keyboard shortcuts", self.show_shortcuts, "F1")
        self._add(help_menu, "About cnnviz", self.show_about)

    # ----- what the menus open -------------------------------------------------------------
    def batch_dialog(self) -> None:
        """Debug → Step a mini-batch…: the first N test examples of the dataset."""
        size, ok = QInputDialog.getInt(
            self.window, "Step a mini-batch", "Number of test examples (the inspector's "
            "'example' box picks the one every panel shows):",
            max(2, len(self.ctrl.stepper.x)), 1, 256)
        if ok:
            self.ctrl.use_test_batch(size)

    def single_example(self) -> None:
        """Debug → Step one example: back to the example the panels show."""
        self.ctrl.set_input(self.ctrl.input_image, self.ctrl.input_label)

    def show_shortcuts(self) -> None:
        """Help → Keyboard shortcuts."""
        rows = "".join(f"<tr><td><b>{s}</b></td><td>{tip}</td></tr>" for _, _, s, tip in ACTIONS)
        rows += "<tr><td><b>F11</b></td><td>Presentation mode</td></tr>"
        rows += "<tr><td><b>Ctrl+C</b></td><td>Copy the explanation (Explain panel)</td></tr>"
        QMessageBox.information(self.window, "Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> None:
        """Help → About."""
        QMessageBox.about(self.window, "About cnnviz", about_text())


def about_text() -> str:
    """Help → About: the version, what cnnviz is, the licences."""
    return (f"<h3>cnnviz {__version__}</h3>"
            "<p>See backpropagation happen: step a convolutional network forward "
            "and back, one operation at a time.</p>"
            "<p>Licence: MIT. The bundled MNIST subset (Y. LeCun, C. Cortes, C. J. C. Burges) "
            "is under CC BY-SA 3.0.</p>")
