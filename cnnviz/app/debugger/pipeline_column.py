"""One column of the pipeline: breakpoint markers, title, shape, maps and their range.

The input column draws a colour (3-channel) input as one RGB image — its numbers are the
colours, R, G, B in [0, 1], whatever the colour scale — with an *RGB* box to show one map
per channel instead; its δ (once the backward pass reaches the input) is per channel."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.debugger.color_scales import Content, Levels, display_of
from cnnviz.app.debugger.pipeline_content import (
    INPUT,
    LOSS,
    Key,
    inner_ref,
    object_name,
    step_names_of,
)
from cnnviz.app.debugger.targets import target_of_key
from cnnviz.app.widgets.mapview import ThumbGrid, same_data
from cnnviz.app.widgets.theme import Colors


class ColumnHost(Protocol):
    """What a column needs of the panel it sits in: the controller, and whether a colour
    input is drawn as one RGB image (the input column's box sets it)."""

    ctrl: AppController
    input_rgb: bool

    def set_input_rgb(self, on: bool) -> None: ...


class LayerColumn(QFrame):
    """One column: breakpoint markers, title, shape, maps and their range."""

    def __init__(self, pipeline: ColumnHost, key: Key, title: str,
                 shape: tuple[int, ...], compact: bool = False) -> None:
        super().__init__()
        self.pipeline, self.key, self.shape = pipeline, key, tuple(shape)
        self.block = inner_ref(key).layer if inner_ref(key) is not None else None
        self.share = 1.0  # the part of the panel's height its maps may take (lanes: less)
        self.mode = ""
        self.source: np.ndarray | None = None  # the record array behind the thumbnails
        self._drawn: tuple = ("column", None)
        self.setObjectName(object_name(key))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(3)
        self.gutter = self._gutter()  # the overview stacks compact columns' markers
        if not compact:
            layout.addLayout(self.gutter)
        self.title = QLabel(title)
        self.title.setFont(bold_font())
        self.shape_label = QLabel("×".join(str(s) for s in shape))
        self.shape_label.setObjectName("shape")
        self.mode_label = QLabel("")
        self.thumbs = ThumbGrid(shape)
        if compact:  # a block's lane: half the height, so wider and flatter
            self.thumbs.set_columns(8 if self.thumbs.stack_shape[0] > 16 else 4)
        self.thumbs.unit_clicked.connect(self._on_unit_clicked)
        self.heading = heading = QHBoxLayout()
        heading.addStretch(1)
        for widget in (self.title, self.shape_label):
            heading.addWidget(widget)
        heading.addStretch(1)
        self.gutter_inline = compact  # the breakpoint markers beside the title: one line less
        self.gutter_above = False  # … unless set_gutter_above moved them
        if compact:
            heading.insertLayout(0, self.gutter)
        layout.addLayout(heading)
        self.mode_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.mode_label)
        self.rgb_box = self._rgb_box() if key == INPUT and self.shape[:1] == (3,) else None
        if self.rgb_box is not None:
            layout.addWidget(self.rgb_box, 0, Qt.AlignmentFlag.AlignHCenter)
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

    def set_gutter_above(self, above: bool) -> None:
        """A block lane's column: its breakpoint markers on a line of their own above the
        title (the presentation overview's enlarged column: narrower), or beside it."""
        if not self.gutter_inline or above == self.gutter_above:
            return
        source, target = (self.heading, self.layout()) if above else (self.layout(),
                                                                       self.heading)
        source.removeItem(self.gutter)
        target.insertLayout(0, self.gutter)
        self.gutter_above = above

    def _rgb_box(self) -> QCheckBox:
        """The input column's switch: one colour image, or a map per channel R, G, B."""
        box = QCheckBox("RGB")
        box.setObjectName("pipeline_input_rgb")
        box.setChecked(self.pipeline.input_rgb)
        box.setToolTip("The input as one colour image (R, G, B in [0, 1], drawn as they are); "
                       "off: one map per colour channel, on the column's colour scale")
        box.toggled.connect(self.pipeline.set_input_rgb)
        return box

    def step_names(self) -> list[str]:
        """The steps this column stands for."""
        return step_names_of(self.key)

    def refresh(self, ctrl: AppController, colors: Colors, content: Content,
                scale: str = "column", shared: dict | None = None) -> None:
        """Show the current content (under a colour scale) and the breakpoint state."""
        array, self.mode, signed = content
        rgb = self._shows_rgb(array)
        shown, shown_signed, levels = (array, False, None) if rgb else \
            display_of(content, scale, shared or {})
        drawn = (scale, levels, rgb)
        if not same_data(array, self.source) or drawn != self._drawn:
            self.source, self._drawn = array, drawn
            self.thumbs.set_rgb(rgb)
            self.thumbs.set_array(shown, shown_signed, levels)
        self.thumbs.outline_color = colors.outline
        self.mode_label.setText(self._mode_text(ctrl, array, scale, levels))
        for name, button in self.markers.items():
            on = name in ctrl.stepper.breakpoints
            button.setChecked(on)
            button.setText(("● " if on else "○ ") + name)
            set_style(button, f"color: {colors.breakpoint if on else colors.dim};"
                               "font-weight: bold; border: none;")

    def _shows_rgb(self, array: np.ndarray | None) -> bool:
        """True when the column draws one colour image: the input column, a colour input
        (not its δ), the RGB box ticked."""
        if self.rgb_box is None:
            return False
        self.rgb_box.setEnabled(self.mode == "input")
        if self.rgb_box.isChecked() != self.pipeline.input_rgb:
            self.rgb_box.blockSignals(True)
            self.rgb_box.setChecked(self.pipeline.input_rgb)
            self.rgb_box.blockSignals(False)
        return self.pipeline.input_rgb and self.mode == "input" and array is not None \
            and array.ndim == 3 and array.shape[0] == 3

    def _mode_text(self, ctrl: AppController, array: np.ndarray | None, scale: str,
                   levels: Levels | None) -> str:
        """What the column shows and its range (the shared range under a shared scale)."""
        if self.thumbs.rgb and array is not None:  # the colours are the numbers: no scale
            return f"input x, RGB  [{np.nanmin(array):.3g}, {np.nanmax(array):.3g}]"
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
        """Select the clicked unit (and so its layer) everywhere — inside a block, the unit
        of that inner layer; the input and loss columns clear the selection (their cells
        are no layer's units)."""
        target = target_of_key(self.key)
        if target is None:
            self.pipeline.ctrl.select_layer(None)
        else:
            self.pipeline.ctrl.select_unit(target.layer, unit, target.inner)

    def mousePressEvent(self, event) -> None:
        """A click on the column (outside the maps) selects its layer (or inner layer)."""
        target = target_of_key(self.key)
        if event.button() == Qt.MouseButton.LeftButton and target is not None:
            self.pipeline.ctrl.select_layer(target.layer, target.inner)
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



def set_style(widget: QWidget, style: str) -> None:
    """setStyleSheet only when it changes (restyling is the slowest part of a refresh)."""
    if widget.styleSheet() != style:
        widget.setStyleSheet(style)


def bold_font(size: int | None = None) -> QFont:
    """A bold font, optionally of a given point size."""
    font = QFont()
    font.setBold(True)
    if size:
        font.setPointSize(size)
    return font


