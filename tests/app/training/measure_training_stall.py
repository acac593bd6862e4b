"""Measure how long the UI thread's event loop stalls while the training dock trains.

Opens the real main window (offscreen), raises the training dock, trains LeNet-5 on the
bundled MNIST with Adam, and records the gaps between the ticks of a 10 ms QTimer in the
UI thread for SECONDS of training (after the first, compiling, batch). Prints the max,
99th percentile and median gap per batch size. Not a test (slow): run it by hand.

    SIZE=1920x1080 TAB=1 python tests/app/measure_training_stall.py 30 64 1

SIZE: window size (default 1280x800); TAB: 0 loss & accuracy (default), 1 gradient norms.
Trained weights go to a temporary folder, never to the user's.
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["CNNVIZ_DATA_DIR"] = tempfile.mkdtemp(prefix="cnnviz-stall-")

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def spin(ms: int) -> None:
    """Run the event loop for ms milliseconds (as the application would)."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def measure(panel, batch: int, seconds: float, tab: int) -> str:
    """Train at this batch size and report the timer gaps."""
    panel.optimizer_box.setCurrentText("adam")
    panel.lr_box.setValue(1e-3)
    panel.batch_box.setValue(batch)
    panel.epochs_box.setValue(500)  # stopped after `seconds`
    panel.dataset_box.setCurrentText("mnist")
    panel.tabs.setCurrentIndex(tab)
    assert panel.start_training()
    while len(panel.history.batches["step"]) == 0:
        spin(20)
    spin(500)
    gaps, clock, timer = [], QElapsedTimer(), QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: gaps.append(clock.restart()))
    clock.start()
    timer.start()
    spin(int(seconds * 1000))
    timer.stop()
    batches = len(panel.history.batches["step"])
    panel.stop_training()
    while panel.is_running():
        spin(20)
    g = np.array(gaps[1:], float)
    return (f"batch {batch}: max {g.max():.0f} ms, p99 {np.percentile(g, 99):.0f} ms, "
            f"median {np.median(g):.0f} ms over {len(g)} ticks in {seconds:g} s; "
            f"{batches} batches trained")


def main(argv: list[str]) -> None:
    """Measure each batch size given on the command line (default 64 and 1)."""
    app = QApplication.instance() or QApplication([])
    from cnnviz.app.shell.main_window import MainWindow

    seconds = float(argv[0]) if argv else 30.0
    batches = [int(b) for b in argv[1:]] or [64, 1]
    settings = QSettings(os.path.join(os.environ["CNNVIZ_DATA_DIR"], "settings.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, preset="lenet5", restore_layout=False)
    width, height = map(int, os.environ.get("SIZE", "1280x800").split("x"))
    window.resize(width, height)
    window.show()
    spin(300)
    window.docks["training"].raise_()
    for batch in batches:
        print(measure(window.panels["training"], batch, seconds,
                      int(os.environ.get("TAB", "0"))), flush=True)
    window.close()
    spin(100)
    del app


if __name__ == "__main__":
    main(sys.argv[1:])
