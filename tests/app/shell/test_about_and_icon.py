"""The About dialog shows the version and the licences; the window carries the app icon."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from cnnviz import __version__
from cnnviz.app.controller import AppController
from cnnviz.app.shell.app_icon import app_icon
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.paths import ICON_SIZES


def test_about_shows_the_version_and_licences(qtbot, settings, artifacts_dir):
    win = MainWindow(AppController("square"), settings=settings, theme="light")
    qtbot.addWidget(win)
    win.show()
    seen = []

    def grab_and_close() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.grab().save(str(artifacts_dir / "about_dialog.png"))
            box.accept()

    QTimer.singleShot(200, grab_and_close)
    win.show_about()
    assert seen and f"cnnviz {__version__}" in seen[0]
    assert "MIT" in seen[0] and "CC BY-SA 3.0" in seen[0]


def test_the_window_has_the_app_icon(qtbot, settings):
    icon = app_icon()
    assert not icon.isNull() and len(icon.availableSizes()) == len(ICON_SIZES)
    win = MainWindow(AppController("square"), settings=settings, theme="light")
    qtbot.addWidget(win)
    assert not win.windowIcon().isNull()
