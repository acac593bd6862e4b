"""`cnnviz` with no arguments: the application object, the theme, a warm-up, the window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QSplashScreen

from cnnviz.app.shell.settings import APPLICATION, ORGANIZATION, AppSettings
from cnnviz.app.widgets.theme import apply_theme
from cnnviz.app.widgets.wheel_guard import install_wheel_guard


class Warmup(QThread):
    """Compiles (or loads from Numba's cache) every kernel off the UI thread."""

    finished_in = Signal(float)

    def run(self) -> None:
        """The core's warm-up; failures only cost speed, so they are ignored here."""
        try:
            # Imported here: Numba loads in this thread, after the splash is on screen
            # (start-up time).
            from cnnviz.core import warmup

            self.finished_in.emit(float(warmup("float32")))
        except Exception:  # noqa: BLE001 - the window still works, just slower at first
            self.finished_in.emit(-1.0)


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with HiDPI pass-through scaling and names for QSettings."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("cnnviz")
    install_wheel_guard(app)
    return app


class _Starter(QObject):
    """Shows the window once the kernels are warm (the splash keeps the UI alive meanwhile)."""

    def __init__(self, splash: QSplashScreen) -> None:
        super().__init__()
        self.splash = splash
        self.window = None

    def show_window(self, _seconds: float = 0.0) -> None:
        """Create and show the main window."""
        # Imported here: pyqtgraph and every panel load while the splash is showing
        # (start-up time).
        from cnnviz.app.shell.main_window import MainWindow

        self.window = MainWindow()
        self.window.show()
        self.splash.finish(self.window)


def launch() -> int:
    """Run the GUI until the window closes; returns the exit code."""
    app = make_application()
    apply_theme(app, AppSettings().theme)
    splash = QSplashScreen()
    splash.showMessage("cnnviz: preparing the numeric kernels…",
                       Qt.AlignmentFlag.AlignCenter)
    splash.resize(480, 160)
    splash.show()
    starter = _Starter(splash)
    thread = Warmup()
    thread.finished_in.connect(starter.show_window, Qt.ConnectionType.QueuedConnection)
    thread.start()
    code = app.exec()
    thread.wait()
    return int(code)
