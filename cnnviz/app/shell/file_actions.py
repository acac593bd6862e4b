"""The main window's File menu work: sessions, recent files, specs and figure export.

Mixed into ``MainWindow`` (it uses ``self.ctrl``, ``self.settings``, ``self.panels``,
``self.recent_menu``, ``self._add`` and ``self._on_error_raised``).
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from cnnviz.app.editor.actions import write_json_atomic

SESSION_FILTER = "cnnviz sessions (*.cnnviz)"


class FilesMixin:
    """Open/save sessions and specs, the recent-files menu, PNG export of a panel."""

    def open_session(self, path: str) -> bool:
        """Open a session file; a bad file is reported and the current session kept."""
        extra = self.ctrl.open_session(path)
        if extra is None:
            return False
        self.settings.add_recent_file(str(path))
        self._fill_recent_menu()
        return True

    def save_session(self, path: str) -> bool:
        """Save the whole session (plus the theme) to a file."""
        if not self.ctrl.save_session(path, {"theme": self.theme_name}):
            return False
        self.settings.add_recent_file(str(path))
        self._fill_recent_menu()
        return True

    def open_session_dialog(self) -> None:
        """File → Open session…"""
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", SESSION_FILTER)
        if path:
            self.open_session(path)

    def save_session_dialog(self) -> None:
        """File → Save session…"""
        path, _ = QFileDialog.getSaveFileName(self, "Save session", "session.cnnviz",
                                              SESSION_FILTER)
        if path:
            self.save_session(path if path.endswith(".cnnviz") else path + ".cnnviz")

    def _fill_recent_menu(self) -> None:
        """Recent sessions, most recent first."""
        self.recent_menu.clear()
        for path in self.settings.recent_files():
            self._add(self.recent_menu, path, lambda _=False, p=path: self.open_session(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files()))

    def open_spec_dialog(self) -> None:
        """File → Open spec… (JSON); errors come back through error_raised."""
        path, _ = QFileDialog.getOpenFileName(self, "Open spec", "", "Network specs (*.json)")
        if path:
            self.ctrl.set_spec(path, keep_weights=False)

    def save_spec_dialog(self) -> None:
        """File → Save spec… as JSON, written atomically."""
        path, _ = QFileDialog.getSaveFileName(self, "Save spec", "network.json", "JSON (*.json)")
        if path:
            self.save_spec(path)

    def save_spec(self, path: str) -> None:
        """Write the current spec as JSON (temp file + os.replace)."""
        try:
            write_json_atomic(path, self.ctrl.spec.to_dict())
        except OSError as error:
            self._on_error_raised("Could not save the spec", f"{path}: {error}")

    def export_panel(self, key: str, path: str) -> bool:
        """Save a panel as a PNG figure (for slides)."""
        ok = self.panels[key].grab().save(str(path), "PNG")
        if not ok:
            self._on_error_raised("Export failed", f"could not write {path}")
        return ok

    def export_panel_dialog(self, key: str) -> None:
        """File → Export figure → panel."""
        path, _ = QFileDialog.getSaveFileName(self, "Export figure", f"{key}.png", "PNG (*.png)")
        if path:
            self.export_panel(key, path)

