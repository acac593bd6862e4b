"""The File menu's work: sessions, recent files, specs and figure export.

`FileActions` is an object of its own that the main window owns; it reaches the rest of
the app only through the controller, the settings and the panels it is given.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.editor.actions import write_json_atomic
from cnnviz.app.shell.figure_export import export_figure
from cnnviz.app.shell.menus import add_action
from cnnviz.app.shell.settings import AppSettings

SESSION_FILTER = "cnnviz sessions (*.cnnviz)"


class FileActions(QObject):
    """Open/save sessions and specs, the recent-files menu, figure export of a panel."""

    def __init__(self, window: QWidget, ctrl: AppController, settings: AppSettings,
                 panels: dict[str, QWidget], theme_name: Callable[[], str]) -> None:
        super().__init__(window)
        self.window, self.ctrl, self.settings = window, ctrl, settings
        self.panels, self.theme_name = panels, theme_name
        self.recent_menu: QMenu | None = None

    def open_session(self, path: str) -> bool:
        """Open a session file; a bad file is reported and the current session kept."""
        extra = self.ctrl.open_session(path)
        if extra is None:
            return False
        self._remember(path)
        return True

    def save_session(self, path: str) -> bool:
        """Save the whole session (plus the theme) to a file."""
        if not self.ctrl.save_session(path, {"theme": self.theme_name()}):
            return False
        self._remember(path)
        return True

    def _remember(self, path: str) -> None:
        """Put a session file at the top of the recent files."""
        self.settings.add_recent_file(str(path))
        self.fill_recent_menu()

    def open_session_dialog(self) -> None:
        """File → Open session…"""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", "", SESSION_FILTER)
        if path:
            self.open_session(path)

    def save_session_dialog(self) -> None:
        """File → Save session…"""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", "session.cnnviz",
                                              SESSION_FILTER)
        if path:
            self.save_session(path if path.endswith(".cnnviz") else path + ".cnnviz")

    def use_recent_menu(self, menu: QMenu) -> None:
        """The menu that lists recent sessions; filled now and after every open or save."""
        self.recent_menu = menu
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        """Recent sessions, most recent first."""
        if self.recent_menu is None:
            return
        self.recent_menu.clear()
        for path in self.settings.recent_files():
            add_action(self.window, self.recent_menu, path,
                       lambda p=path: self.open_session(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files()))

    def open_spec_dialog(self) -> None:
        """File → Open spec… (JSON); errors come back through error_raised."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open spec", "",
                                              "Network specs (*.json)")
        if path:
            self.ctrl.set_spec(path, keep_weights=False)

    def save_spec_dialog(self) -> None:
        """File → Save spec… as JSON, written atomically."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save spec", "network.json",
                                              "JSON (*.json)")
        if path:
            self.save_spec(path)

    def save_spec(self, path: str) -> None:
        """Write the current spec as JSON (temp file + os.replace)."""
        try:
            write_json_atomic(path, self.ctrl.spec.to_dict())
        except OSError as error:
            self.ctrl.error_raised.emit("Could not save the spec", f"{path}: {error}")

    def export_panel(self, key: str, path: str) -> bool:
        """Save a panel as a figure for slides: .png at 2× or .svg (figure_export)."""
        try:
            export_figure(self.panels[key], path)
        except (OSError, ValueError) as error:
            self.ctrl.error_raised.emit("Export failed", f"could not write {path}: {error}")
            return False
        return True
