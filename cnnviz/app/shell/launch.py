"""`cnnviz` with no arguments: the application object, the theme, a warm-up, the window."""

from __future__ import annotations

import os
import sys
import threading
import time

from PySide6.QtCore import QEventLoop, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from cnnviz.app.shell.app_icon import APP_ID, app_icon, app_icon_pixmap
from cnnviz.app.shell.kernel_gate import KernelGate
from cnnviz.app.shell.settings import APPLICATION, ORGANIZATION, AppSettings
from cnnviz.app.shell.splash import Splash
from cnnviz.app.shell.startup_probe import PROBE_VARIABLE, start_probe
from cnnviz.app.widgets.theme import apply_theme
from cnnviz.app.widgets.wheel_guard import install_wheel_guard

KERNEL_FAMILIES = ("conv", "conv_wide", "pool", "dense", "activations", "losses")  # warm-up order
SPLASH_TICK_MS = 250
WINDOW_WAIT_S = 10.0  # the background stages start when the window is up, or after this
WAIT_TICK_MS = 5  # while the window waits for its first kernels


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

    def __init__(self, splash: Splash) -> None:
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
    """Compiles (or loads from Numba's cache) the kernels off the UI thread, in stages:
    the forward pass of the opening preset, its whole first pass, then every code path
    (see `kernel_gate.STAGES`); `preset=None` warms every path in one stage."""

    stage_ready = Signal(str, object)  # stage ("forward", "pass", "all" or "failed"), spec
    part = Signal(int, int, str)  # done, total, what compiles now
    finished_in = Signal(float)  # seconds for every stage (-1 when it failed)

    def __init__(self, preset: str | None = None, dtype: str = "float32") -> None:
        super().__init__()
        self.preset, self.dtype = preset, dtype
        self._window_up = threading.Event()  # the later stages wait for it (GIL to the UI)

    def proceed(self) -> None:
        """The window is up: go on with the background stages."""
        self._window_up.set()

    def run(self) -> None:
        """The stages; a failure only costs speed (kernels then compile on first use)."""
        try:
            started = time.perf_counter()
            self._stages()
            self.finished_in.emit(time.perf_counter() - started)
        except _StoppedError:  # the app is quitting: no need for the other kernels
            pass
        except Exception:  # noqa: BLE001 - the window still works, just slower at first
            self.stage_ready.emit("failed", None)
            self.finished_in.emit(-1.0)

    def _stages(self) -> None:
        """Forward, first pass, everything: each stage announced as soon as it is ready."""
        # Imported here: Numba loads in this thread, after the splash is on screen
        # (start-up time).
        from cnnviz.core.presets import get_preset, preset_names
        from cnnviz.core.spec import parse_spec
        from cnnviz.core.warmup import WARMUP_PARTS, warmup, warmup_spec

        total = len(WARMUP_PARTS) + (1 if self.preset else 0)
        if self.preset:
            name = self.preset if self.preset in preset_names() else "lenet5"
            spec = parse_spec(get_preset(name)).to_dict()
            warmup_spec(spec, self.dtype, backward=False)
            self.stage_ready.emit("forward", spec)
            self._window_up.wait(WINDOW_WAIT_S)
            self.part.emit(0, total, "the first pass")
            warmup_spec(spec, self.dtype)
            self.stage_ready.emit("pass", spec)
        offset = total - len(WARMUP_PARTS)
        warmup(self.dtype, lambda done, _n, what: self._part(done + offset, total, what))
        self.stage_ready.emit("all", None)

    def _part(self, done: int, total: int, what: str) -> None:
        """Report the next part, or stop between parts when the app quits."""
        if self.isInterruptionRequested():
            raise _StoppedError
        self.part.emit(done, total, what)


class _StoppedError(Exception):
    """The warm-up was asked to stop (the window closed before it finished)."""


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
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    install_wheel_guard(app)
    return app


class _Starter(QObject):
    """Builds the window while the kernels load: it waits (splash alive) for the opening
    network's forward kernels only where the first panel needs them, and reports the
    window ready once it is shown and those kernels are there. Later stages go to the
    window's kernel gate."""

    window_ready = Signal(float)  # time.time() when the window is shown and steppable

    def __init__(self, splash: Splash, progress: SplashProgress | None = None,
                 preset: str | None = None) -> None:
        super().__init__()
        self.splash, self.progress, self.preset = splash, progress, preset
        self.window = None
        self.gate = KernelGate()
        self._announced = False

    def on_stage(self, stage: str, spec: object = None) -> None:
        """A warm-up stage is done."""
        self.gate.advance(stage, spec if isinstance(spec, dict) else None)
        self._announce()

    def wait_for_forward(self) -> None:
        """Keep the splash alive until the forward kernels are ready (or the warm-up ended)."""
        while not self.gate.stage:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, WAIT_TICK_MS)
            QThread.msleep(WAIT_TICK_MS)

    def show_window(self) -> None:
        """Create and show the main window."""
        # Imported here: pyqtgraph and every panel load while the splash is showing
        # (start-up time).
        from cnnviz.app.shell.main_window import MainWindow

        window = MainWindow(preset=self.preset, before_kernels=self.wait_for_forward)
        window.attach_kernel_gate(self.gate)
        if self.progress is not None:
            self.progress.stop()
        window.show()
        if self.splash.isVisible():
            self.splash.finish(window)
        self.window = window
        self._announce()

    def _announce(self) -> None:
        """Say once that the window is up and its first steps compile nothing."""
        if not self._announced and self.window is not None and self.gate.stage:
            self._announced = True
            self.window_ready.emit(time.time())


def launch() -> int:
    """Run the GUI until the window closes; returns the exit code."""
    app = make_application()
    settings = AppSettings()
    apply_theme(app, settings.theme)
    splash = Splash(app_icon_pixmap(128))
    splash.resize(560, 200)
    progress = SplashProgress(splash)
    starter = _Starter(splash, progress, settings.last_preset)
    thread = Warmup(settings.last_preset)
    thread.stage_ready.connect(starter.on_stage, Qt.ConnectionType.QueuedConnection)
    thread.part.connect(starter.gate.progress, Qt.ConnectionType.QueuedConnection)
    starter.window_ready.connect(thread.proceed)
    probe = start_probe(starter) if os.environ.get(PROBE_VARIABLE) else None
    thread.start()
    progress.start()
    splash.show()
    QTimer.singleShot(0, starter.show_window)  # built while the kernels load
    code = app.exec()
    thread.requestInterruption()  # stop after the part compiling now
    thread.proceed()
    thread.wait()
    return int(probe.finish(code) if probe is not None else code)
