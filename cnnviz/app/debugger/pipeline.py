"""The pipeline panel: the whole network as a row of columns, forward maps or backward deltas.

One column for the input, one per layer and one for the loss. A column shows its layer's
output while the pass goes forward and, once ``B<l>`` has run, the delta ``∂E/∂o`` of that
output — so the panel shows where the error has reached. The current step is framed, the
direction of travel is drawn as an arrow, and each layer has IDE-like breakpoint markers.

The colour scale (``color_scales.py``) is per column, shared per kind, or log magnitude.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.debugger import unit_labels
from cnnviz.app.debugger.color_scales import (
    SCALE_TIPS,
    SCALES,
    Content,
    Levels,
    display_of,
    shared_levels,
)
from cnnviz.app.debugger.overview import Overview
from cnnviz.app.widgets.mapview import ThumbGrid, same_data
from cnnviz.app.widgets.theme import LIGHT, Colors
from cnnviz.engine.records import StepRecord
from cnnviz.engine.steps import input_grad_of

INPUT, LOSS = "input", "loss"
BAR_HEIGHT = 34


def delta_of(ctrl: AppController, layer: int) -> np.ndarray | None:
    """δ = ∂E/∂o of a layer's output for the shown example, once the backward pass has
    reached it (written by L for the last layer, else by B<layer+1>); None before that."""
    st, n = ctrl.stepper, ctrl.selection.example
    if layer == len(ctrl.spec.layers) - 1:
        rec = st.record("L")
        return None if rec is None else rec.values["grad_logits"][n]
    grad = input_grad_of(st, layer + 1)  # a residual block's: the sum of both branches'
    return None if grad is None else grad[n]


def column_content(ctrl: AppController, key: int | str) -> tuple[np.ndarray | None, str, bool]:
    """(array, mode, signed) a column shows now: its output o going forward, its delta δ
    once the backward pass reached it; mode is 'input', 'output', 'delta', 'loss' or ''."""
    st, n = ctrl.stepper, ctrl.selection.example
    if key == INPUT:
        b0 = st.record("B0")
        if b0 is not None:
            return b0.values["grad_input"][n], "delta", True
        return st.x[n], "input", False
    if key == LOSS:
        rec = st.record("L")
        if rec is None:
            return None, "", False
        if "probabilities" in rec.values:
            return rec.values["probabilities"][n], "loss", False
        return rec.values["logits"][n], "loss", True
    delta, fwd = delta_of(ctrl, key), st.record(f"F{key}")
    if delta is not None:
        return delta, "delta", True
    if fwd is not None:
        out = fwd.values["output"][n]
        return out, "output", bool(np.nanmin(out) < 0)
    return None, "", False


class LayerColumn(QFrame):
    """One column: breakpoint markers, title, shape, maps and their range."""

    def __init__(self, pipeline: PipelineView, key: int | str, title: str,
                 shape: tuple[int, ...]) -> None:
        super().__init__()
        self.pipeline, self.key, self.shape = pipeline, key, tuple(shape)
        self.mode = ""
        self.source: np.ndarray | None = None  # the record array behind the thumbnails
        self._drawn: tuple = ("column", None)
        self.setObjectName(f"column_{key}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(3)
        self.gutter = self._gutter()  # the overview stacks compact columns' markers
        layout.addLayout(self.gutter)
        self.title = QLabel(title)
        self.title.setFont(_bold())
        self.shape_label = QLabel("×".join(str(s) for s in shape))
        self.shape_label.setObjectName("shape")
        self.mode_label = QLabel("")
        self.thumbs = ThumbGrid(shape)
        self.thumbs.unit_clicked.connect(self._on_unit_clicked)
        heading = QHBoxLayout()
        heading.addStretch(1)
        for widget in (self.title, self.shape_label):
            heading.addWidget(widget)
        heading.addStretch(1)
        layout.addLayout(heading)
        self.mode_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.mode_label)
        layout.addWidget(self.thumbs, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        self.setFrameShape(QFrame.Shape.Box)
        self.setLineWidth(1)
        self.setToolTip(f"{title}: click a map to select a layer and unit; "
                        "right-click to toggle breakpoints")

    def _gutter(self) -> QHBoxLayout:
        """The breakpoint markers: F<l> and B<l> (or L for the loss column)."""
        row = QHBoxLayout()
        self.markers: dict[str, QToolButton] = {}
        for name in self.step_names():
            button = QToolButton()
            button.setCheckable(True)
            button.setObjectName(f"breakpoint_{name}")
            button.setToolTip(f"Toggle a breakpoint on step {name} (F5 stops after it)")
            button.clicked.connect(lambda _=False, s=name: self.pipeline.ctrl.toggle_breakpoint(s))
            self.markers[name] = button
            row.addWidget(button)
        return row

    def step_names(self) -> list[str]:
        """The steps this column stands for."""
        if self.key == INPUT:
            return []
        if self.key == LOSS:
            return ["L"]
        return [f"F{self.key}", f"B{self.key}"]

    def refresh(self, ctrl: AppController, colors: Colors, content: Content,
                scale: str = "column", shared: dict | None = None) -> None:
        """Show the current content (under a colour scale) and the breakpoint state."""
        array, self.mode, signed = content
        shown, shown_signed, levels = display_of(content, scale, shared or {})
        drawn = (scale, levels)
        if not same_data(array, self.source) or drawn != self._drawn:
            self.source, self._drawn = array, drawn
            self.thumbs.set_array(shown, shown_signed, levels)
        self.thumbs.outline_color = colors.outline
        self.mode_label.setText(self._mode_text(ctrl, array, scale, levels))
        for name, button in self.markers.items():
            on = name in ctrl.stepper.breakpoints
            button.setChecked(on)
            button.setText(("● " if on else "○ ") + name)
            _set_style(button, f"color: {colors.breakpoint if on else colors.dim};"
                               "font-weight: bold; border: none;")

    def _mode_text(self, ctrl: AppController, array: np.ndarray | None, scale: str,
                   levels: Levels | None) -> str:
        """What the column shows and its range (the shared range under a shared scale)."""
        loss_name = "softmax p" if ctrl.spec.loss == "cross_entropy" else "output ŷ"
        text = {"output": "o", "delta": "δ = ∂E/∂o", "input": "input x",
                "loss": loss_name, "": "not yet computed"}[self.mode]
        if scale == "log" and self.mode not in ("loss", "") and array is not None:
            text = f"log₁₀|{text.split(' ')[0]}|"
        if levels is not None:
            text += f"  [{levels[0]:.3g}, {levels[1]:.3g}] shared"
        elif array is not None and array.size:
            text += f"  [{np.nanmin(array):.3g}, {np.nanmax(array):.3g}]"
        if self.key == LOSS and ctrl.stepper.record("L") is not None:
            text = f"E = {float(ctrl.stepper.record('L').values['loss']):.4g}\n" + text
        return text

    def _on_unit_clicked(self, unit: tuple) -> None:
        """Select the clicked unit (and so its layer) everywhere."""
        if isinstance(self.key, int):
            self.pipeline.ctrl.select_unit(self.key, unit)
        else:
            self.pipeline.ctrl.select_layer(None)

    def mousePressEvent(self, event) -> None:
        """A click on the column (outside the maps) selects the layer."""
        if event.button() == Qt.MouseButton.LeftButton and isinstance(self.key, int):
            self.pipeline.ctrl.select_layer(self.key)
        super().mousePressEvent(event)

    def breakpoint_menu(self) -> QMenu:
        """The right-click menu: toggle a breakpoint on each of this column's steps."""
        menu = QMenu(self)
        ctrl = self.pipeline.ctrl
        for name in self.step_names():
            state = "Clear" if name in ctrl.stepper.breakpoints else "Set"
            action = QAction(f"Toggle breakpoint on {name} ({state.lower()} it)", menu)
            action.setObjectName(f"toggle_breakpoint_{name}")
            action.triggered.connect(lambda _=False, s=name: ctrl.toggle_breakpoint(s))
            menu.addAction(action)
        return menu

    def contextMenuEvent(self, event) -> None:
        """Right-click: toggle a breakpoint on this column's steps."""
        menu = self.breakpoint_menu()
        if menu.actions():
            self.popup_menu(menu, event.globalPos())

    @staticmethod
    def popup_menu(menu: QMenu, pos) -> None:
        """Show a menu modally at a screen position (tests replace this)."""
        menu.exec(pos)


class PipelineView(QScrollArea):
    """The network as a scrollable row of columns, following every step."""

    def __init__(self, ctrl: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.colors = LIGHT
        self.scale = "column"
        self.scale_bar = self._make_scale_bar()
        self.setViewportMargins(0, BAR_HEIGHT, 0, 0)
        self.columns: dict[int | str, LayerColumn] = {}
        self.arrows: list[QLabel] = []
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

    def _on_spec_changed(self) -> None:
        """Rebuild the columns for a new network."""
        inner = QWidget()
        row = QHBoxLayout(inner)
        row.setSpacing(2)
        row.setContentsMargins(4, 4, 4, 4)
        self.columns, self.arrows = {}, []
        spec = self.ctrl.spec
        entries: list[tuple[int | str, str, tuple]] = [(INPUT, "input", spec.input_shape)]
        entries += [(l.index, f"{l.index} {l.type}", l.out_shape) for l in spec.layers]
        entries.append((LOSS, f"loss\n{spec.loss}", (spec.num_classes,)))
        for position, (key, title, shape) in enumerate(entries):
            if position:
                arrow = QLabel("→")
                arrow.setFont(_bold(20))
                arrow.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
                self.arrows.append(arrow)
                row.addWidget(arrow)
            self.columns[key] = LayerColumn(self, key, title, shape)
            row.addWidget(self.columns[key], 0, Qt.AlignmentFlag.AlignTop)
        row.addStretch(1)
        self.setWidget(inner)
        self.refresh()
        self.fit_thumbnails()

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
        """Scale the thumbnails to the room left under each column's heading (the overview
        lays them out itself)."""
        if self.overview is not None:
            self.overview.fit()
            return
        room = self.viewport().height()
        for column in self.columns.values():
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

    def column(self, key: int | str) -> LayerColumn:
        """The column of a layer index, INPUT or LOSS."""
        return self.columns[key]

    def current_keys(self) -> list[int | str]:
        """The columns framed as the current step."""
        rec = self.ctrl.stepper.current
        if rec is None:
            return []
        if rec.kind == "loss":
            return [LOSS]
        if rec.kind == "update":
            return [l.index for l in self.ctrl.spec.layers if l.param_shapes]
        return [rec.layer]

    def refresh(self) -> None:
        """Contents, current-step frames, arrows and selection outlines."""
        current = self.current_keys()
        contents = {key: column_content(self.ctrl, key) for key in self.columns}
        shared = shared_levels(contents, self.scale)
        for key, column in self.columns.items():
            column.refresh(self.ctrl, self.colors, contents[key], self.scale, shared)
            on = key in current
            _set_style(column,
                f"#column_{key} {{ border: {3 if on else 1}px solid "
                f"{self.colors.accent if on else self.colors.dim}; border-radius: 4px; }}")
        self._refresh_arrows()
        self._refresh_selection()
        self.fit_thumbnails()  # a heading may have grown a line (the loss value)
        if current and self.widget() is not None:
            self.widget().adjustSize()  # the columns' new sizes before scrolling to one
            self._scroll_to(self.columns[current[0]])

    def _scroll_to(self, column: LayerColumn) -> None:
        """Scroll sideways (only) so that the current column is in view."""
        bar, left = self.horizontalScrollBar(), column.x()
        width = self.viewport().width()
        if left < bar.value() or left + column.width() > bar.value() + width:
            bar.setValue(max(0, left - (width - column.width()) // 2))

    def _refresh_arrows(self) -> None:
        """All arrows point the way the pass travels; the active one is highlighted."""
        rec = self.ctrl.stepper.current
        backward = rec is not None and rec.kind in ("backward", "update")
        active = self._active_arrow(rec)
        for k, arrow in enumerate(self.arrows):
            arrow.setText("←" if backward else "→")
            color = self.colors.accent if k == active else self.colors.dim
            _set_style(arrow, f"color: {color};")

    def _active_arrow(self, rec: StepRecord | None) -> int | None:
        """Index of the arrow the data just crossed (arrow k sits before column k+1)."""
        if rec is None or rec.kind == "update":
            return None
        if rec.kind == "loss":
            return len(self.arrows) - 1
        return rec.layer

    def _refresh_selection(self) -> None:
        """Outline the selected unit and its receptive field on the input and earlier maps."""
        for column in self.columns.values():
            column.thumbs.outlines, column.thumbs.marks = [], []
        sel = self.ctrl.selection
        if sel.layer is not None and sel.unit is not None:
            self.columns[sel.layer].thumbs.marks = [tuple(sel.unit)]
            field = self.ctrl.stepper.receptive_field(sel.layer, tuple(sel.unit))
            for key, region in field.items():
                column = self.columns.get(INPUT if key == "input" else key)
                if column is not None and key != sel.layer:
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


def _set_style(widget: QWidget, style: str) -> None:
    """setStyleSheet only when it changes (restyling is the slowest part of a refresh)."""
    if widget.styleSheet() != style:
        widget.setStyleSheet(style)


def _bold(size: int | None = None) -> QFont:
    """A bold font, optionally of a given point size."""
    font = QFont()
    font.setBold(True)
    if size:
        font.setPointSize(size)
    return font


