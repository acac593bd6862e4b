"""One frame of a sliding-window animation (`cnnviz.engine.animation`): the plane with
the window on it, the kernel, the products, and the map filling up.

The window and `cnnviz animate` both draw frames with this widget, so a GIF shows
exactly what the Explain dock shows. The figures take one, two or three rows and their
numbers shrink, down to the presentation's small font, to fit the room they get
(`animation_layout`); the kernel and the products show two significant digits of their
largest entry, every cell with the same decimals (hover a cell: full precision).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnviz.app.widgets import animation_layout as layout
from cnnviz.app.widgets.colormaps import levels_for
from cnnviz.app.widgets.number_grid import NumberGrid, format_fixed
from cnnviz.app.widgets.theme import small_point_size
from cnnviz.engine.animation import Animation, Frame
from cnnviz.engine.figure import Grid, ix

MIN_PLANE = 3  # px per cell of the plane and the map, at the least


def _big_label(scale: float, bold: bool = False) -> QLabel:
    """A label whose font is `scale` times the canvas font (see `_scale_fonts`)."""
    label = QLabel("")
    label.setProperty("scale", scale)
    label.setProperty("bold", bold)
    label.setWordWrap(True)
    return label


def plane_caption(symbol: str) -> tuple[str, str]:
    """A plane's symbol and what its caption says about it: ("o[0,0]", "padded by 2,2")
    for "o[0,0] (padded by 2,2)". The grid shows the symbol (a narrow plane), the notes
    the rest."""
    head, _, rest = symbol.partition(" ")
    return head, rest.strip().removeprefix("(").removesuffix(")")


class FigureBox(QWidget):
    """The figures' room: no layout of its own, the canvas places the figures in it."""

    def __init__(self, canvas: AnimationCanvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.minimum = QSize(0, 0)
        self.preferred = QSize(0, 0)

    def minimumSizeHint(self) -> QSize:
        """The narrowest layout's width and the shortest layout's height, at the small font."""
        return self.minimum

    def sizeHint(self) -> QSize:
        """Two rows at the full number size."""
        return self.preferred

    def resizeEvent(self, event: object) -> None:
        """Lay the figures out again for the new room."""
        super().resizeEvent(event)
        self.canvas.fit()


class AnimationCanvas(QWidget):
    """Draws frame t of an Animation; `show_frame(t)` only swaps the data it is given."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.animation: Animation | None = None
        self.index = -1
        self.plan: layout.Plan | None = None  # the layout in use
        self.fitted = False  # whether every figure is inside the room
        self._texts: dict[str, list[str]] = {}  # the longest texts of kernel and products
        self.title = _big_label(1.2, bold=True)
        self.value = _big_label(1.35, bold=True)
        self.notes = _big_label(1.0)
        self.box = FigureBox(self)
        self.grids = {key: NumberGrid(parent=self.box)
                      for key in ("source", "kernel", "products", "target")}
        self.ops = {key: QLabel("", self.box) for key in ("times", "arrow")}
        column = QVBoxLayout(self)
        column.addWidget(self.title)
        column.addWidget(self.box, 1)
        column.addWidget(self.value)
        column.addWidget(self.notes)

    def set_animation(self, animation: Animation | None) -> None:
        """A new animation; shows its first frame."""
        self.animation = animation
        self.index, self.plan = -1, None
        if animation is None:
            for grid in self.grids.values():
                grid.set_grid(None)
            return
        self._scale_fonts()
        self.title.setText(animation.title)
        head, rest = plane_caption(animation.source_symbol)
        padding = [f"{head}: {rest} (hatched cells)"] if rest else []
        self.notes.setText("  ·  ".join(animation.notes + padding))
        kernel = animation.kernel is not None
        self.ops["times"].setText("⊙ window =" if kernel else "")
        self.ops["arrow"].setText("→")
        self._levels = self._shared_levels(animation)
        self._set_decimals(animation)
        self.show_frame(0)

    def _set_decimals(self, animation: Animation) -> None:
        """Kernel and products: two significant digits of their largest entry, the same
        decimals in every cell and frame; their longest texts size the cells."""
        self._texts = {}
        if animation.kernel is None:
            return
        grids = {"kernel": np.asarray(animation.kernel, dtype=np.float64),
                 "products": np.stack([f.products for f in animation.frames])}
        for key, values in grids.items():
            decimals = layout.compact_decimals(values)
            self.grids[key].decimals = decimals
            texts = {format_fixed(v, decimals) for v in np.unique(values)}
            longest = max(map(len, texts), default=0)
            self._texts[key] = [t for t in texts if len(t) >= longest - 1]

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
            self.grids["products"].set_grid(Grid("products", frame.products, True))
        else:
            self.grids["kernel"].set_grid(None)
            self.grids["products"].set_grid(None)
        self.value.setText(self.value_text(self.index))
        if self.plan is None:
            self.fit()

    def value_text(self, t: int) -> str:
        """The line under the figures at frame t: the cell written, its sum, the position."""
        a = self.animation
        frame = a.frames[t]
        cell = a.target_symbol[:-1] + "," + ix(frame.cell)[1:]
        total = "Σ products + b" if a.kind == "conv" else "Σ products"
        what = f"  ({total})" if a.kernel is not None else ""
        where = f"position {t + 1} of {len(a.frames)}".replace(" ", "\u00a0")  # one piece
        return f"{cell} = {frame.value:.6g}{what}      {where}"

    def _reserve_value_lines(self) -> None:
        """The value line keeps the height of its longest text over the animation, so the
        figures' room (and their layout) does not change while it plays."""
        frames = self.animation.frames
        longest = max(range(len(frames)), key=lambda t: len(self.value_text(t)))
        margins = self.layout().contentsMargins()  # the label spans the canvas (its own
        width = self.width() - margins.left() - margins.right()  # width may be stale here
        metrics = QFontMetrics(self.value.font())
        rect = metrics.boundingRect(0, 0, max(1, width), 10_000, Qt.TextFlag.TextWordWrap,
                                    self.value_text(longest))
        self.value.setMinimumHeight(rect.height())

    def _source(self, a: Animation, frame: Frame) -> Grid:
        """The plane under the window."""
        grid = Grid(plane_caption(a.source_symbol)[0], a.source, bool((a.source < 0).any()),
                    pad=a.pad, box=frame.box)
        if frame.winner is not None and a.kind == "maxpool":
            grid.marks["winner"] = [frame.winner]
        return grid

    def _target(self, a: Animation, frame: Frame) -> Grid:
        """The map filling up, the current cell marked."""
        grid = Grid(a.target_symbol, frame.target, True, marks={"winner": [frame.cell]})
        if frame.target_box is not None:
            grid.box = frame.target_box
        return grid

    # ----- layout -------------------------------------------------------------------------
    def small_scale(self) -> float:
        """The smallest number font allowed, as a share of the canvas font: the
        presentation's small font."""
        point = self.font().pointSizeF()
        return min(layout.SCALES[-1], small_point_size(point) / point)

    def number_cell(self, scale: float) -> QSize:
        """A kernel or products cell at a number scale: as wide as the longest text."""
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * scale)
        fm = QFontMetrics(font)
        texts = [t for key in ("kernel", "products") for t in self._texts.get(key, [])]
        widest = max(map(fm.horizontalAdvance, texts or ["−0.00"]))
        return QSize(widest + fm.averageCharWidth(), int(fm.height() * 1.25))

    def base_side(self, scale: float) -> int:
        """Plane cells at a number scale: the kernel's height spread over the plane's rows
        (without a kernel, the least; `_grown_side` enlarges them)."""
        a = self.animation
        if a is None or a.kernel is None:
            return MIN_PLANE
        rows = a.source.shape[0]
        return max(MIN_PLANE, a.kernel.shape[0] * self.number_cell(scale).height() // rows)

    def sizes(self, scale: float, side: int | None = None) -> dict[str, QSize]:
        """Every figure's size at a number scale, the planes `side` px per cell (default
        `base_side`)."""
        cell = self.number_cell(scale)
        side = side or self.base_side(scale)
        op = QFont(self.font())
        op.setPointSizeF(op.pointSizeF() * scale * 1.3)
        op.setBold(True)
        for key, grid in self.grids.items():
            grid.number_scale = scale
            grid.cell = cell if key in ("kernel", "products") else QSize(side, side)
        for label in self.ops.values():
            label.setFont(op)
        kernel = self.animation is not None and self.animation.kernel is not None
        keys = layout.KEYS if kernel else layout.KEYS[:3]
        widgets = {**self.grids, **self.ops}
        return {key: widgets[key].sizeHint() for key in keys}

    def fit(self) -> None:
        """Choose the plan that fits the room, grow the planes into what is left, and put
        every figure in place."""
        if self.animation is None or self.index < 0:
            return
        self._reserve_value_lines()
        room = self.box.size()
        self._set_bounds()
        plan = self._choose(room)
        side = self._grown_side(plan, room)
        rects = layout.place(self.sizes(plan.scale, side), plan.rows)
        self.plan, self.fitted = plan, layout.fits(layout.extent(rects), room)
        widgets = {**self.grids, **self.ops}
        for key, widget in widgets.items():
            widget.setVisible(key in rects)
            if key in rects:
                widget.setGeometry(rects[key])
        for grid in self.grids.values():
            grid.update()

    def _candidates(self) -> list[layout.Plan]:
        """The plans to try; an animation without a kernel (max pool) has only its maps."""
        if self.animation is not None and self.animation.kernel is None:
            return [layout.Plan(1, layout.SCALES[0])]
        return layout.plans(self.small_scale())

    def _extent(self, plan: layout.Plan, side: int | None = None) -> QSize:
        """The size of the figures laid out by a plan."""
        return layout.extent(layout.place(self.sizes(plan.scale, side), plan.rows))

    def _choose(self, room: QSize) -> layout.Plan:
        """The first plan that fits, else the one that overflows the least."""
        candidates = self._candidates()
        over = []
        for plan in candidates:
            size = self._extent(plan)
            if layout.fits(size, room):
                return plan
            over.append(max(0, size.width() - room.width())
                        + max(0, size.height() - room.height()))
        return candidates[int(np.argmin(over))]

    def _grown_side(self, plan: layout.Plan, room: QSize) -> int:
        """The largest plane cells (up to a number cell's width) that still fit."""
        base = self.base_side(plan.scale)
        for side in range(self.number_cell(plan.scale).width(), base, -1):
            if layout.fits(self._extent(plan, side), room):
                return side
        return base

    def _set_bounds(self) -> None:
        """The room's minimum (narrowest width, shortest height, at the small font) and its
        preferred size (two rows, full-size numbers)."""
        candidates = self._candidates()
        small = [self._extent(p) for p in candidates if p.scale == candidates[-1].scale]
        minimum = QSize(min(s.width() for s in small), min(s.height() for s in small))
        preferred = self._extent(candidates[min(1, len(candidates) - 1)])
        if (minimum, preferred) != (self.box.minimum, self.box.preferred):
            self.box.minimum, self.box.preferred = minimum, preferred
            self.box.updateGeometry()

    def _scale_fonts(self) -> None:
        """Labels follow the canvas font (zoom and presentation mode change it)."""
        for label in (self.title, self.value, self.notes):
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * float(label.property("scale")))
            font.setBold(bool(label.property("bold")))
            label.setFont(font)

    def changeEvent(self, event: object) -> None:
        """A new font: rescale the labels and the cells."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._scale_fonts()
            self.fit()

    def resizeEvent(self, event: object) -> None:
        """A new width may wrap the value line differently."""
        super().resizeEvent(event)
        if self.animation is not None and self.index >= 0:
            self._reserve_value_lines()

    def showEvent(self, event: object) -> None:
        """Fit the figures once the canvas has its real size."""
        super().showEvent(event)
        self.fit()

    def target_values(self) -> np.ndarray:
        """The map as drawn now (tests compare it with the record)."""
        return self.grids["target"].grid.values
