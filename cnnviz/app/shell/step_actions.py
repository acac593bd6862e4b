"""The debugger's actions (menu + toolbar, with the usual shortcuts) and animated play.

F10 step · Shift+F10 back · F5 run to the next breakpoint or the end · Ctrl+F5 run to the
end · Ctrl+R reset · Ctrl+Shift+N new pass · Space play/pause. Play steps on a QTimer at an
adjustable speed and stops at the end of the pass, at a breakpoint, on pause and on close.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSlider, QToolBar, QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.shell.kernel_gate import KernelGate

# (key, text, shortcut, tooltip)
ACTIONS = [
    ("step", "Step", "F10", "Step forward: execute the next step"),
    ("back", "Back", "Shift+F10", "Step back: undo the last step exactly, weights included"),
    ("run", "Run", "F5", "Run to the next breakpoint or the end of the pass"),
    ("run_to_end", "To end", "Ctrl+F5", "Run to the end of the pass, ignoring breakpoints"),
    ("reset", "Reset", "Ctrl+R", "Reset: undo the whole pass, back to its start"),
    ("new_pass", "New pass", "Ctrl+Shift+N", "Start a new pass on the current weights"),
    ("play", "Play", "Space", "Play: step automatically at the chosen speed; again to pause"),
]

# What each action runs of the pass: "next" its next step, "pass" every step; the others
# run no kernel (back, reset and a new pass restore or drop records; play steps by ticks).
KERNEL_NEEDS = {"step": "next", "run": "pass", "run_to_end": "pass"}

# Toolbar glyphs, drawn in the theme's text colour so that they read on light and dark.
ICONS = {"step": "▶", "back": "◀", "run": "»", "run_to_end": "⇥", "reset": "⇤",
         "new_pass": "⟳", "play": "▷", "pause": "||"}


def glyph_icon(glyph: str, color: str, size: int = 48) -> QIcon:
    """A crisp icon of a text glyph in one colour (no icon files to ship or theme)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    font = QFont()
    font.setPixelSize(int(size * (0.55 if len(glyph) > 1 else 0.8)))
    painter.setFont(font)
    painter.setPen(QColor(color))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, glyph)
    painter.end()
    return QIcon(pixmap)


class DebuggerActions(QObject):
    """Creates the step actions, wires them to the controller and runs the play timer."""

    playing_changed = Signal(bool)

    def __init__(self, ctrl: AppController, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.actions: dict[str, QAction] = {}
        handlers: dict[str, Callable[[], object]] = {
            "step": ctrl.step, "back": ctrl.back, "run": ctrl.run_to_breakpoint,
            "run_to_end": ctrl.run_pass, "reset": ctrl.reset, "new_pass": ctrl.new_pass,
            "play": self.toggle_play,
        }
        for key, text, shortcut, tip in ACTIONS:
            action = QAction(text, parent)
            action.setObjectName(f"action_{key}")
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{tip} ({shortcut})")
            action.setStatusTip(f"{tip} ({shortcut})")
            action.triggered.connect(lambda _=False, k=key, fn=handlers[key]: self._run(fn, k))
            parent.addAction(action)
            self.actions[key] = action
        self.actions["play"].setCheckable(True)
        self.icon_color = "#111111"
        self.set_icon_color(self.icon_color)
        self.timer = QTimer(self)
        self.timer.setInterval(400)
        self.timer.timeout.connect(self._on_tick)
        ctrl.busy_changed.connect(self._on_busy_changed)
        self.gate: KernelGate | None = None  # the launcher's warm-up (None: compile on demand)

    def _run(self, fn: Callable[[], object], key: str = "") -> None:
        """Any manual action other than play pauses the animation first; an action that
        needs kernels still compiling waits for them (busy cursor) instead of compiling."""
        if fn != self.toggle_play:
            self.pause()
        need = KERNEL_NEEDS.get(key)
        if self.gate is None or need is None:
            fn()
        elif not self.gate.run_when_ready(lambda: self.kernels_ready(need), fn):
            self.ctrl.status_changed.emit("Still preparing the kernels for the last action…")
        elif self.gate.waiting:
            self.ctrl.status_changed.emit("Waiting for kernels still compiling in the background…")

    def kernels_ready(self, need: str = "next") -> bool:
        """Whether the next step ("next") or the whole pass ("pass") compiles nothing."""
        if self.gate is None:
            return True
        stepper = self.ctrl.stepper
        step = (stepper.next_step_name or "F0") if need == "next" else None
        return self.gate.ready_for(self.ctrl.spec.to_dict(), str(self.ctrl.network.dtype), step)

    # ----- play ----------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        """True while the play timer runs."""
        return self.timer.isActive()

    def toggle_play(self) -> None:
        """Start or pause the animation."""
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        """Step automatically; starts a new pass if this one is over."""
        if self.ctrl.busy:
            return
        if self.ctrl.stepper.finished:
            self.ctrl.new_pass()
        self.timer.start()
        self._set_play_state(True)

    def pause(self) -> None:
        """Stop the animation (safe to call when not playing)."""
        was = self.playing
        self.timer.stop()
        if was:
            self._set_play_state(False)

    def _set_play_state(self, on: bool) -> None:
        """Keep the action's check mark and text in step with the timer."""
        action = self.actions["play"]
        action.setChecked(on)
        action.setText("Pause" if on else "Play")
        action.setIcon(glyph_icon(ICONS["pause" if on else "play"], self.icon_color))
        self.playing_changed.emit(on)

    def set_icon_color(self, color: str) -> None:
        """Redraw the toolbar icons in a colour (the theme's text colour)."""
        self.icon_color = color
        for key, action in self.actions.items():
            glyph = ICONS["pause"] if key == "play" and action.isChecked() else ICONS[key]
            action.setIcon(glyph_icon(glyph, color))

    def _on_tick(self) -> None:
        """One animation frame: a step; stop at the end or after a breakpoint step (a frame
        whose step needs a kernel still compiling is skipped)."""
        if not self.kernels_ready():
            return
        record = self.ctrl.step()
        if (record is None or self.ctrl.stepper.finished
                or record.name in self.ctrl.stepper.breakpoints):
            self.pause()

    def set_interval(self, ms: int) -> None:
        """Milliseconds between animated steps."""
        self.timer.setInterval(max(30, int(ms)))
        label = getattr(self, "speed_label", None)
        if label is not None:
            label.setText(f" {1000 / self.timer.interval():.3g} steps/s ")

    def _on_busy_changed(self, busy: bool) -> None:
        """No stepping while training runs."""
        if busy:
            self.pause()
        for action in self.actions.values():
            action.setEnabled(not busy)  # Play too: it could not step while training runs

    # ----- toolbar -------------------------------------------------------------------------
    def make_toolbar(self, parent: QWidget) -> QToolBar:
        """The debugger toolbar: the actions and a speed slider."""
        bar = QToolBar("Debugger", parent)
        bar.setObjectName("debugger_toolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for key, *_ in ACTIONS:
            bar.addAction(self.actions[key])
        bar.addSeparator()
        tip = "Play speed in steps per second (Play: Space)"
        title = QLabel(" Speed ")
        title.setToolTip(tip)
        bar.addWidget(title)
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setObjectName("play_speed")
        slider.setRange(1, 20)  # steps per second
        slider.setValue(max(1, round(1000 / self.timer.interval())))
        slider.setFixedWidth(140)
        slider.setToolTip(tip)
        slider.valueChanged.connect(lambda v: self.set_interval(int(1000 / v)))
        bar.addWidget(slider)
        self.speed_slider = slider
        self.speed_label = QLabel("")
        self.speed_label.setObjectName("play_speed_value")
        self.speed_label.setToolTip(tip)
        bar.addWidget(self.speed_label)
        self.set_interval(self.timer.interval())
        return bar
