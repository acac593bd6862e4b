"""The layer editor's field widgets: a form for the selected layer, a fitting widget per field."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from cnnviz.app.editor.model import (
    FIELD_LABELS,
    FIELD_MINIMUM,
    FIELDS,
    FLOAT_RANGE,
    FLOAT_TIPS,
    LAYER_TYPES,
    compact_pair,
    pair,
)

MAX_SIZE = 4096


def size_spin(minimum: int = 1, maximum: int = MAX_SIZE, tip: str = "") -> QSpinBox:
    """A spin box for a size: emits only when the user finishes typing or clicks an arrow."""
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    spin.setToolTip(tip)
    spin.setMinimumWidth(64)
    return spin


class PairEditor(QWidget):
    """An [h, w] editor: two spin boxes; a square pair is stored as one int."""

    value_changed = Signal(object)

    def __init__(self, minimum: int = 1, tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.h = size_spin(minimum, tip=f"{tip}: height")
        self.w = size_spin(minimum, tip=f"{tip}: width")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.h)
        layout.addWidget(QLabel("×"))
        layout.addWidget(self.w)
        self.h.valueChanged.connect(self._on_spin_changed)
        self.w.valueChanged.connect(self._on_spin_changed)

    def value(self) -> int | list[int]:
        """The pair in spec form."""
        return compact_pair(self.h.value(), self.w.value())

    def set_value(self, value: object) -> None:
        """Show a pair without emitting value_changed."""
        h, w = pair(value)
        for spin, number in ((self.h, h), (self.w, w)):
            spin.blockSignals(True)
            spin.setValue(number)
            spin.blockSignals(False)

    def _on_spin_changed(self, _value: int) -> None:
        """One of the two numbers changed."""
        self.value_changed.emit(self.value())


class LayerForm(QWidget):
    """Type and fields of one layer; edits are reported, never applied here."""

    type_changed = Signal(str)
    field_changed = Signal(str, object)   # (field name, new value)
    projection_changed = Signal(bool)     # a block's shortcut: 1×1 projection or identity

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.title = QLabel("No layer selected")
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        self.type_combo = QComboBox()
        self.type_combo.addItems(LAYER_TYPES)
        self.type_combo.setToolTip("Layer type: changing it keeps the fields both types share")
        self.type_combo.currentTextChanged.connect(self._on_type_changed)
        self.layout_.addRow(self.title)
        self.layout_.addRow("Type", self.type_combo)
        self.fields: dict[str, QWidget] = {}
        self._type: str | None = None
        self.setEnabled(False)

    def load(self, index: int | str | None, layer: dict | None, empty: str = "") -> None:
        """Show a layer's values; rebuilds the field widgets only when its type changed."""
        if layer is None or index is None:
            self.title.setText(empty or "No layer selected")
            self.setEnabled(False)
            return
        self.setEnabled(True)
        kind = str(layer.get("type", ""))
        self.title.setText(f"Layer {index}: {kind}")
        self.type_combo.setEnabled(kind != "residual")
        if kind == "residual":
            self._load_block(layer)
            return
        self.type_combo.blockSignals(True)
        self.type_combo.setCurrentText(kind)
        self.type_combo.blockSignals(False)
        if kind != self._type:
            self._build(kind)
        for name, widget in self.fields.items():
            self._show(widget, layer.get(name))

    def _load_block(self, layer: dict) -> None:
        """A block's row: the shortcut switch (its layers are rows of their own)."""
        if self._type != "residual":
            self._build("residual")
            box = QCheckBox("1×1 projection shortcut")
            box.setToolTip("On: the shortcut is a 1×1 convolution that maps the block's input to "
                           "the body's shape (needed when the body changes channels or "
                           "stride). Off: the identity, x unchanged")
            box.toggled.connect(self.projection_changed.emit)
            self.fields["projection"] = box
            self.layout_.addRow("Shortcut", box)
        short = layer.get("shortcut", "identity")
        box = self.fields["projection"]
        box.blockSignals(True)
        box.setChecked(isinstance(short, list) and bool(short))
        box.blockSignals(False)

    def _build(self, kind: str) -> None:
        """Replace the field rows with those of a layer type."""
        while self.layout_.rowCount() > 2:
            self.layout_.removeRow(2)
        self.fields = {}
        self._type = kind
        for name, field_kind in FIELDS.get(kind, []):
            widget = self._make(name, field_kind)
            self.fields[name] = widget
            self.layout_.addRow(FIELD_LABELS[name], widget)

    def _make(self, name: str, kind: str) -> QWidget:
        """A fitting widget for a field kind, wired to field_changed."""
        label = FIELD_LABELS[name]
        if kind == "pair":
            widget = PairEditor(FIELD_MINIMUM.get(name, 1), tip=label)
            widget.value_changed.connect(lambda v, n=name: self.field_changed.emit(n, v))
            return widget
        if kind == "float":
            low, high, decimals, step = FLOAT_RANGE[name]
            spin = QDoubleSpinBox()
            spin.setDecimals(decimals)
            spin.setRange(low, high)
            spin.setSingleStep(step)
            spin.setKeyboardTracking(False)
            spin.setToolTip(f"{label} ({FLOAT_TIPS[name]})")
            spin.valueChanged.connect(lambda v, n=name: self.field_changed.emit(n, float(v)))
            return spin
        spin = size_spin(FIELD_MINIMUM.get(name, 1), tip=label)
        spin.valueChanged.connect(lambda v, n=name: self.field_changed.emit(n, int(v)))
        return spin

    @staticmethod
    def _show(widget: QWidget, value: object) -> None:
        """Put a value into a field widget without emitting."""
        if isinstance(widget, PairEditor):
            widget.set_value(value)
            return
        widget.blockSignals(True)
        if isinstance(widget, QDoubleSpinBox) and isinstance(value, (int, float)):
            widget.setValue(float(value))
        elif isinstance(widget, QSpinBox) and isinstance(value, int):
            widget.setValue(value)
        widget.blockSignals(False)

    def _on_type_changed(self, kind: str) -> None:
        """The user picked another type."""
        self.type_changed.emit(kind)
