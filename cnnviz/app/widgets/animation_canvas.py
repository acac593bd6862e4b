"""One frame of a sliding-window animation (`cnnviz.engine.animation`): the plane with
the window on it, the kernel, the products, and the map filling up.

The window and `cnnviz animate` both draw frames with this widget, so a GIF shows
exactly what the Explain dock shows. Cell sizes shrink to fit; numbers are drawn where
they fit (always in the kernel and products), colours everywhere.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnnviz.app.widgets.colormaps import levels_for
from cnnviz.app.widgets.number_grid import NumberGrid, format_value
from cnnviz.engine.animation import Animation, Frame
from cnnviz.engine.figure import Grid, ix


def _big_label(scale: float, bold: bool = False) -> QLabel:
    """A label whose font is `scale` times the canvas font (see `_scale_fonts`)."""
    label = QLabel("")
    label.setProperty("scale", scale)
    label.setProperty("bold", bold)
    label.setWordWrap(True)
    return label


class AnimationCanvas(QWidget):
    """Draws frame t of an Animation; `show_frame(t)` only swaps the data it is given."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.animation: Animation | None = None
        self.index = -1
        self._numbers: list[str] = []  # the longest texts of the kernel and products
        self.title = _big_label(1.2, bold=True)
        self.value = _big_label(1.35, bold=True)
        self.notes = _big_label(1.0)
        self.grids = {key: NumberGrid() for key in ("source", "kernel", "products", "target")}
        self.ops = {key: _big_label(1.6, bold=True) for key in ("times", "arrow")}
        for op in self.ops.values():
            op.setWordWrap(False)
        maps = QGridLayout()
        maps.addWidget(self.grids["source"], 0, 0, Qt.AlignmentFlag.AlignTop)
        maps.addWidget(self.ops["arrow"], 0, 1)
        maps.addWidget(self.grids["target"], 0, 2, Qt.AlignmentFlag.AlignTop)
        maps.setColumnStretch(3, 1)
        sums = QHBoxLayout()
        sums.addWidget(self.grids["kernel"], 0, Qt.AlignmentFlag.AlignTop)
        sums.addWidget(self.ops["times"])
        sums.addWidget(self.grids["products"], 0, Qt.AlignmentFlag.AlignTop)
        sums.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(maps)
        layout.addLayout(sums)
        layout.addWidget(self.value)
        layout.addWidget(self.notes)
        layout.addStretch(1)

    def set_animation(self, animation: Animation | None) -> None:
        """A new animation; shows its first frame."""
        self.animation = animation
        self.index = -1
        if animation is None:
            for grid in self.grids.values():
                grid.set_grid(None)
            return
        self._scale_fonts()
        self.title.setText(animation.title)
        self.notes.setText("\n".join(animation.notes))
        kernel = animation.kernel is not None
        self.ops["times"].setText("⊙ window =" if kernel else "")
        self.ops["arrow"].setText("→")
        self._levels = self._shared_levels(animation)
        self._numbers = self._longest_numbers(animation)
        self.show_frame(0)

    @staticmethod
    def _longest_numbers(animation: Animation) -> list[str]:
        """The longest texts (3 digits) of the kernel and of every frame's products: their
        cells keep one width over the whole animation."""
        if animation.kernel is None:
            return []
        values = [np.asarray(animation.kernel).ravel()]
        values += [np.asarray(f.products).ravel() for f in animation.frames]
        texts = {format_value(v, 3) for v in np.unique(np.concatenate(values))}
        longest = max(map(len, texts), default=0)
        return [t for t in texts if len(t) >= longest - 1]

    def _shared_levels(self, animation: Animation) -> tuple[float, float]:
        """One colour scale for the target over the whole animation (it fills up)."""
        return levels_for(animation.frames[-1].target, True)

    def show_frame(self, t: int) -> None:
        """Show frame t (clamped to the animation)."""
        a = self.animation
        if a is None or not a.frames:
            return
        self.index = max(0, min(t, len(a.frames) - 1))
        frame = a.frames[self.index]
        self.grids["source"].set_grid(self._source(a, frame))
        self.grids["target"].set_grid(self._target(a, frame), self._levels)
        if a.kernel is not None:
            self.grids["kernel"].set_grid(Grid(a.kernel_symbol, a.kernel, True))
            self.grids["products"].set_grid(Grid("products (Σ over channels)", frame.products,
                                                 True))
        else:
            self.grids["kernel"].set_grid(None)
            self.grids["products"].set_grid(None)
        cell = a.target_symbol[:-1] + "," + ix(frame.cell)[1:]
        total = "Σ products + b" if a.kind == "conv" else "Σ products"
        what = f"  ({total})" if a.kernel is not None else ""
        self.value.setText(f"{cell} = {frame.value:.6g}{what}"
                           f"      position {self.index + 1} of {len(a.frames)}")
        self._fit()

    def _source(self, a: Animation, frame: Frame) -> Grid:
        """The plane under the window."""
        grid = Grid(a.source_symbol, a.source, bool((a.source < 0).any()), pad=a.pad,
                    box=frame.box)
        if frame.winner is not None and a.kind == "maxpool":
            grid.marks["winner"] = [frame.winner]
        return grid

    def _target(self, a: Animation, frame: Frame) -> Grid:
        """The map filling up, the current cell marked."""
        grid = Grid(a.target_symbol, frame.target, True, marks={"winner": [frame.cell]})
        if frame.target_box is not None:
            grid.box = frame.target_box
        return grid

    def _fit(self) -> None:
        """Kernel and products get readable cells; the plane and the map share the rest
        (the kernel's rows give way, down to one text line each, in a short dock)."""
        fm = QFontMetrics(self.grids["kernel"].number_font())
        small = [g for k, g in self.grids.items() if k in ("kernel", "products") and g.grid]
        widest = max(map(fm.horizontalAdvance, self._numbers or ["−0.000"]))
        number = QSize(widest + fm.averageCharWidth(), int(fm.height() * 1.3))
        rows_below = max((g.grid.values.shape[0] + 1 for g in small), default=0)
        texts = sum(label.sizeHint().height() for label in (self.title, self.value, self.notes))
        rest = self.height() - texts - 2 * QFontMetrics(self.font()).height() - 50
        free_h = max(100, rest - rows_below * number.height(), 0.6 * rest)
        if rows_below:
            number.setHeight(min(number.height(),
                                 int(max(fm.height() + 2, (rest - free_h) / rows_below))))
        free_w = max(200, self.width() - 120) / 2
        for key in ("source", "target"):
            g = self.grids[key]
            rows, cols = g.grid.values.shape
            side = int(min(free_w / (cols + 1), free_h / rows, number.width()))
            g.cell = QSize(max(4, side), max(4, min(side, number.height())))
        for g in small:
            g.digits, g.cell = 3, number
        for g in self.grids.values():
            g.updateGeometry()
            g.update()

    def _scale_fonts(self) -> None:
        """Labels follow the canvas font (zoom and presentation mode change it)."""
        for label in (self.title, self.value, self.notes, *self.ops.values()):
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * float(label.property("scale")))
            font.setBold(bool(label.property("bold")))
            label.setFont(font)

    def changeEvent(self, event: object) -> None:
        """A new font: rescale the labels and the cells."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._scale_fonts()
            if self.animation is not None and self.index >= 0:
                self._fit()

    def showEvent(self, event: object) -> None:
        """Fit the cells once the canvas has its real size."""
        super().showEvent(event)
        if self.animation is not None and self.index >= 0:
            self._fit()

    def resizeEvent(self, event: object) -> None:
        """Refit the cells to the new size."""
        super().resizeEvent(event)
        if self.animation is not None and self.index >= 0:
            self._fit()

    def target_values(self) -> np.ndarray:
        """The map as drawn now (tests compare it with the record)."""
        return self.grids["target"].grid.values
