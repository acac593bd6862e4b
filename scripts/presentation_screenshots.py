"""Grab the main window in presentation mode (F11) on a projector-sized screen.

    QT_QPA_PLATFORM="offscreen:configfile=screen.json" python scripts/presentation_screenshots.py \
        1920x1080 F0,F3,L,B3,U [hc]

screen.json: {"screens": [{"name": "proj", "x": 0, "y": 0, "width": 1920, "height": 1080,
"logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}. Writes WxH_STEP.png (and the
Explain dock as WxH_STEP_explain.png) in the current folder; `hc` turns on high contrast.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings, QTemporaryDir

from cnnviz.app.controller import AppController
from cnnviz.app.shell.launch import make_application
from cnnviz.app.shell.main_window import MainWindow

UNITS = {"F3": (3, (2, 4, 4)), "B3": (2, (1, 6, 6)), "U": (0, (2, 10, 12)), "L": (11, (7,)),
         "F0": (0, (2, 10, 12))}


def main() -> None:
    """Run the window to each step and save it."""
    size, steps, extra = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
    w, h = (int(v) for v in size.split("x"))
    app = make_application([sys.argv[0]])
    tmp = QTemporaryDir()
    settings = QSettings(tmp.filePath("s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(AppController("lenet5", user_weights=False), settings=settings,
                     theme="light", restore_layout=False)
    win.resize(w, h)
    win.show()
    win.ctrl.error_raised.disconnect(win._on_error_raised)  # no dialogs offscreen
    win.toggle_presentation()
    if "hc" in extra:
        win.toggle_high_contrast()
    for step in steps:
        win.ctrl.run_to(step)
        win.ctrl.select_unit(*UNITS[step])
        for _ in range(5):
            app.processEvents()
        name = f"{size}_{step}{'_hc' if 'hc' in extra else ''}.png"
        win.grab().save(name)
        win.docks["explain"].grab().save(name.replace(".png", "_explain.png"))
        print("wrote", name, file=sys.stderr)
    win.close()


if __name__ == "__main__":
    main()
