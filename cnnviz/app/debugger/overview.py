"""The pipeline's fit-to-width overview (presentation mode): every column in view, no
horizontal scrolling, the current step's column enlarged.

The current column keeps its full heading (markers, title, shape, range) and gets the
room its maps need — about half the width, as many rows as the height allows; every
other column becomes *compact*: a two-line title ("3" / "conv"), only the breakpoints
that are set, and its maps shrunk into an equal share of the rest. Nothing here draws or
computes: it only sets fonts, visibility and each ``ThumbGrid``'s arrangement.
"""

from __future__ import annotations

import math
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QBoxLayout, QLabel, QLayout, QScrollArea, QWidget

from cnnviz.app.controller import AppController

INPUT, LOSS = "input", "loss"  # the pipeline's keys of its first and last column
FOCUS_SHARE = 0.55  # of the width the current column may take
COMPACT_MAX = 110  # px: a compact column's maps never grow wider than this (× zoom)
MIN_CELL = 0.4  # px per cell: compact maps may be sampled down this far
SLACK = 12  # px kept free at the right end of the row (rounding, frames)
SHORT = {"conv2d": "conv", "maxpool2d": "max", "avgpool2d": "avg", "flatten": "flat",
         "dense": "dense", "leaky_relu": "lrelu", "sigmoid": "σ", "batchnorm2d": "bn",
         "batchnorm1d": "bn", "dropout": "drop", "residual": "res"}


class Column(Protocol):
    """What the overview uses of a pipeline column (``pipeline.LayerColumn``)."""

    key: int | str
    title: QLabel
    shape_label: QLabel
    mode_label: QLabel
    gutter: QBoxLayout
    markers: dict
    thumbs: QWidget


class Pipeline(Protocol):
    """What the overview uses of the pipeline (``pipeline.PipelineView``, a QScrollArea)."""

    ctrl: AppController
    columns: dict
    arrows: list[QLabel]
    scale_bar: QWidget
    overview: Overview | None

    def refresh(self) -> None: ...
    def fit_thumbnails(self) -> None: ...


def best_grid(count: int, height: int, width: int, box_w: float,
              box_h: float) -> tuple[int, float]:
    """(maps per row, pixels per cell) of the largest maps that fit `count` maps of
    `height`×`width` cells (4 px apart) into a box of `box_w`×`box_h` pixels."""
    best = (1, 0.0)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        scale = min(box_w / cols - 4, box_h / rows - 4) / max(height, width)
        if scale > best[1]:
            best = (cols, scale)
    return best


def short_title(column: Column, full: str) -> str:
    """A compact column's two-line title: its index over its kind ("3" / "conv")."""
    if column.key == INPUT:
        return "in"
    if column.key == LOSS:
        return "loss"
    index, _, kind = full.partition(" ")
    return f"{index}\n{SHORT.get(kind, kind)}"


class Overview:
    """Lays a pipeline out to fit its viewport; `fit()` after every change of size or step."""

    def __init__(self, pipeline: Pipeline, zoom: float = 1.0) -> None:
        self.pipeline = pipeline
        self.zoom = zoom

    # ----- choosing the focus ---------------------------------------------------------
    def focus_key(self) -> int | str:
        """The column to enlarge: the current step's (after U, the selected layer if it
        was updated, else the first updated one); the input before the first step."""
        p = self.pipeline
        rec = p.ctrl.stepper.current
        if rec is None:
            return INPUT
        if rec.kind == "loss":
            return LOSS
        if rec.kind == "update":
            updated = [l.index for l in p.ctrl.spec.layers if l.param_shapes]
            selected = p.ctrl.selection.layer
            return selected if selected in updated else (updated or [INPUT])[0]
        return rec.layer if rec.layer in p.columns else INPUT

    # ----- fitting --------------------------------------------------------------------
    def fit(self) -> None:
        """Style every column, then share the viewport's width among them."""
        p = self.pipeline
        focus = self.focus_key()
        small = self.compact_font()
        for key, column in p.columns.items():
            self.style(column, compact=key != focus, font=small)
        for arrow in p.arrows:
            arrow.setFont(small)
        viewport = p.viewport()
        width, height = viewport.width() - SLACK, viewport.height()
        fixed = sum(a.sizeHint().width() for a in p.arrows) + 2 * (2 * len(p.columns)) + 8
        compact = [c for k, c in p.columns.items() if k != focus]
        focus_w = self.arrange(p.columns[focus], (width - fixed) * FOCUS_SHARE, height)
        share = (width - fixed - focus_w) / max(1, len(compact))
        used = sum(self.arrange(c, min(share - 6, COMPACT_MAX * self.zoom), height,
                                compact=True) for c in compact)
        box = width - fixed - used
        self.arrange(p.columns[focus], box, height)
        for _ in range(3):  # measure the real row, and take any overflow off the focus
            overflow = self.row_width() - viewport.width()
            if overflow <= 0:
                break
            box -= overflow + 4 * p.columns[focus].thumbs.cols  # a whole pixel per map
            self.arrange(p.columns[focus], box, height)
        self.settle()

    def settle(self) -> None:
        """Make the row's layout use the new sizes now, not at the next event loop (the
        pipeline sizes and scrolls its row right after fitting)."""
        inner = self.pipeline.widget()
        if inner is None or inner.layout() is None:
            return
        for column in self.pipeline.columns.values():
            invalidate(column)
            column.updateGeometry()
        inner.layout().invalidate()
        inner.layout().activate()
        inner.adjustSize()

    def row_width(self) -> int:
        """The width the row of columns and arrows asks for, measured afresh (the row's
        layout caches its items' sizes until the next event loop)."""
        p = self.pipeline
        inner = p.widget()
        if inner is None or inner.layout() is None:
            return 0
        row = inner.layout()
        margins = row.contentsMargins()
        items = [*p.columns.values(), *p.arrows]
        for column in p.columns.values():
            invalidate(column)
        return (sum(w.sizeHint().width() for w in items) + row.spacing() * len(items)
                + margins.left() + margins.right())

    def arrange(self, column: Column, box_w: float, height: int,
                compact: bool = False) -> int:
        """Fit a column's maps into `box_w` pixels of width and the height left under
        its heading; returns the column's width."""
        thumbs = column.thumbs
        margins = column.layout().contentsMargins()
        heading = column.sizeHint().height() - thumbs.height()
        box_h = height - heading - margins.top() - margins.bottom() - 16
        C, H, W = thumbs.stack_shape
        if thumbs.vector:  # compact: a bare strip, unless it names classes
            labels = not compact or thumbs.labels is not None
            thumbs.arrange(1, max(0.1, (box_h - 4) / H), strip=12, labels=labels)
            strip = max(12, min(60, int(box_w) - thumbs.label_width() - 8))
            thumbs.arrange(1, thumbs.scale, strip=12 if compact else strip, labels=labels)
        else:
            cols, scale = best_grid(C, H, W, box_w, box_h)
            thumbs.arrange(cols, max(MIN_CELL, scale))
        frame = 2 * column.lineWidth()
        text = max(column.title.sizeHint().width(), column.gutter.sizeHint().width())
        if not compact:
            text = max(text, column.mode_label.sizeHint().width(),
                       column.title.sizeHint().width() + column.shape_label.sizeHint().width())
        return max(text, thumbs.width()) + margins.left() + margins.right() + frame

    def compact_font(self) -> QFont:
        """The compact columns' font: a little smaller than the application's."""
        font = QFont()
        font.setPointSize(max(8, round(QFont().pointSize() * 0.62)))
        return font

    # ----- styling --------------------------------------------------------------------
    def style(self, column: Column, compact: bool, font: QFont) -> None:
        """Compact or full heading (the full title is remembered on the column itself, to put
        it back: a new network brings new columns under the same keys)."""
        if not hasattr(column, "full_heading"):
            column.full_heading = (column.title.text(), column.toolTip())
        full, tip = column.full_heading
        column.title.setText(short_title(column, full) if compact else full)
        column.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.setFont(font if compact else QFont())
        title = QFont(font) if compact else QFont()
        title.setBold(True)
        column.title.setFont(title)
        column.shape_label.setVisible(not compact)
        column.mode_label.setVisible(not compact)
        if getattr(column, "rgb_box", None) is not None:
            column.rgb_box.setVisible(not compact)
        column.gutter.setDirection(QBoxLayout.Direction.TopToBottom if compact
                                   else QBoxLayout.Direction.LeftToRight)
        for button in column.markers.values():
            button.setVisible(not compact or button.isChecked())
        m = 2 if compact else 6
        column.layout().setContentsMargins(m, 2 if compact else 4, m, 2 if compact else 4)
        column.setToolTip(f"{full}: {column.mode_label.text()}\n{tip}" if compact else tip)

    def restore(self) -> None:
        """Undo the overview: full headings, natural thumbnails, the arrows' own font."""
        p = self.pipeline
        for column in p.columns.values():
            self.style(column, compact=False, font=QFont())
            column.thumbs.reset_arrangement()
        for arrow in p.arrows:
            font = QFont()
            font.setBold(True)
            font.setPointSize(20)
            arrow.setFont(font)


def invalidate(widget: QWidget) -> None:
    """Forget the cached sizes of a widget's layout and of every layout nested in it
    (invalidating a layout leaves its nested layouts' caches alone)."""
    for layout in widget.findChildren(QLayout):
        layout.invalidate()
    if widget.layout() is not None:
        widget.layout().invalidate()


def enable(pipeline: Pipeline, on: bool, zoom: float = 1.0) -> None:
    """Switch a pipeline to the overview (no horizontal scroll bar) and back."""
    area: QScrollArea = pipeline  # type: ignore[assignment]
    if on:
        overview = pipeline.overview or Overview(pipeline)
        overview.zoom = zoom
        pipeline.overview = overview
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    elif pipeline.overview is not None:
        pipeline.overview.restore()
        pipeline.overview = None
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    fit_scale_bar(pipeline)
    pipeline.refresh()
    pipeline.fit_thumbnails()


def fit_scale_bar(pipeline: Pipeline) -> None:
    """Room above the columns for the colour-scale bar at the current font size."""
    area: QScrollArea = pipeline  # type: ignore[assignment]
    bar = max(34, pipeline.scale_bar.sizeHint().height())
    area.setViewportMargins(0, bar, 0, 0)
    rect = area.viewport().geometry()
    pipeline.scale_bar.setGeometry(rect.x(), rect.y() - bar, rect.width(), bar)
