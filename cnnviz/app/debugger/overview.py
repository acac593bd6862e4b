"""The pipeline's fit-to-width overview (presentation mode): every column in view, no
horizontal scrolling, the current step's column enlarged.

The current column — the one the current step works on: an inner layer's column inside
a residual block (``4.0`` at ``F4.0``), the ⊕ column at the addition — keeps its full
heading (markers, title, shape, range) and gets the room its maps need: about half the
width, as many rows as the height (a block lane's height, inside a block) allows. Every
other column becomes *compact*: a two-line title ("3" / "conv"), only the breakpoints
that are set, and its maps shrunk into an equal share of the rest. A residual block
opens (its lanes of inner columns) only while the pass is inside it; the others fold to
their ⊕ column ("4" / "res ⊕"), so that a network of blocks fits the width too. The row
is measured after every change and the enlarged column takes what is left. On a short
pipeline (1280×720) where the enlarged maps would be under ``READABLE_MAP`` pixels, the
layout is *tight*: the enlarged column's breakpoint markers sit beside its title in the
small font, an open block's identity line and caption take the small font, and the
caption shows only while it says what the current step does. Nothing here
draws or computes: it only sets fonts, visibility and each ``ThumbGrid``'s arrangement.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QBoxLayout, QLabel, QLayout, QScrollArea, QWidget

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.grid_fit import best_grid, tall_grid
from cnnviz.app.debugger.targets import selected_target
from cnnviz.app.widgets.theme import small_point_size

INPUT, LOSS = "input", "loss"  # the pipeline's keys of its first and last column
FOCUS_SHARE = 0.55  # of the width the current column may take
COMPACT_MAX = 110  # px: a compact column's maps never grow wider than this (× zoom)
MIN_CELL = 0.4  # px per cell: compact maps may be sampled down this far
TIGHT_CELL = 0.25  # … and this far when the row does not fit otherwise (a small screen)
SLACK = 12  # px kept free at the right end of the row (rounding, frames)
SHORT = {"conv2d": "conv", "maxpool2d": "max", "avgpool2d": "avg", "flatten": "flat",
         "dense": "dense", "leaky_relu": "lrelu", "sigmoid": "σ", "batchnorm2d": "bn",
         "batchnorm1d": "bn", "dropout": "drop", "residual": "res"}
BLOCK_FRAME = 12  # px of a block's frame and margins around its lanes (height)
FOCUS_LANE = 0.62  # of an open block's two lanes' height: the lane of the current column
TIGHT_LANE = 0.72  # … in the tight layout
READABLE_MAP = 40  # px: enlarged maps smaller than this make the layout tight


class Column(Protocol):
    """What the overview uses of a pipeline column (``pipeline.LayerColumn``)."""

    key: int | str
    title: QLabel
    shape_label: QLabel
    mode_label: QLabel
    gutter: QBoxLayout
    markers: dict
    thumbs: QWidget

    def set_gutter_above(self, above: bool) -> None: ...


class Block(Protocol):
    """What the overview uses of a residual block (``pipeline_blocks.BlockFrame``)."""

    index: int
    columns: dict  # inner key ("4.0", "6.s1") -> column
    add_column: Column
    caption: QLabel
    fork: QWidget
    join: QWidget
    lanes: dict  # "body", "shortcut" -> QFrame
    step_caption: bool  # the caption says what the current step does

    def lane_rooms(self, room: int) -> tuple[int, int]: ...
    def caption_height(self) -> int: ...
    def set_tight(self, font: QFont | None) -> None: ...


class Pipeline(Protocol):
    """What the overview uses of the pipeline (``pipeline.PipelineView``, a QScrollArea)."""

    ctrl: AppController
    columns: dict
    blocks: dict  # block index -> Block
    arrows: list[QLabel]
    scale_bar: QWidget
    overview: Overview | None

    def refresh(self) -> None: ...
    def fit_thumbnails(self) -> None: ...
    def current_keys(self) -> list: ...


def short_title(column: Column, full: str, folded: bool = False, terse: bool = False) -> str:
    """A compact column's two-line title: its index over its kind ("3" / "conv", "6.s0" /
    "conv"); a folded block's ⊕ column "4" / "res ⊕"; `terse`: the index alone."""
    if column.key == INPUT:
        return "in"
    if column.key == LOSS:
        return "loss"
    index, _, kind = full.partition(" ")
    if terse:
        return f"{index}\n⊕" if folded else index
    if folded:
        return f"{index}\nres ⊕"
    kind = kind.split()[0] if kind else kind  # "conv2d 1×1" -> "conv2d"
    return f"{index}\n{SHORT.get(kind, kind)}"


class Overview:
    """Lays a pipeline out to fit its viewport; `fit()` after every change of size or step."""

    def __init__(self, pipeline: Pipeline, zoom: float = 1.0) -> None:
        self.pipeline = pipeline
        self.zoom = zoom
        self.min_cell = MIN_CELL
        self.tight = False  # the short pipeline's layout (see the module docstring)

    # ----- choosing the focus ---------------------------------------------------------
    def focus_key(self) -> int | str:
        """The column to enlarge: the current step's — an inner step's own column inside a
        block — (after U, the selected layer or inner layer if it was updated, else the
        first updated one); the input before the first step."""
        p = self.pipeline
        current = [key for key in p.current_keys() if key in p.columns]
        if not current:
            return INPUT
        target = selected_target(p.ctrl)
        if len(current) > 1 and target is not None and target.key in current:
            return target.key
        return current[0]

    def open_block(self, focus: int | str) -> int | None:
        """The block the focus is in (its ⊕ column or an inner one), None outside blocks."""
        for index, block in self.pipeline.blocks.items():
            if focus == index or focus in block.columns:
                return index
        return None

    def fold_blocks(self, opened: int | None) -> None:
        """Show the lanes of the open block only; every other block is its ⊕ column. Tight,
        the open block's caption shows only while it says what the current step does."""
        small = self.compact_font() if self.tight else None
        for index, block in self.pipeline.blocks.items():
            show(block, index == opened)
            block.set_tight(small)
            block.caption.setVisible(index == opened and (block.step_caption or not small))

    def room_of(self, key: int | str, height: int, opened: int | None,
                focus: int | str) -> int:
        """The height a column's maps and heading may take: a lane's inside an open block
        (the focus's lane the larger part, when both lanes have columns), the block's
        inside its frame for a ⊕ column, else the viewport's."""
        blocks = self.pipeline.blocks
        if key in blocks:
            return height - blocks[key].caption_height() - BLOCK_FRAME
        if opened is None or key not in blocks[opened].columns:
            return height
        body, shortcut = blocks[opened].lane_rooms(height - BLOCK_FRAME)
        if shortcut and focus in blocks[opened].columns:
            larger = int((body + shortcut) * (TIGHT_LANE if self.tight else FOCUS_LANE))
            on_shortcut = ".s" in str(focus)
            body, shortcut = (body + shortcut - larger, larger) if on_shortcut else \
                (larger, body + shortcut - larger)
        return shortcut if ".s" in str(key) else body

    def shown_keys(self, opened: int | None) -> list[int | str]:
        """The columns in view: every column but those of folded blocks."""
        hidden = {key for index, block in self.pipeline.blocks.items() if index != opened
                  for key in block.columns}
        return [key for key in self.pipeline.columns if key not in hidden]

    # ----- fitting --------------------------------------------------------------------
    def fit(self) -> None:
        """Lay the row out (`lay_out`); if the enlarged maps come out smaller than
        READABLE_MAP pixels, lay it out again tight."""
        focus = self.focus_key()
        opened = self.open_block(focus)
        for self.tight in (False, True):
            self.lay_out(focus, opened)
            if self.readable(focus):
                break
        self.settle()

    def readable(self, focus: int | str) -> bool:
        """True if the enlarged column's maps are READABLE_MAP pixels or more (a vector's
        strip always is)."""
        thumbs = self.pipeline.columns[focus].thumbs
        return thumbs.vector or min(thumbs.map_size()) >= READABLE_MAP

    def lay_out(self, focus: int | str, opened: int | None) -> None:
        """Fold the blocks the pass is not in, style every column, then share the
        viewport's width among the columns in view (the enlarged one takes what the
        measured row leaves). If the compact columns alone are too wide (many columns on
        a small screen), their titles drop the kind and keep the index, then their maps
        shrink further."""
        p = self.pipeline
        self.fold_blocks(opened)
        for terse, self.min_cell in ((False, MIN_CELL), (True, MIN_CELL), (True, TIGHT_CELL)):
            small = self.compact_font()
            for key, column in p.columns.items():
                folded = key in p.blocks and key != opened
                self.style(column, compact=key != focus, font=small, folded=folded,
                           terse=terse)
            for arrow in p.arrows:
                arrow.setFont(small)
            if self.share_width(focus, opened) <= 0:
                break

    def share_width(self, focus: int | str, opened: int | None) -> int:
        """Arrange the columns in view into the viewport's width and their heights; the
        row's overflow in pixels that is left (0 or less: it fits)."""
        p = self.pipeline
        viewport = p.viewport()
        width, height = viewport.width() - SLACK, viewport.height()
        shown = self.shown_keys(opened)
        room = {key: self.room_of(key, height, opened, focus) for key in shown}
        compact = [key for key in shown if key != focus]
        lane = [key for key in compact if ".s" in str(key)]  # beside the body: no width
        fixed = self.fixed_width(opened) + 4 * len(shown)
        focus_w = self.arrange(p.columns[focus], (width - fixed) * FOCUS_SHARE, room[focus])
        share = (width - fixed - focus_w) / max(1, len(compact) - len(lane))
        for key in compact:
            self.arrange(p.columns[key], min(share - 6, COMPACT_MAX * self.zoom), room[key],
                         compact=True)
        box = focus_w + width - self.row_width()  # the room the measured row leaves
        self.arrange(p.columns[focus], box, room[focus])
        overflow = self.row_width() - viewport.width()
        for _ in range(3):  # take any overflow off the focus, measuring the real row
            if overflow <= 0:
                break
            box -= overflow + 4 * p.columns[focus].thumbs.cols  # a whole pixel per map
            self.arrange(p.columns[focus], box, room[focus])
            overflow = self.row_width() - viewport.width()
        return overflow

    def fixed_width(self, opened: int | None) -> int:
        """A first guess of the width that is no column: the arrows in view, an open
        block's fork and join."""
        p = self.pipeline
        inner = p.widget()
        arrows = sum(a.sizeHint().width() for a in p.arrows
                     if inner is None or a.isVisibleTo(inner))
        block = p.blocks.get(opened)
        paths = 0 if block is None else block.fork.width() + block.join.width() + BLOCK_FRAME
        return arrows + paths + 8

    def settle(self) -> None:
        """Make the row's layout use the new sizes now, not at the next event loop (the
        pipeline sizes and scrolls its row right after fitting)."""
        inner = self.pipeline.widget()
        if inner is None or inner.layout() is None:
            return
        invalidate(inner)
        inner.layout().activate()
        inner.adjustSize()

    def row_width(self) -> int:
        """The width the row of columns, arrows and blocks asks for, measured afresh (the
        row's layout caches its items' sizes until the next event loop)."""
        inner = self.pipeline.widget()
        if inner is None or inner.layout() is None:
            return 0
        invalidate(inner)
        return inner.layout().sizeHint().width()

    def arrange(self, column: Column, box_w: float, height: int,
                compact: bool = False) -> int:
        """Fit a column's maps into `box_w` pixels of width and the height left under
        its heading; returns the column's width."""
        thumbs = column.thumbs
        margins = column.layout().contentsMargins()
        heading = column.sizeHint().height() - thumbs.height()
        box_h = height - heading - margins.top() - margins.bottom() - 16
        C, H, W = thumbs.stack_shape
        text = max(column.title.sizeHint().width(), column.gutter.sizeHint().width())
        if not compact:
            text = max(text, column.mode_label.sizeHint().width(),
                       column.title.sizeHint().width() + column.shape_label.sizeHint().width())
        box_w = max(box_w, text)  # the heading makes the column this wide anyway
        if thumbs.vector:  # compact: a bare strip, unless it names classes
            labels = not compact or thumbs.labels is not None
            thumbs.arrange(1, max(0.1, (box_h - 4) / H), strip=12, labels=labels)
            strip = max(12, min(60, int(box_w) - thumbs.label_width() - 8))
            thumbs.arrange(1, thumbs.scale, strip=12 if compact else strip, labels=labels)
        else:
            cols, scale = best_grid(C, H, W, box_w, box_h)
            if scale < self.min_cell:  # too narrow: go wider rather than out of view below
                cols, scale = tall_grid(C, H, box_h, self.min_cell), self.min_cell
            thumbs.arrange(cols, scale)
        frame = 2 * column.lineWidth()
        return max(text, thumbs.width()) + margins.left() + margins.right() + frame

    def compact_font(self) -> QFont:
        """The compact columns' font: a little smaller than the application's."""
        font = QFont()
        font.setPointSize(small_point_size(QFont().pointSize()))
        return font

    # ----- styling --------------------------------------------------------------------
    def style(self, column: Column, compact: bool, font: QFont, folded: bool = False,
              terse: bool = False) -> None:
        """Compact or full heading (the full title is remembered on the column itself, to put
        it back: a new network brings new columns under the same keys)."""
        if not hasattr(column, "full_heading"):
            column.full_heading = (column.title.text(), column.toolTip())
        full, tip = column.full_heading
        if folded:
            tip = (f"Residual block {column.key}, folded: its inner layers open when the "
                   f"pass reaches it. {tip}")
        column.title.setText(short_title(column, full, folded, terse) if compact else full)
        column.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.setFont(font if compact else QFont())
        title = QFont(font) if compact else QFont()
        title.setBold(True)
        column.title.setFont(title)
        column.shape_label.setVisible(not compact)
        column.set_gutter_above(not compact and not self.tight)  # enlarged: markers above
        column.mode_label.setVisible(not compact)
        if getattr(column, "rgb_box", None) is not None:
            column.rgb_box.setVisible(not compact)
        column.gutter.setDirection(QBoxLayout.Direction.TopToBottom if compact
                                   else QBoxLayout.Direction.LeftToRight)
        for button in column.markers.values():
            button.setVisible(not compact or button.isChecked())
            button.setFont(font if compact or self.tight else QFont())
        m = 2 if compact else 6
        column.layout().setContentsMargins(m, 2 if compact else 4, m, 2 if compact else 4)
        column.setToolTip(f"{full}: {column.mode_label.text()}\n{tip}" if compact else tip)

    def restore(self) -> None:
        """Undo the overview: open blocks, full headings, natural thumbnails, the arrows'
        own font."""
        p = self.pipeline
        self.tight = False
        for block in p.blocks.values():
            show(block, True)
            block.set_tight(None)
        for column in p.columns.values():
            self.style(column, compact=False, font=QFont())
            column.thumbs.reset_arrangement()
        for arrow in p.arrows:
            font = QFont()
            font.setBold(True)
            font.setPointSize(20)
            arrow.setFont(font)


def show(block: Block, lanes: bool) -> None:
    """A block with its lanes, fork, join and caption, or folded to its ⊕ column."""
    for widget in (block.fork, block.join, block.caption, *block.lanes.values()):
        widget.setVisible(lanes)


def invalidate(widget: QWidget) -> None:
    """Forget the cached sizes of a widget's layout, of every layout nested in it and of
    every widget in them (invalidating a layout leaves its nested layouts' caches alone,
    and a layout keeps its widgets' size hints until they call updateGeometry)."""
    for child in widget.findChildren(QWidget):
        child.updateGeometry()
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
