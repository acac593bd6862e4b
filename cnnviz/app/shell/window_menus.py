"""The main window's menu bar — File, Edit, Debug, View, Help — and the small dialogs its
entries open (a mini-batch size, the keyboard shortcuts, About).

A mixin of `MainWindow`: the actions it keeps on the window (``presentation_action``,
``contrast_action``, ``theme_actions``, ``batch_action``, ``recent_menu``,
``preset_menu``) are the ones tests and other parts of the shell use.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMenu, QMessageBox

from cnnviz import __version__
from cnnviz.app.controller import AppController
from cnnviz.app.shell.docks import DOCKS
from cnnviz.app.shell.figure_export import FigureExport
from cnnviz.app.shell.file_actions import FileActions
from cnnviz.app.shell.lesson_ui import fill_lesson_menu
from cnnviz.app.shell.menus import Shortcut, add_action
from cnnviz.app.shell.mode_switch import ModeSwitch
from cnnviz.app.shell.step_actions import ACTIONS, DebuggerActions
from cnnviz.app.shell.weights_menu import WeightActions
from cnnviz.app.widgets import theme as themes
from cnnviz.core.presets import preset_names


class WindowMenus:
    """Builds the menu bar (`_build_menus`) from the window's action holders."""

    ctrl: AppController
    files: FileActions
    figures: FigureExport
    weight_actions: WeightActions
    debugger: DebuggerActions
    mode_switch: ModeSwitch
    docks: dict[str, QDockWidget]
    lesson_dock: QDockWidget

    def _build_menus(self) -> None:
        """File, Edit, Debug, View and Help."""
        bar = self.menuBar()
        self._build_file_menu(bar.addMenu("&File"))
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

    def _build_file_menu(self, file_menu: QMenu) -> None:
        """Sessions, presets, specs, figure export, weights and Quit."""
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

    # ----- what the entries open ---------------------------------------------------------
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

    def show_shortcuts(self) -> None:
        """Help → Keyboard shortcuts."""
        rows = "".join(f"<tr><td><b>{s}</b></td><td>{tip}</td></tr>" for _, _, s, tip in ACTIONS)
        rows += "<tr><td><b>F11</b></td><td>Presentation mode</td></tr>"
        rows += "<tr><td><b>Ctrl+C</b></td><td>Copy the explanation (Explain panel)</td></tr>"
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self) -> None:
        """Help → About."""
        QMessageBox.about(self, "About cnnviz", about_text())


def about_text() -> str:
    """Help → About: the version, what cnnviz is, the licences."""
    return (f"<h3>cnnviz {__version__}</h3>"
            "<p>See backpropagation happen: step a convolutional network forward "
            "and back, one operation at a time.</p>"
            "<p>Licence: MIT. The bundled MNIST subset (Y. LeCun, C. Cortes, C. J. C. Burges) "
            "is under CC BY-SA 3.0.</p>")
