"""`cnnviz --self-test`: is this installation (or bundle) whole? Five checks, in order.

1. Qt: the platform plugin and its system libraries are there, and Qt starts.
2. The kernels compile, or load from Numba's cache.
3. One LeNet-5 pass equals the NumPy reference twins (`cnnviz.core.reference`), op by op.
4. The bundled data loads (and the bundled weights and lessons, when there are any).
5. The main window builds and F10 runs its first step.

Prints one line per check and exits 0, or stops at the first failure, says it in plain
words and exits 1. Runs offscreen too (QT_QPA_PLATFORM=offscreen), and inside the bundle.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable

from cnnviz import __version__
from cnnviz.data.errors import DataError
from cnnviz.paths import is_frozen
from cnnviz.qt_preflight import platform_name, plugin_file, qt_problem

TOLERANCE = 1e-4  # largest relative difference from a NumPy twin (float32 rounding)


class SelfTestError(Exception):
    """A check failed; the message says what is wrong in plain words."""


def check_qt() -> str:
    """The platform plugin, its libraries, a QApplication."""
    platform = platform_name()
    problem = qt_problem()
    if problem:
        raise SelfTestError(problem.removeprefix("cnnviz: "))
    plugin = plugin_file(platform)
    if plugin is None:
        raise SelfTestError(f"Qt's {platform} platform plugin is missing from PySide6")
    # Imported here: Qt loads only after its libraries were found (start-up time).
    from cnnviz.app.shell.launch import make_application

    app = make_application()
    return f"{app.platformName()} platform ({plugin.name}) and its system libraries"


def check_kernels() -> str:
    """Every kernel compiles or loads from the cache."""
    # Imported here: Numba loads after the Qt check (start-up time).
    from cnnviz.core.presets import get_preset
    from cnnviz.core.warmup import warmup, warmup_spec

    warmup_spec(get_preset("lenet5"))
    warmup("float32")
    cache = os.environ.get("NUMBA_CACHE_DIR") or "beside the kernels' sources"
    return f"every kernel compiled or loaded (Numba cache: {cache})"


def check_reference() -> str:
    """One LeNet-5 pass, op by op, against the NumPy twins."""
    # Imported here: the twins are only needed by this check (start-up time).
    from cnnviz.commands.selftest_twins import compare_pass_with_twins

    worst, where = compare_pass_with_twins(TOLERANCE)
    if worst > TOLERANCE:
        raise SelfTestError(f"{where} differs from the NumPy reference: relative error "
                            f"{worst:.3g} (allowed {TOLERANCE:g}); a kernel computes wrong numbers")
    return f"LeNet-5 pass equals the NumPy reference (largest relative error {worst:.1e})"


def check_data() -> str:
    """The bundled MNIST subset, sample images, and weights or lessons if bundled."""
    # Imported here: the data loaders are only needed by this check (start-up time).
    from cnnviz.commands.selftest_twins import check_bundled_files

    return check_bundled_files()


def check_window() -> str:
    """The main window builds (on a throw-away settings file) and F10 runs."""
    # Imported here: Qt loads after its libraries were checked (start-up time).
    from PySide6.QtCore import QSettings

    # Imported here: pyqtgraph and the panels load only for this check (start-up time).
    from cnnviz.app.shell.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="cnnviz-self-test-") as folder:
        settings = QSettings(f"{folder}/settings.ini", QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, preset="lenet5", restore_layout=False)
        window.debugger.actions["step"].trigger()
        steps, panels = window.ctrl.stepper.cursor, len(window.panels)
        window.deleteLater()
        del settings
    if steps != 1:
        raise SelfTestError("the main window was built but F10 did not run a step")
    return f"main window with {panels} panels; F10 ran the first step"


PLAIN_ERRORS = (SelfTestError, DataError, OSError)  # their messages say it all already
CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("Qt", check_qt), ("kernels", check_kernels), ("numbers", check_reference),
    ("data", check_data), ("window", check_window),
]


def self_test() -> int:
    """Run the checks in order; 0 if all pass, 1 at the first failure."""
    where = "bundle" if is_frozen() else f"Python {sys.version.split()[0]}"
    print(f"cnnviz {__version__} self-test ({where}, {sys.executable})", flush=True)
    started = time.perf_counter()
    for number, (name, check) in enumerate(CHECKS, 1):
        begun = time.perf_counter()
        try:
            detail = check()
        except Exception as error:  # noqa: BLE001 - every failure is reported, in words
            text = str(error) if isinstance(error, PLAIN_ERRORS) else (
                f"{type(error).__name__}: {error}")
            print(f"  FAIL {name}: {text}", flush=True)
            print(f"self-test failed at check {number} of {len(CHECKS)} ({name}): {text}",
                  file=sys.stderr)
            return 1
        print(f"  ok   {name}: {detail} ({time.perf_counter() - begun:.1f} s)", flush=True)
    print(f"self-test passed in {time.perf_counter() - started:.1f} s", flush=True)
    return 0
