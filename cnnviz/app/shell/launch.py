"""`cnnviz` with no arguments: the application object, the theme, a warm-up, the window."""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QSplashScreen

from cnnviz.app.shell.settings import APPLICATION, ORGANIZATION, AppSettings
from cnnviz.app.widgets.theme import apply_theme
from cnnviz.app.widgets.wheel_guard import install_wheel_guard

KERNEL_FAMILIES = ("conv", "conv_wide", "pool", "dense", "activations", "losses")  # warm-up order
SPLASH_TICK_MS = 250


def kernel_counts() -> dict[str, int]:
    """Compiled Numba kernels per op family so far; reads the loaded modules, imports none
    (so the splash never loads Numba itself)."""
    counts, seen = {}, set()
    for family in KERNEL_FAMILIES:
        module = sys.modules.get(f"cnnviz.core.kernels.{family}")
        ready = 0
        for value in list(vars(module).values()) if module is not None else ():
            try:
                compiled = bool(getattr(value, "signatures", None)) and id(value) not in seen
            except RuntimeError:  # its overloads changed under us: count it next tick
                compiled = False
            if compiled:
                seen.add(id(value))
                ready += 1
        counts[family] = ready
    return counts


def splash_text(counts: dict[str, int], seconds: float) -> str:
    """The splash message: the kernel family being prepared, a count and the time so far."""
    done = [family for family, n in counts.items() if n]
    if not done:
        return f"cnnviz: loading the numeric core (Numba)… {seconds:.0f} s"
    return (f"cnnviz: preparing the numeric kernels…\n{done[-1].replace('_', ' ')} kernels · "
            f"{sum(counts.values())} ready · {seconds:.0f} s (the first start compiles them)")


class SplashProgress(QObject):
    """Rewrites the splash message a few times a second while the kernels warm up."""

    def __init__(self, splash: QSplashScreen) -> None:
        super().__init__(splash)
        self.splash = splash
        self.started = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setInterval(SPLASH_TICK_MS)
        self.timer.timeout.connect(self.update)

    def update(self) -> None:
        """Show the current count and the seconds since the splash appeared."""
        text = splash_text(kernel_counts(), time.perf_counter() - self.started)
        self.splash.showMessage(text, Qt.AlignmentFlag.AlignCenter)

    def start(self) -> None:
        """First message now, then every tick."""
        self.update()
        self.timer.start()

    def stop(self) -> None:
        """The window is up."""
        self.timer.stop()


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

    def __init__(self, splash: QSplashScreen, progress: SplashProgress | None = None) -> None:
        super().__init__()
        self.splash = splash
        self.progress = progress
        self.window = None

    def show_window(self, _seconds: float = 0.0) -> None:
        """Create and show the main window."""
        # Imported here: pyqtgraph and every panel load while the splash is showing
        # (start-up time).
        from cnnviz.app.shell.main_window import MainWindow

        if self.progress is not None:
            self.progress.stop()
        self.window = MainWindow()
        self.window.show()
        self.splash.finish(self.window)


def launch() -> int:
    """Run the GUI until the window closes; returns the exit code."""
    app = make_application()
    apply_theme(app, AppSettings().theme)
    splash = QSplashScreen()
    splash.resize(560, 160)
    progress = SplashProgress(splash)
    progress.start()
    splash.show()
    starter = _Starter(splash, progress)
    thread = Warmup()
    thread.finished_in.connect(starter.show_window, Qt.ConnectionType.QueuedConnection)
    thread.start()
    code = app.exec()
    thread.wait()
    return int(code)
