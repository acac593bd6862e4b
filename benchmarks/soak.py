"""Soak benchmark (issue 13): one main window, 10,000 debugger steps and 20 train/stop cycles.

Prints the process's resident memory (RSS) at the start, after the steps and at the end,
and the event loop's stalls: the gaps between the ticks of a 10 ms QTimer in the UI thread
while the steps run (one step per event-loop turn, as a held F10 would) and while training
runs. The goal: RSS grows by less than 50 MB and no stall reaches 50 ms. Not a test (it
takes minutes): run it by hand, offscreen, with a throw-away data folder.

    python benchmarks/soak.py                  # LeNet-5, 10000 steps, 20 cycles
    python benchmarks/soak.py 2000 5 square    # shorter, on the square detector
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["CNNVIZ_DATA_DIR"] = tempfile.mkdtemp(prefix="cnnviz-soak-")
os.environ["XDG_CONFIG_HOME"] = os.environ["CNNVIZ_DATA_DIR"]

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def spin(ms: int) -> None:
    """Run the event loop for ms milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


class StallProbe:
    """Gaps between the ticks of a 10 ms timer in the UI thread."""

    def __init__(self) -> None:
        self.gaps: list[int] = []
        self.clock, self.timer = QElapsedTimer(), QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.gaps.append(self.clock.restart()))

    def __enter__(self) -> StallProbe:
        self.clock.start()
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()

    def summary(self) -> str:
        """Max, 99th percentile and median gap."""
        g = np.array(self.gaps[1:] or [0], float)
        return (f"max {g.max():.0f} ms, p99 {np.percentile(g, 99):.0f} ms, "
                f"median {np.median(g):.0f} ms over {len(g)} ticks")


def run_steps(window, count: int) -> str:
    """`count` F10 presses, one per event-loop turn; returns the stall summary."""
    action = window.debugger.actions["step"]
    done = [0]

    def tick() -> None:
        action.trigger()
        done[0] += 1
        if done[0] >= count:
            stepper.stop()

    stepper = QTimer()
    stepper.setInterval(0)
    stepper.timeout.connect(tick)
    with StallProbe() as probe:
        stepper.start()
        while stepper.isActive():
            spin(50)
    return probe.summary()


def run_training_cycles(window, cycles: int) -> str:
    """Start a run, let it train for a moment, stop it; `cycles` times. Returns the stall
    summary and the RSS after each cycle (a leak grows steadily; allocator arenas level off)."""
    panel = window.panels["training"]
    panel.epochs_box.setValue(100)
    after: list[float] = []
    with StallProbe() as probe:
        for _ in range(cycles):
            assert panel.start_training()
            spin(400)
            panel.stop_training()
            while panel.is_running():
                spin(20)
            after.append(rss_mb())
    return probe.summary() + "; RSS after each cycle " + " ".join(f"{r:.0f}" for r in after)


def main(argv: list[str]) -> None:
    """Soak the window: steps, then train/stop cycles, reporting memory and stalls."""
    steps = int(argv[0]) if argv else 10_000
    cycles = int(argv[1]) if len(argv) > 1 else 20
    preset = argv[2] if len(argv) > 2 else "lenet5"
    _app = QApplication.instance() or QApplication([])  # kept alive for the whole soak
    from cnnviz.app.shell.main_window import MainWindow

    settings = QSettings(os.path.join(os.environ["CNNVIZ_DATA_DIR"], "settings.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, preset=preset, restore_layout=False)
    window.resize(1440, 900)
    window.show()
    spin(500)
    window.debugger.actions["step"].trigger()  # the first pass compiles what it needs
    spin(200)
    start, t0 = rss_mb(), time.monotonic()
    print(f"{preset}: RSS at the start {start:.0f} MB", flush=True)
    stalls = run_steps(window, steps)
    after_steps = rss_mb()
    print(f"{steps} steps in {time.monotonic() - t0:.0f} s: stalls {stalls}; "
          f"RSS {after_steps:.0f} MB ({after_steps - start:+.0f} MB)", flush=True)
    window.docks["training"].raise_()
    first = run_training_cycles(window, 1)  # loads the dataset and starts the worker once
    warm = rss_mb()
    print(f"first train/stop cycle: stalls {first}; RSS {warm:.0f} MB "
          f"({warm - after_steps:+.0f} MB: the dataset and the trainer, loaded once)", flush=True)
    t1 = time.monotonic()
    stalls = run_training_cycles(window, cycles - 1)
    end = rss_mb()
    print(f"{cycles - 1} more train/stop cycles in {time.monotonic() - t1:.0f} s: stalls "
          f"{stalls}; RSS {end:.0f} MB ({end - warm:+.0f} MB)", flush=True)
    print(f"RSS growth: {end - start:+.0f} MB over the whole soak, "
          f"{(after_steps - start) + (end - warm):+.0f} MB without the one-time loads "
          f"(load average {os.getloadavg()[0]:.2f})")
    window.close()


if __name__ == "__main__":
    main(sys.argv[1:])
