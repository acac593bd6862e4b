"""The sliding-window animation of the selected map, driven by a QTimer (never blocking).

The frames come from `cnnviz.engine.animation`; this view only picks which step and map,
and plays, pauses or steps through them. It stops whenever the step or the selection
changes (the explain panel calls `refresh`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.widgets.animation_canvas import AnimationCanvas
from cnnviz.engine.animation import MODES, Animation, animation_for
from cnnviz.engine.explain import Explanation
from cnnviz.engine.records import PassView

# short drop-down labels (a narrow dock at the presentation font); the long form as tooltip
MODE_LABELS = (("⋆ cross-correlation", "cross-correlation ⋆: what the layer computes"),
               ("* true convolution", "true convolution *: the kernel flipped (eq. 2–3), "
                                      "not what the layer computes"))


def animation_request(ex: Explanation | None) -> tuple[str, int, int] | str:
    """(step, example, map) to animate for an explanation, or a hint why none."""
    if ex is None:
        return "Select a unit to animate its map."
    if ex.kind not in ("forward", "backward") or isinstance(ex.unit[0], str):
        return "Animations slide over a map: select a unit of a conv or max-pool layer."
    if len(ex.unit) != 4:
        return f"Step {ex.step} works on vectors: no window slides."
    return ex.step, int(ex.unit[0]), int(ex.unit[1])


class AnimationView(QWidget):
    """Play / pause / step, speed, cross-correlation vs true convolution, and the canvas."""

    changed = Signal()  # another animation (or none): its figures may need other room

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.animation: Animation | None = None
        self._source: tuple[PassView, Explanation | None] | None = None
        self.timer = QTimer(self)
        self.timer.setObjectName("animation")
        self.timer.timeout.connect(self.advance)
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._on_play)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Show the next position")
        self.step_button.clicked.connect(self.single_step)
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(1, 20)
        self.speed.setValue(4)
        self.speed.setToolTip("Positions per second")
        self.speed.valueChanged.connect(self._on_speed)
        self.mode = QComboBox()
        for (label, tip), mode in zip(MODE_LABELS, MODES, strict=True):
            self.mode.addItem(label, mode)
            self.mode.setItemData(self.mode.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.mode.setToolTip(MODE_LABELS[0][1])
        self.mode.currentIndexChanged.connect(self._on_mode_changed)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.canvas = AnimationCanvas()
        top = QHBoxLayout()
        for widget in (self.play, self.step_button, QLabel("Speed"), self.speed, self.mode):
            top.addWidget(widget)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.canvas, 1)
        self._on_speed(self.speed.value())

    def refresh(self, view: PassView, ex: Explanation | None) -> None:
        """The step or selection changed: stop, and prepare the new map's animation."""
        self.stop()
        self._source = (view, ex)
        self._rebuild()

    def _rebuild(self) -> None:
        """Build the animation for the current explanation and mode (from engine data)."""
        self.stop()
        self.animation = None
        request = animation_request(self._source[1]) if self._source else "Nothing yet."
        if not isinstance(request, str):
            step, e, c = request
            view = self._source[0]
            try:
                self.animation = animation_for(view, view.record(step), e, c,
                                               self.mode.currentData())
            except ValueError as error:
                request = str(error)
        self.message.setText(request if isinstance(request, str) else "")
        self.message.setVisible(isinstance(request, str))
        self.canvas.set_animation(self.animation)
        for widget in (self.play, self.step_button):
            widget.setEnabled(self.animation is not None)
        self.mode.setEnabled(self.animation is None or self.animation.kernel is not None)
        self.changed.emit()

    def _on_mode_changed(self, index: int) -> None:
        """Another mode: its long form as the tooltip, and the animation rebuilt."""
        self.mode.setToolTip(MODE_LABELS[index][1])
        self._rebuild()

    def advance(self) -> None:
        """The next frame; stop after the last one."""
        if self.animation is None:
            self.stop()
            return
        if self.canvas.index >= len(self.animation.frames) - 1:
            self.stop()
            return
        self.canvas.show_frame(self.canvas.index + 1)

    def single_step(self) -> None:
        """Pause and show the next frame (from the start after the last)."""
        self.stop()
        if self.animation is not None:
            last = self.canvas.index >= len(self.animation.frames) - 1
            self.canvas.show_frame(0 if last else self.canvas.index + 1)

    def stop(self) -> None:
        """Pause: the timer stops, the play button pops up."""
        self.timer.stop()
        if self.play.isChecked():
            self.play.blockSignals(True)
            self.play.setChecked(False)
            self.play.blockSignals(False)
        self.play.setText("Play")

    def _on_play(self, on: bool) -> None:
        """Play from the current frame (from the start if at the end), or pause."""
        if not on or self.animation is None:
            self.stop()
            return
        if self.canvas.index >= len(self.animation.frames) - 1:
            self.canvas.show_frame(0)
        self.play.setText("Pause")
        self.timer.start()

    def _on_speed(self, per_second: int) -> None:
        """Frames per second."""
        self.timer.setInterval(int(1000 / max(1, per_second)))

    def hideEvent(self, event: object) -> None:
        """Never animate out of sight."""
        self.stop()
        super().hideEvent(event)
