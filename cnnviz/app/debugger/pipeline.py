"""The pipeline panel: the whole network as a row of columns, forward maps or backward deltas.

One column for the input, one per layer and one for the loss. A column shows its layer's
output while the pass goes forward and, once ``B<l>`` has run, the delta ``∂E/∂o`` of that
output — so the panel shows where the error has reached. The current step is framed, the
direction of travel is drawn as an arrow, and each layer has IDE-like breakpoint markers.

The colour scale (``color_scales.py``) is per column, shared per kind, or log magnitude;
a colour input is drawn as one RGB image whatever the scale (``input_rgb``).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.debugger import unit_labels
from cnnviz.app.debugger.color_scales import (
    SCALE_TIPS,
    SCALES,
    shared_levels,
)
from cnnviz.app.debugger.overview import Overview
from cnnviz.app.debugger.pipeline_blocks import BlockFrame
from cnnviz.app.debugger.pipeline_column import LayerColumn, bold_font, set_style
from cnnviz.app.debugger.pipeline_content import (  # re-exported: panels and tests use them
    INPUT,
    LOSS,
    Key,
    column_content,
    delta_of,
    inner_ref,
    object_name,
)
from cnnviz.app.debugger.targets import selected_target
from cnnviz.app.widgets.theme import LIGHT, Colors
from cnnviz.engine.records import StepRecord

__all__ = ["INPUT", "LOSS", "PipelineView", "column_content", "delta_of", "region_boxes"]
BAR_HEIGHT = 34


class PipelineView(QScrollArea):
    """The network as a scrollable row of columns, following every step."""

    def __init__(self, ctrl: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.colors = LIGHT
        self.scale = "column"
        self.input_rgb = True  # a colour input as one RGB image (False: a map per channel)
        self.scale_bar = self._make_scale_bar()
        self.setViewportMargins(0, BAR_HEIGHT, 0, 0)
        self.columns: dict[Key, LayerColumn] = {}
        self.blocks: dict[int, BlockFrame] = {}
        self.arrows: list[QLabel] = []
        self.arrow_of: dict[Key, QLabel] = {}  # the arrow leading into a column
        self.setWidgetResizable(True)
        self.setMinimumHeight(220)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        ctrl.spec_changed.connect(self._on_spec_changed)
        for signal in (ctrl.stepper_changed, ctrl.input_changed, ctrl.selection_changed,
                       ctrl.weights_changed):
            signal.connect(self.refresh)
        self.overview: Overview | None = None  # the fit-to-width layout (presentation mode)
        self.thumb_zoom = 1.0  # Ctrl+± scales the thumbnails' natural size
        self._on_spec_changed()
        unit_labels.install(self)  # class names on the output units

    def _make_scale_bar(self) -> QWidget:
        """The row above the columns: the colour-scale choice."""
        bar = QWidget(self)
        row = QHBoxLayout(bar)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(QLabel("Colour scale:"))
        self.scale_box = QComboBox()
        self.scale_box.setObjectName("pipeline_scale")
        for key, text in SCALES.items():
            self.scale_box.addItem(text, key)
            self.scale_box.setItemData(self.scale_box.count() - 1, SCALE_TIPS[key],
                                       Qt.ItemDataRole.ToolTipRole)
        self.scale_box.setToolTip("How the maps' colours are scaled across the columns")
        self.scale_box.currentIndexChanged.connect(
            lambda _i: self.set_scale(self.scale_box.currentData()))
        row.addWidget(self.scale_box)
        row.addStretch(1)
        return bar

    def set_scale(self, scale: str) -> None:
        """Per column, shared per kind, or log magnitude (see the module docstring)."""
        if scale not in SCALES:
            raise ValueError(f"unknown colour scale {scale!r}: use one of {', '.join(SCALES)}")
        self.scale = scale
        self.scale_box.setCurrentIndex(list(SCALES).index(scale))
        self.refresh()

    def set_input_rgb(self, on: bool) -> None:
        """Draw a colour input as one RGB image (True) or as one map per channel."""
        self.input_rgb = bool(on)
        self.refresh()

    def _on_spec_changed(self) -> None:
        """Rebuild the columns for a new network (a block as its lanes, fork, join and ⊕)."""
        inner = QWidget()
        row = QHBoxLayout(inner)
        row.setSpacing(2)
        row.setContentsMargins(4, 4, 4, 4)
        self.columns, self.blocks, self.arrows, self.arrow_of = {}, {}, [], {}
        spec = self.ctrl.spec
        self.columns[INPUT] = LayerColumn(self, INPUT, "input", spec.input_shape)
        row.addWidget(self.columns[INPUT], 0, Qt.AlignmentFlag.AlignTop)
        for layer in spec.layers:
            if layer.type == "residual":
                block = BlockFrame(self, layer, self._make_arrow)
                row.addWidget(self._make_arrow(block.first_key()))
                self.blocks[layer.index] = block
                self.columns.update(block.columns)
                self.columns[layer.index] = block.add_column
                row.addWidget(block, 0, Qt.AlignmentFlag.AlignTop)
                continue
            row.addWidget(self._make_arrow(layer.index))
            self.columns[layer.index] = LayerColumn(self, layer.index,
                                                    f"{layer.index} {layer.type}", layer.out_shape)
            row.addWidget(self.columns[layer.index], 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self._make_arrow(LOSS))
        self.columns[LOSS] = LayerColumn(self, LOSS, f"loss\n{spec.loss}", (spec.num_classes,))
        row.addWidget(self.columns[LOSS], 0, Qt.AlignmentFlag.AlignTop)
        row.addStretch(1)
        self.setWidget(inner)
        self.refresh()
        self.fit_thumbnails()

    def _make_arrow(self, key: Key) -> QLabel:
        """The arrow leading into a column (listed in travel order in `arrows`)."""
        arrow = QLabel("→")
        arrow.setFont(bold_font(20))
        arrow.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.arrows.append(arrow)
        self.arrow_of[key] = arrow
        return arrow

    def resizeEvent(self, event) -> None:
        """Fit every column's maps into the panel's height, so that none is cut off."""
        super().resizeEvent(event)
        rect = self.viewport().geometry()
        bar = self.viewportMargins().top()  # BAR_HEIGHT, or more for a presentation font
        self.scale_bar.setGeometry(rect.x(), rect.y() - bar, rect.width(), bar)
        self.fit_thumbnails()
        current = self.current_keys()
        if current and self.widget() is not None:
            self.widget().adjustSize()
            self._scroll_to(self.columns[current[0]])

    def fit_thumbnails(self) -> None:
        """Scale the thumbnails to the room left under each column's heading (a block's
        lanes share the height; the presentation overview lays them out itself)."""
        if self.overview is not None:
            self.overview.fit()
            return
        room = self.viewport().height()
        inside = {key for block in self.blocks.values() for key in block.columns}
        inside |= set(self.blocks)
        for key, column in self.columns.items():
            if key not in inside:
                self._fit_column(column, room)
        for block in self.blocks.values():
            block.fit(room, self._fit_column)

    def _fit_column(self, column: LayerColumn, room: int) -> None:
        """Fit one column's maps into `room` pixels of height, at the Ctrl+± zoom."""
        if column.thumbs.zoom != self.thumb_zoom:
            column.thumbs.set_zoom(self.thumb_zoom)
        heading = column.sizeHint().height() - column.thumbs.height()
        column.thumbs.fit_height(room - heading - 24)

    def set_colors(self, colors: Colors) -> None:
        """Follow the theme and the font size: styled widgets ignore QApplication.setFont,
        so their style sheets are cleared and set again."""
        self.colors = colors
        for widget in self.widget().findChildren(QWidget) if self.widget() else []:
            if widget.styleSheet():
                widget.setStyleSheet("")
        self.refresh()
        self.fit_thumbnails()

    def column(self, key: Key) -> LayerColumn:
        """The column of a layer index, INPUT or LOSS."""
        return self.columns[key]

    def current_keys(self) -> list[Key]:
        """The columns framed as the current step (an inner step frames its own column)."""
        rec = self.ctrl.stepper.current
        if rec is None:
            return []
        if rec.kind == "loss":
            return [LOSS]
        if rec.kind == "update":
            return [key for key in self.columns if self._has_params(key)]
        return [rec.name[1:] if rec.inner is not None else rec.layer]

    def _has_params(self, key: Key) -> bool:
        """True for the column of a layer with weights (not a block's ⊕, not input/loss)."""
        if key in (INPUT, LOSS):
            return False
        ref = inner_ref(key)
        if ref is None:
            spec = self.ctrl.spec.layers[key]
            return spec.type != "residual" and bool(spec.param_shapes)
        return bool(getattr(self.ctrl.spec.layers[ref.layer], ref.branch)[ref.j].param_shapes)

    def refresh(self) -> None:
        """Contents, current-step frames, arrows and selection outlines."""
        current = self.current_keys()
        contents = {key: column_content(self.ctrl, key) for key in self.columns}
        shared = shared_levels(contents, self.scale)
        for key, column in self.columns.items():
            column.refresh(self.ctrl, self.colors, contents[key], self.scale, shared)
            on = key in current
            set_style(column,
                f"#{object_name(key)} {{ border: {3 if on else 1}px solid "
                f"{self.colors.accent if on else self.colors.dim}; border-radius: 4px; }}")
        self._refresh_arrows()
        self._refresh_selection()
        self.fit_thumbnails()  # a heading may have grown a line (the loss value)
        if current and self.widget() is not None:
            self.widget().adjustSize()  # the columns' new sizes before scrolling to one
            self._scroll_to(self.columns[current[0]])

    def _scroll_to(self, column: LayerColumn) -> None:
        """Scroll sideways (only) so that the current column is in view."""
        bar, width = self.horizontalScrollBar(), self.viewport().width()
        left = column.mapTo(self.widget(), QPoint(0, 0)).x()
        if left < bar.value() or left + column.width() > bar.value() + width:
            bar.setValue(max(0, left - (width - column.width()) // 2))

    def _refresh_arrows(self) -> None:
        """All arrows point the way the pass travels; the active one is highlighted, and
        each block lights the paths the step runs on (the split and the join of δ)."""
        rec = self.ctrl.stepper.current
        backward = rec is not None and rec.kind in ("backward", "update")
        active = self.arrow_of.get(self._active_arrow(rec))
        for arrow in self.arrows:
            arrow.setText("←" if backward else "→")
            color = self.colors.accent if arrow is active else self.colors.dim
            set_style(arrow, f"color: {color};")
        for block in self.blocks.values():
            block.refresh_paths(rec, self.colors)

    def _active_arrow(self, rec: StepRecord | None) -> Key | None:
        """The column whose incoming arrow the data (or δ) just crossed."""
        if rec is None or rec.kind == "update":
            return None
        if rec.kind == "loss":
            return LOSS
        return rec.name[1:] if rec.inner is not None else rec.layer

    def _refresh_selection(self) -> None:
        """Outline the selected unit and its receptive field on the input and earlier maps."""
        for column in self.columns.values():
            column.thumbs.outlines, column.thumbs.marks = [], []
        sel, target = self.ctrl.selection, selected_target(self.ctrl)
        if target is not None and sel.unit is not None and target.key in self.columns:
            self.columns[target.key].thumbs.marks = [tuple(sel.unit)]
            field = self.ctrl.stepper.receptive_field(sel.layer, tuple(sel.unit), sel.inner)
            for key, region in field.items():
                column = self.columns.get(INPUT if key == "input" else key)
                if column is not None and key != target.key:
                    column.thumbs.outlines = region_boxes(region)
        for column in self.columns.values():
            column.thumbs.update()


def region_boxes(region: dict) -> list[tuple[int, int, int, int, int]]:
    """(c, i0, i1, j0, j1) boxes of a receptive-field region (flat ranges as one strip)."""
    if region.get("box") is not None:
        i0, i1, j0, j1 = region["box"]
        return [(int(c), i0, i1, j0, j1) for c in region["channels"]]
    k0, k1 = region["range"]
    return [(0, k0, k1, 0, 1)]
