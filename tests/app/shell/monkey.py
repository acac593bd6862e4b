"""A seeded random user for the main window: keys, clicks, wheel turns, canvas strokes,
preset and theme switches, short training runs. Used by the monkey test and the soak
benchmark (benchmarks/soak.py); every action goes through the real widgets."""

from __future__ import annotations

import random
from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QFileDialog,
    QInputDialog,
    QMenu,
    QMessageBox,
    QToolButton,
    QWidget,
)

from cnnviz.app.shell.main_window import MainWindow

KEYS = [  # (key, modifiers): the debugger's keys, undo and redo
    (Qt.Key.Key_F10, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier),
    (Qt.Key.Key_F5, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_F5, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
]
NOTCH = 120
# Buttons a random click must not press: they would end the session or open a real
# native window (every dialog is answered by `answer_dialogs`).
AVOID = ("Quit",)


def answer_dialogs(monkeypatch) -> list[str]:
    """Answer every modal dialog at once (recorded), so random clicks never block."""
    asked: list[str] = []

    def record(kind: str, result):
        return lambda *a, **k: asked.append(kind) or result

    for name in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, record(name, QMessageBox.StandardButton.Ok))
    monkeypatch.setattr(QMessageBox, "question", record("question", QMessageBox.StandardButton.No))
    monkeypatch.setattr(QMessageBox, "exec", record("exec", QMessageBox.StandardButton.No))
    monkeypatch.setattr(QInputDialog, "getInt", record("getInt", (2, True)))
    for name in ("getOpenFileName", "getSaveFileName"):
        monkeypatch.setattr(QFileDialog, name, record(name, ("", "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", record("dir", ""))
    monkeypatch.setattr(QMenu, "exec", record("menu", None))
    return asked


class Monkey:
    """Random actions on one window, drawn from a seeded generator."""

    def __init__(self, win: MainWindow, seed: int, presets: list[str]) -> None:
        self.win, self.rng, self.presets = win, random.Random(seed), presets
        self.log: list[str] = []
        self.actions: list[tuple[int, Callable[[], str]]] = [
            (30, self.key), (20, self.click), (8, self.wheel), (6, self.stroke),
            (3, self.switch_preset), (2, self.switch_theme), (2, self.toggle_training),
            (2, self.zoom), (1, self.toggle_presentation),
        ]

    def act(self) -> str:
        """Do one random action and return what it was."""
        weights = [w for w, _ in self.actions]
        action = self.rng.choices([a for _, a in self.actions], weights)[0]
        self.log.append(f"({action.__name__} …)")  # shown if the action itself hangs
        done = action()
        self.log.pop()
        self.log.append(done)
        return done

    # ----- actions -------------------------------------------------------------------------
    def key(self) -> str:
        """A debugger key, undo or redo, to the widget that has the focus."""
        key, mods = self.rng.choice(KEYS)
        target = QApplication.focusWidget() or self.win
        QTest.keyClick(target, key, mods)
        return f"key {key.name} {mods.name if hasattr(mods, 'name') else int(mods)}"

    def click(self) -> str:
        """A left click somewhere on a visible widget of a random dock."""
        widget = self._random_widget()
        if widget is None:
            return "click: nothing visible"
        pos = QPoint(self.rng.randrange(max(1, widget.width())),
                     self.rng.randrange(max(1, widget.height())))
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
        return f"click {type(widget).__name__} {widget.objectName()} at {pos.x()},{pos.y()}"

    def wheel(self) -> str:
        """A few wheel notches over a random visible widget (through the window system)."""
        widget = self._random_widget()
        if widget is None or self.win.windowHandle() is None:
            return "wheel: nothing visible"
        pos = widget.mapTo(self.win, QPoint(widget.width() // 2, widget.height() // 2))
        notches = self.rng.choice([-3, -1, 1, 3])
        QTest.wheelEvent(self.win.windowHandle(), QPointF(pos), QPoint(0, NOTCH * notches))
        return f"wheel {notches} over {type(widget).__name__}"

    def stroke(self) -> str:
        """A pen stroke across the drawing canvas (when the input dock shows it)."""
        canvas = self.win.panels["input"].canvas
        if not canvas.isVisible():
            return "stroke: canvas hidden"
        w, h = canvas.width(), canvas.height()
        points = [QPoint(self.rng.randrange(w), self.rng.randrange(h)) for _ in range(4)]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         points[0])
        for point in points[1:]:
            QTest.mouseMove(canvas, point)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           points[-1])
        return "stroke on the canvas"

    def switch_preset(self) -> str:
        """File → New network from preset → a random preset (through its menu action)."""
        name = self.rng.choice(self.presets)
        for action in self.win.preset_menu.actions():
            if action.text() == name:
                action.trigger()
        return f"preset {name}"

    def switch_theme(self) -> str:
        """View → Theme → light or dark."""
        name = self.rng.choice(["light", "dark"])
        self.win.theme_actions[name].trigger()
        return f"theme {name}"

    def toggle_training(self) -> str:
        """Start a one-epoch run, or stop the one that is running."""
        panel = self.win.panels["training"]
        if panel.is_running():
            panel.stop_button.click()
            return "training stopped"
        panel.epochs_box.setValue(1)
        panel.start_button.click()
        return "training started"

    def zoom(self) -> str:
        """View → Zoom in / out / reset."""
        delta = self.rng.choice([+1, -1, 0])
        self.win.zoom(delta)
        return f"zoom {delta}"

    def toggle_presentation(self) -> str:
        """F11 through its action."""
        self.win.presentation_action.trigger()
        return "presentation"

    def _random_widget(self) -> QWidget | None:
        """A random visible widget inside a random visible dock (never a Quit button)."""
        docks = [d for d in self.win.docks.values() if d.isVisible()]
        if not docks:
            return None
        dock = self.rng.choice(docks)
        widgets = [w for w in dock.findChildren(QWidget) if w.isVisible()
                   and w.width() > 2 and w.height() > 2 and not _blocks(w)]
        return self.rng.choice(widgets) if widgets else None


def _blocks(widget: QWidget) -> bool:
    """True for a widget whose click would block: a Quit button, or a tool button whose menu
    Qt runs modally in C++ (no Python hook can answer it)."""
    if isinstance(widget, QAbstractButton) and widget.text() in AVOID:
        return True
    return isinstance(widget, QToolButton) and widget.menu() is not None


def check_state(win: MainWindow) -> list[str]:
    """What is inconsistent in the window's state (an empty list when all is well)."""
    ctrl, problems = win.ctrl, []
    st = ctrl.stepper
    if [r.name for r in st.records] != st.steps[: st.cursor]:
        problems.append(f"records {[r.name for r in st.records]} vs steps {st.steps[:st.cursor]}")
    if st.net is not ctrl.network:
        problems.append("the stepper runs another network than the controller holds")
    layers = len(ctrl.spec.layers)
    inner = sum(len(lay.body) + len(lay.shortcut) for lay in ctrl.spec.layers
                if lay.type == "residual")  # a block's inner layers have columns of their own
    if len(win.panels["pipeline"].columns) != layers + inner + 2:
        problems.append("the pipeline's columns do not match the network")
    if ctrl.selection.layer is not None and not 0 <= ctrl.selection.layer < layers:
        problems.append(f"selected layer {ctrl.selection.layer} of {layers}")
    if not 0 <= win.panels["inspector"].layer() < layers:
        problems.append("the inspector shows a layer the network does not have")
    if tuple(ctrl.input_image.shape) != tuple(ctrl.spec.input_shape):
        problems.append("the input does not fit the network")
    return problems
