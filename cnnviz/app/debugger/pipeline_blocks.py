"""A residual block in the pipeline: its body as a lane of columns, the shortcut as a path
above it (with the 1×1 projection's columns on it), and the ⊕ addition as its own column.

The paths light up where the data or the δ runs: forward, x forks into both lanes and the
lanes meet at ⊕; backward, at ``B<i>`` the δ splits (copied to both lanes) and at
``B<i>.0`` the two input gradients join at the block input (their sum). The lines are
drawn here; the numbers come from the step records, as in every column.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPolygon
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QWidget

from cnnviz.app.debugger.pipeline_column import ColumnHost, LayerColumn
from cnnviz.app.widgets.theme import LIGHT, Colors
from cnnviz.core.spec import LayerSpec
from cnnviz.engine.records import StepRecord
from cnnviz.engine.steps import inner_name

MakeArrow = Callable[[str], QLabel]
LANE_LINE_HEIGHT = 44


class PathLine(QWidget):
    """Lines of a block's paths: "fork" (before the lanes), "join" (into ⊕) or "lane" (a
    stretch of one lane: the identity shortcut, or the gap after a lane's last column)."""

    def __init__(self, kind: str, lanes: tuple[QWidget, QWidget] | None = None,
                 text: str = "") -> None:
        super().__init__()
        self.kind, self.lanes, self.text = kind, lanes, text
        self.active, self.backward, self.colors = False, False, LIGHT
        if kind == "lane":
            self.setMinimumHeight(LANE_LINE_HEIGHT if text else 0)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        else:
            self.setFixedWidth(34)

    def set_compact(self, font: QFont | None) -> None:
        """A lane's labelled line in `font` and only as high as two of its lines (the
        presentation overview's tight layout); None: the application's font and height."""
        if self.kind != "lane" or not self.text:
            return
        self.setFont(font or QFont())
        tall = LANE_LINE_HEIGHT if font is None else 2 * QFontMetrics(font).height() + 4
        self.setMinimumHeight(tall)

    def set_state(self, active: bool, backward: bool, colors: Colors) -> None:
        """Highlight (the accent colour, thick) while data or δ runs on this path."""
        if (active, backward, colors) != (self.active, self.backward, self.colors):
            self.active, self.backward, self.colors = active, backward, colors
            self.update()

    def _ys(self) -> tuple[int, int]:
        """The centre heights of the two lanes in this widget's coordinates."""
        if self.lanes is None:
            return self.height() // 2, self.height() // 2
        ys = [lane.geometry().center().y() - self.y() for lane in self.lanes]
        return min(ys), max(ys)

    def paintEvent(self, event) -> None:
        """A fork ⊏-shape, a join ⊐-shape, or a straight lane, with arrowheads."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor(self.colors.accent if self.active else self.colors.dim)
        painter.setPen(QPen(color, 4 if self.active else 2))
        w, (top, bottom) = self.width(), self._ys()
        mid = (top + bottom) // 2
        if self.kind == "lane":
            painter.drawLine(0, mid, w, mid)
            if self.text:  # elided in a narrow lane rather than cut at both ends
                text = self.fontMetrics().elidedText(self.text, Qt.TextElideMode.ElideRight,
                                                     max(0, w - 8))
                painter.drawText(self.rect().adjusted(4, 0, -4, -self.height() // 2 - 2),
                                 Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                                 text)
            self._heads(painter, color, [(w - 2, mid)] if not self.backward else [(2, mid)])
        else:
            x = w // 2
            painter.drawLine(x, top, x, bottom)
            outer = (0, x) if self.kind == "fork" else (x, w)
            branch = (x, w) if self.kind == "fork" else (0, x)
            painter.drawLine(outer[0], mid, outer[1], mid)
            for y in (top, bottom):
                painter.drawLine(branch[0], y, branch[1], y)
            ends = [(branch[1] - 1, top), (branch[1] - 1, bottom)] if self.kind == "fork" \
                else [(outer[1] - 1, mid)]
            starts = [(outer[0] + 1, mid)] if self.kind == "fork" else \
                [(branch[0] + 1, top), (branch[0] + 1, bottom)]
            self._heads(painter, color, starts if self.backward else ends)
        painter.end()

    def _heads(self, painter: QPainter, color: QColor, points: list[tuple[int, int]]) -> None:
        """Arrowheads at points, pointing right (forward) or left (backward)."""
        painter.setBrush(color)
        step = 7 if not self.backward else -7
        for x, y in points:
            painter.drawPolygon(QPolygon([QPoint(x, y), QPoint(x - step, y - 5),
                                          QPoint(x - step, y + 5)]))


class BlockFrame(QFrame):
    """One residual block: shortcut lane above, body lane below, fork, join and ⊕ column."""

    def __init__(self, host: ColumnHost, spec: LayerSpec, make_arrow: MakeArrow) -> None:
        super().__init__()
        self.index, self.spec = spec.index, spec
        self.setObjectName(f"block_{self.index}")
        self.columns: dict[str, LayerColumn] = {}
        self.lanes = {name: QFrame() for name in ("shortcut", "body")}
        for name, lane in self.lanes.items():
            lane.setObjectName(f"lane_{self.index}_{name}")
        self.fork = PathLine("fork", (self.lanes["shortcut"], self.lanes["body"]))
        self.join = PathLine("join", (self.lanes["shortcut"], self.lanes["body"]))
        self.fillers: dict[str, PathLine] = {}
        self.step_caption = False  # the caption says what the current step does
        for branch in ("body", "shortcut"):
            self._fill_lane(host, branch, make_arrow)
        self.add_column = LayerColumn(host, self.index, f"{self.index} ⊕ add", spec.out_shape)
        self.add_column.setToolTip(f"Block {self.index}: o = body(x) + shortcut(x). "
                                   "Backward, δ is copied to both paths")
        self.caption = QLabel(self._caption(None))
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.caption.setContentsMargins(8, 0, 8, 0)
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 2, 4, 2)
        grid.setSpacing(0)
        grid.addWidget(self.fork, 0, 0, 2, 1)
        grid.addWidget(self.lanes["shortcut"], 0, 1)
        grid.addWidget(self.lanes["body"], 1, 1)
        grid.addWidget(self.join, 0, 2, 2, 1)
        grid.addWidget(self.add_column, 0, 3, 2, 1, Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(self.caption, 2, 0, 1, 4)

    @property
    def projection(self) -> bool:
        """True when the shortcut has layers (a 1×1 projection), False for the identity."""
        return bool(self.spec.shortcut)

    def _fill_lane(self, host: ColumnHost, branch: str, make_arrow: MakeArrow) -> None:
        """The branch's columns joined by arrows (or the identity line), then a filler line."""
        row = QHBoxLayout(self.lanes[branch])
        row.setContentsMargins(0, 2, 0, 2)
        row.setSpacing(2)
        layers = getattr(self.spec, branch)
        if not layers:
            self.fillers[branch] = PathLine("lane", text="identity shortcut: x unchanged")
            row.addWidget(self.fillers[branch], 1)
            return
        for j, layer in enumerate(layers):
            key = inner_name("F", self.index, branch, j)[1:]
            if j:
                row.addWidget(make_arrow(key))
            title = f"{key} {layer.type}" + (" 1×1" if _is_one_by_one(layer) else "")
            self.columns[key] = LayerColumn(host, key, title, layer.out_shape, compact=True)
            self.columns[key].setToolTip(f"Block {self.index}, {branch} layer {j}: "
                                         f"{layer.type}; steps F{key} and B{key}")
            row.addWidget(self.columns[key], 0, Qt.AlignmentFlag.AlignTop)
        self.fillers[branch] = PathLine("lane")
        row.addWidget(self.fillers[branch], 1)

    def first_key(self) -> str:
        """The key of the body's first column (the main arrow into the block leads there)."""
        return f"{self.index}.0"

    def caption_height(self) -> int:
        """The height the caption takes (0 while hidden: the overview's tight layout)."""
        return 0 if self.caption.isHidden() else self.caption.sizeHint().height()

    def lane_rooms(self, room: int) -> tuple[int, int]:
        """(height for a body column, for a shortcut column) out of the panel's room."""
        free = room - self.caption_height() - 12
        if not self.projection:
            return free - self.fillers["shortcut"].minimumHeight() - 8, 0
        return free // 2, free // 2

    def set_tight(self, font: QFont | None) -> None:
        """The presentation overview's tight layout (a short pipeline): the identity
        line's label and the caption in the small `font`; None: back to normal."""
        for filler in self.fillers.values():
            filler.set_compact(font)
        self.caption.setFont(font or QFont())

    def fit(self, room: int, fit_column: Callable[[LayerColumn, int], None]) -> None:
        """Size the inner columns' maps to their lane, the ⊕ column to the whole room."""
        body, shortcut = self.lane_rooms(room)
        for key, column in self.columns.items():
            fit_column(column, shortcut if ".s" in key else body)
        fit_column(self.add_column, room - self.caption_height() - 12)

    def refresh_paths(self, rec: StepRecord | None, colors: Colors) -> None:
        """Light the paths the current step runs on; the caption says what happens."""
        lit = self.active_paths(rec)
        backward = rec is not None and rec.kind == "backward"
        self.fork.set_state("fork" in lit, backward, colors)
        self.join.set_state("join" in lit, backward, colors)
        for branch, filler in self.fillers.items():
            filler.set_state(branch in lit, backward, colors)
        for branch, lane in self.lanes.items():
            width, color = (3, colors.accent) if branch in lit else (1, colors.dim)
            style = f"#{lane.objectName()} {{ border-left: {width}px solid {color}; }}"
            if lane.styleSheet() != style:
                lane.setStyleSheet(style)
        self.caption.setText(self._caption(rec))
        self.step_caption = self.caption.text() != self._caption(None)
        left = bool(rec is not None and rec.inner is not None)  # near the current column
        align = Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight
        self.caption.setAlignment(align | Qt.AlignmentFlag.AlignVCenter)
        style = f"#block_{self.index} {{ border: 2px dashed {colors.dim}; border-radius: 8px; }}"
        if self.styleSheet() != style:
            self.setStyleSheet(style)

    def active_paths(self, rec: StepRecord | None) -> set[str]:
        """Which of "fork", "join", "body", "shortcut" the current step runs on."""
        if rec is None or rec.layer != self.index or rec.kind not in ("forward", "backward"):
            return set()
        both = {"body", "shortcut"}
        if rec.inner is None:  # the addition: the lanes meet (F) or the δ splits (B)
            return {"join"} | both
        if rec.kind == "backward" and rec.inner == "body.0":  # the join at the block input
            return {"fork"} | both
        branch = rec.inner.split(".")[0]
        first = rec.kind == "forward" and rec.inner.endswith(".0")
        return {branch} | ({"fork"} if first else set())

    def _caption(self, rec: StepRecord | None) -> str:
        """One line under the block: its rule, or what the current step does on the paths."""
        name = rec.name if rec is not None and rec.layer == self.index else ""
        short = "1×1 projection shortcut" if self.projection else "identity shortcut"
        if name == f"F{self.index}":
            return f"F{self.index}: the paths meet at ⊕ — o = body(x) + shortcut(x)"
        if name == f"B{self.index}":
            return f"B{self.index}: δ splits at ⊕ — copied unchanged to the body and the shortcut"
        if name == f"B{self.index}.0":
            return (f"B{self.index}.0: the paths join at the block input — "
                    "δ_in = δ_in,body + δ_in,shortcut")
        return f"residual block {self.index}: o = body(x) + shortcut(x), {short}"


def _is_one_by_one(layer: LayerSpec) -> bool:
    """A 1×1 convolution (a projection or bottleneck)."""
    return layer.type == "conv2d" and tuple(layer.config["kernel_size"]) == (1, 1)
