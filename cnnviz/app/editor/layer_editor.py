"""The layer editor (the `editor` dock): build a network, see its shapes live, apply it.

Edits change a *draft* spec through undoable commands (QUndoStack snapshots of the spec
dict). A valid draft is applied to the controller (auto-apply, or the Apply button); an
invalid one marks its row red with the SpecError message while the app keeps running the
last valid network. Rebuilding asks first when it would discard trained weights.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.editor import model as em
from cnnviz.app.editor.actions import (
    SpecCommand,
    ask_spec_path,
    confirm_rebuild,
    make_action,
    menu_button,
    scroll_into_view,
    text_button,
    widget_rows,
    write_json_atomic,
)
from cnnviz.app.editor.form import LayerForm, size_spin
from cnnviz.app.editor.table import LayerTableModel, LayerTableView, error_colors
from cnnviz.core.presets import describe_preset, get_preset, preset_names
from cnnviz.core.spec import SpecError, parse_spec

TABLE_MIN_ROWS = 6  # a short window still shows this many layers; a tall one shows them all


class LayerEditor(QWidget):
    """Edit the network spec: layers, fields, input shape and loss, with a live shape table."""

    draft_changed = Signal()

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.undo_stack = QUndoStack(self)
        self._draft: dict = controller.spec.to_dict()
        self._validation = em.validate(self._draft)
        self._preset: str | None = controller.preset_name
        self._build()
        self._refresh(select=0)
        controller.spec_changed.connect(self._on_spec_changed)
        controller.busy_changed.connect(self._on_busy_changed)

    # ----- construction ------------------------------------------------------------------
    def _build(self) -> None:
        """Lay out the toolbar, input row, table, layer buttons, error label and form."""
        font = self.font()
        font.setPointSizeF(max(font.pointSizeF(), 11.0))
        self.setFont(font)
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_toolbar())
        layout.addLayout(self._build_input_row())
        self.model = LayerTableModel(self)
        self.table = LayerTableView(self)
        self.table.setModel(self.model)
        self.model.row_moved.connect(self.move_layer)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.setMinimumHeight(TABLE_MIN_ROWS * self.table.row_height() + 4)
        layout.addWidget(self.table, stretch=3)
        layout.addLayout(self._build_layer_buttons())
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setMinimumHeight(2 * self.fontMetrics().lineSpacing() + 8)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error_label)
        self.form = LayerForm(self)
        self.form.type_changed.connect(self._on_type_changed)
        self.form.field_changed.connect(self._on_field_changed)
        layout.addWidget(self.form)

    def _build_toolbar(self) -> QVBoxLayout:
        """Presets, open, save; undo, redo, apply, auto-apply."""
        self.presets_menu = QMenu("Presets", self)
        for name in preset_names():
            action = self.presets_menu.addAction(name)
            action.setToolTip(describe_preset(name))
            action.triggered.connect(lambda _=False, n=name: self.load_preset(n))
        self.presets_menu.setToolTipsVisible(True)
        presets = menu_button("Presets ▾", "Presets: replace the network with a ready-made one",
                              self.presets_menu)
        self.open_action = make_action(self, "Open…", self._on_open_clicked, None,
                                       "Open a spec JSON file")
        self.save_action = make_action(self, "Save…", self._on_save_clicked, None,
                                       "Save the spec as JSON")
        self.undo_action = make_action(self, "Undo", self.undo_stack.undo, "Ctrl+Z",
                                       "Undo the last edit")
        self.redo_action = make_action(self, "Redo", self.undo_stack.redo, "Ctrl+Shift+Z",
                                       "Redo the undone edit")
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.apply_action = make_action(self, "Apply", self.apply, "Ctrl+Return",
                                        "Rebuild the network from this spec")
        self.auto_apply = QCheckBox("Auto-apply")
        self.auto_apply.setChecked(True)
        self.auto_apply.setToolTip("Auto-apply: rebuild the network after every valid edit")
        self.auto_apply.toggled.connect(self._on_auto_apply_changed)
        buttons = [text_button(a) for a in (self.open_action, self.save_action,
                                            self.undo_action, self.redo_action,
                                            self.apply_action)]
        return widget_rows([[presets, *buttons, self.auto_apply]])  # wraps when narrow

    def _build_input_row(self) -> QVBoxLayout:
        """Input shape C × H × W and the loss."""
        self.input_spins = []
        for axis in ("C (channels)", "H (height)", "W (width)"):
            spin = size_spin(tip=f"Input {axis}")
            spin.valueChanged.connect(self._on_input_shape_changed)
            self.input_spins.append(spin)
        self.loss_combo = QComboBox()
        self.loss_combo.addItems(em.LOSSES)
        self.loss_combo.setToolTip("Loss: cross_entropy (softmax + NLL) or mse (½·Σ(ŷ − t)²)")
        self.loss_combo.currentTextChanged.connect(self._on_loss_changed)
        return widget_rows([[QLabel("Input"), *self.input_spins],
                            [QLabel("Loss"), self.loss_combo]])

    def _build_layer_buttons(self) -> QVBoxLayout:
        """Add (with a type menu), duplicate, remove, move up, move down."""
        add_menu = QMenu(self)
        for kind in em.LAYER_TYPES:
            add_menu.addAction(kind).triggered.connect(lambda _=False, k=kind: self.add_layer(k))
        self.add_button = menu_button("Add layer ▾", "Add layer: insert a layer after the "
                                      "selected one", add_menu)
        self.duplicate_action = make_action(self, "Duplicate", self.duplicate_layer, "Ctrl+D",
                                            "Duplicate the selected layer")
        self.remove_action = make_action(self, "Remove", self.remove_layer, "Delete",
                                         "Remove the selected layer")
        self.up_action = make_action(self, "▲ Up", lambda: self.move_selected(-1), "Alt+Up",
                                     "Move the selected layer up")
        self.down_action = make_action(self, "▼ Down", lambda: self.move_selected(1),
                                       "Alt+Down", "Move the selected layer down")
        buttons = [text_button(a) for a in (self.duplicate_action, self.remove_action,
                                            self.up_action, self.down_action)]
        return widget_rows([[self.add_button, *buttons]])

    # ----- public edits (each one undoable) ------------------------------------------------
    def spec_dict(self) -> dict:
        """A copy of the draft spec being edited."""
        return copy.deepcopy(self._draft)

    @property
    def validation(self) -> em.Validation:
        """The draft's validation: parsed spec or the error and its row."""
        return self._validation

    def selected_row(self) -> int | None:
        """The selected layer index, or None."""
        return self.table.selected_row()

    def edit(self, after: dict, text: str, merge_key: tuple | None = None,
             select: int | None = None, preset: str | None = None) -> None:
        """Push an undoable change of the draft, then auto-apply it if valid."""
        if after == self._draft:
            return
        self._preset = preset
        self.undo_stack.push(SpecCommand(self._set_draft, copy.deepcopy(self._draft), after, text,
                                         merge_key))
        if select is not None:
            self.table.select_row(select)

    def add_layer(self, layer_type: str, index: int | None = None) -> None:
        """Insert a layer after the selected one (or at index)."""
        if index is None:
            row = self.selected_row()
            index = len(self._draft["layers"]) if row is None else row + 1
        self.edit(em.add_layer(self._draft, index, layer_type), f"Add {layer_type}",
                  select=index)

    def remove_layer(self, index: int | None = None) -> None:
        """Remove the selected layer (or the one at index)."""
        index = self.selected_row() if index is None else index
        if index is None or not 0 <= index < len(self._draft["layers"]):
            return
        count = len(self._draft["layers"])
        self.edit(em.remove_layer(self._draft, index), f"Remove layer {index}",
                  select=min(index, count - 2) if count > 1 else None)

    def duplicate_layer(self, index: int | None = None) -> None:
        """Duplicate the selected layer (or the one at index)."""
        index = self.selected_row() if index is None else index
        if index is not None:
            self.edit(em.duplicate_layer(self._draft, index), f"Duplicate layer {index}",
                      select=index + 1)

    def move_layer(self, src: int, dst: int) -> None:
        """Move a layer from src to dst (drag and drop, buttons, Alt+Up/Down)."""
        count = len(self._draft["layers"])
        if src == dst or not (0 <= src < count and 0 <= dst < count):
            return
        self.edit(em.move_layer(self._draft, src, dst), f"Move layer {src} to {dst}", select=dst)

    def move_selected(self, delta: int) -> None:
        """Move the selected layer up (-1) or down (+1)."""
        row = self.selected_row()
        if row is not None:
            self.move_layer(row, row + delta)

    def set_layer_field(self, index: int, name: str, value: object) -> None:
        """Set one field of a layer."""
        self.edit(em.set_field(self._draft, index, name, value), f"Set {name} of layer {index}",
                  merge_key=("field", index, name))

    def set_layer_type(self, index: int, layer_type: str) -> None:
        """Change a layer's type."""
        self.edit(em.set_layer_type(self._draft, index, layer_type),
                  f"Make layer {index} {layer_type}")

    def load_preset(self, name: str) -> None:
        """Replace the draft by a preset (undoable)."""
        self.edit(get_preset(name), f"Preset {name}", select=0, preset=name)

    # ----- file I/O --------------------------------------------------------------------------
    def open_spec(self, path: str | os.PathLike) -> bool:
        """Load a spec JSON file into the draft; a bad file shows its error and changes nothing."""
        try:
            spec = parse_spec(Path(path))
        except (SpecError, OSError) as error:
            self._report("Cannot open spec", f"{path}: {error}")
            return False
        self.edit(spec.to_dict(), f"Open {Path(path).name}", select=0)
        return True

    def save_spec(self, path: str | os.PathLike) -> bool:
        """Write the draft as JSON, atomically (temp file + os.replace); only a valid draft."""
        if not self._validation.ok:
            self._report("Cannot save spec", f"fix the error first: {self._validation.error}")
            return False
        target = Path(path)
        try:
            write_json_atomic(target, self._validation.spec.to_dict())
        except OSError as error:
            self._report("Cannot save spec", f"{target}: {error}")
            return False
        self.controller.status_changed.emit(f"Spec saved to {target}")
        return True

    def _report(self, title: str, message: str) -> None:
        """Errors go to the window's error dialog (controller.error_raised)."""
        self.controller.error_raised.emit(title, message)

    def _on_open_clicked(self) -> None:
        """File dialog, then open_spec."""
        path = ask_spec_path(self, save=False)
        if path:
            self.open_spec(path)

    def _on_save_clicked(self) -> None:
        """File dialog, then save_spec."""
        path = ask_spec_path(self, save=True)
        if path:
            self.save_spec(path)

    # ----- applying ----------------------------------------------------------------------
    def is_applied(self) -> bool:
        """True when the controller runs exactly the draft."""
        ok = self._validation.ok
        return ok and self._validation.spec.to_dict() == self.controller.spec.to_dict()

    def apply(self) -> bool:
        """Rebuild the network from the draft; asks first if trained weights would be lost."""
        if not self._validation.ok or self.is_applied():
            return self.is_applied()
        if self.controller.busy:
            self.controller.status_changed.emit("Training is running: apply the edit later.")
            return False
        lost = em.discarded_params(self.controller.spec, self._validation.spec)
        if lost and self.controller.has_trained_weights() and not confirm_rebuild(self, lost):
            self.auto_apply.setChecked(False)
            self._refresh_status()
            return False
        return self.controller.set_spec(self._validation.spec.to_dict(), keep_weights=True,
                                        preset_name=self._preset)

    def _maybe_apply(self) -> None:
        """Auto-apply a valid draft that differs from the running network."""
        if self.auto_apply.isChecked() and self._validation.ok and not self.is_applied():
            self.apply()
        self._refresh_status()

    # ----- state and display -------------------------------------------------------------
    def _set_draft(self, draft: dict) -> None:
        """Show a new draft (called by the undo commands)."""
        self._draft = copy.deepcopy(draft)
        self._validation = em.validate(self._draft)
        self._refresh()
        self.draft_changed.emit()
        self._maybe_apply()
        if not self._validation.ok:  # in a short dock, scroll the message into view
            QTimer.singleShot(0, self, lambda: scroll_into_view(self, self.error_label))

    def _refresh(self, select: int | None = None) -> None:
        """Redraw the table, the input row, the form and the error label from the draft."""
        row = self.selected_row() if select is None else select
        layers = self._draft.get("layers", [])
        self.model.set_state(layers, self._validation, self.palette())
        self.table.select_row(min(row, len(layers) - 1) if row is not None else None)
        shape = self._draft.get("input", [1, 1, 1])
        for spin, value in zip(self.input_spins, shape, strict=False):
            spin.blockSignals(True)
            spin.setValue(int(value) if isinstance(value, int) else 1)
            spin.blockSignals(False)
        self.loss_combo.blockSignals(True)
        self.loss_combo.setCurrentText(str(self._draft.get("loss", "cross_entropy")))
        self.loss_combo.blockSignals(False)
        self._load_form()
        self._refresh_status()

    def _load_form(self) -> None:
        """Show the selected layer's fields."""
        row = self.selected_row()
        layers = self._draft.get("layers", [])
        self.form.load(row, layers[row] if row is not None and row < len(layers) else None)

    def _refresh_status(self) -> None:
        """The error (red) or the pending/total-parameters line under the table."""
        v, applied = self._validation, self.is_applied()
        style = f"padding: 6px; font-size: {self.font().pointSizeF():g}pt"
        if not v.ok:
            back, fore = error_colors(self.palette())
            style += f"; background: {back.name()}; color: {fore.name()}; font-weight: bold"
        self.error_label.setStyleSheet(style)
        self.error_label.setText(em.status_text(v, applied))
        self.apply_action.setEnabled(v.ok and not applied)

    # ----- slots -------------------------------------------------------------------------
    def _on_selection_changed(self, *_args: object) -> None:
        """Another row was selected: show its form."""
        self._load_form()

    def _on_type_changed(self, kind: str) -> None:
        """The form's type combo changed."""
        row = self.selected_row()
        if row is not None:
            self.set_layer_type(row, kind)

    def _on_field_changed(self, name: str, value: object) -> None:
        """A form field changed."""
        row = self.selected_row()
        if row is not None:
            self.set_layer_field(row, name, value)

    def _on_input_shape_changed(self, _value: int) -> None:
        """One of the input spin boxes changed."""
        shape = tuple(spin.value() for spin in self.input_spins)
        self.edit(em.set_input_shape(self._draft, shape), "Set input shape",
                  merge_key=("input",))

    def _on_loss_changed(self, loss: str) -> None:
        """The loss combo changed."""
        self.edit(em.set_loss(self._draft, loss), f"Loss {loss}")

    def _on_auto_apply_changed(self, checked: bool) -> None:
        """Turning auto-apply on applies a pending valid draft."""
        if checked:
            self._maybe_apply()

    def _on_spec_changed(self) -> None:
        """The controller's spec changed: adopt it unless it is our own draft."""
        if self.is_applied():
            self._refresh_status()
            return
        self.undo_stack.clear()
        self._preset = self.controller.preset_name
        self._draft = self.controller.spec.to_dict()
        self._validation = em.validate(self._draft)
        self._refresh(select=self.selected_row())
        self.draft_changed.emit()

    def changeEvent(self, event: QEvent) -> None:
        """A theme switch recolours the error row and line."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "model"):
            self._refresh()

    def _on_busy_changed(self, busy: bool) -> None:
        """No edits while training runs."""
        self.setEnabled(not busy)
