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

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QWidget,
)

from cnnviz.app.controller import AppController
from cnnviz.app.editor import blocks
from cnnviz.app.editor import model as em
from cnnviz.app.editor.actions import (
    SpecCommand,
    ask_spec_path,
    confirm_rebuild,
    scroll_into_view,
    write_json_atomic,
)
from cnnviz.app.editor.editor_widgets import build_widgets
from cnnviz.app.editor.table import error_colors
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import SpecError, parse_spec


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
        build_widgets(self)
        self._refresh(select=0)
        controller.spec_changed.connect(self._on_spec_changed)
        controller.busy_changed.connect(self._on_busy_changed)

    # ----- public edits (each one undoable) ------------------------------------------------
    def spec_dict(self) -> dict:
        """A copy of the draft spec being edited."""
        return copy.deepcopy(self._draft)

    @property
    def validation(self) -> em.Validation:
        """The draft's validation: parsed spec or the error and its row."""
        return self._validation

    def selected_row(self) -> int | None:
        """The selected table row, or None (the layer index when the network has no blocks)."""
        return self.table.selected_row()

    def selected_path(self) -> blocks.Path | None:
        """The selected row's path: (i,), (i, "body", j), (i, "shortcut", j or None)."""
        row = self.selected_row()
        return None if row is None or row >= len(self.model.paths) else self.model.paths[row]

    def row_of(self, where: int | blocks.Path) -> int | None:
        """The table row of a top-level index or a path (None if it has none)."""
        path = (where,) if isinstance(where, int) else tuple(where)
        return self.model.paths.index(path) if path in self.model.paths else None

    def edit(self, after: dict, text: str, merge_key: tuple | None = None,
             select: int | blocks.Path | None = None, preset: str | None = None) -> None:
        """Push an undoable change of the draft, then auto-apply it if valid."""
        if after == self._draft:
            return
        self._preset = preset
        self.undo_stack.push(SpecCommand(self._set_draft, copy.deepcopy(self._draft), after, text,
                                         merge_key))
        if select is not None:
            self.table.select_row(self.row_of(select))

    def add_layer(self, layer_type: str, index: int | None = None) -> None:
        """Insert a layer after the selected one (inside a block's branch when a row of the
        block's body or shortcut is selected), or at index."""
        path = self.selected_path() if index is None else None
        if path is not None and len(path) == 3:
            self.blocks.add_inner(path, layer_type)
            return
        if index is None:
            index = len(self._draft["layers"]) if path is None else path[0] + 1
        self.edit(em.add_layer(self._draft, index, layer_type), f"Add {layer_type}",
                  select=index)

    def remove_layer(self, index: int | None = None) -> None:
        """Remove the selected layer (or the one at index); inside a block, from its branch."""
        path = self.selected_path() if index is None else None
        if path is not None and len(path) == 3:
            self.blocks.remove_inner(path)
            return
        index = path[0] if path is not None else index
        if index is None or not 0 <= index < len(self._draft["layers"]):
            return
        count = len(self._draft["layers"])
        self.edit(em.remove_layer(self._draft, index), f"Remove layer {index}",
                  select=min(index, count - 2) if count > 1 else None)

    def duplicate_layer(self, index: int | None = None) -> None:
        """Duplicate the selected layer (or the one at index)."""
        path = self.selected_path() if index is None else None
        if path is not None and len(path) == 3:
            self.blocks.duplicate_inner(path)
            return
        index = path[0] if path is not None else index
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
        """Move the selected layer up (-1) or down (+1) (inside its branch for a block's)."""
        path = self.selected_path()
        if path is not None and len(path) == 3:
            self.blocks.move_inner(path, delta)
        elif path is not None:
            self.move_layer(path[0], path[0] + delta)

    def _on_row_moved(self, src: int, dst: int) -> None:
        """A dragged row: a top-level layer moves among layers, an inner one in its branch."""
        count = len(self.model.paths)
        if not (0 <= src < count and 0 <= dst < count):
            return
        a, b = self.model.paths[src], self.model.paths[dst]
        if len(a) == 3 and a[:2] == b[:2] and a[2] is not None and b[2] is not None:
            self.blocks.move_inner(a, b[2] - a[2])
        elif len(a) == 1:
            self.move_layer(a[0], b[0])

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
        self.model.set_state(self._draft, self._validation, self.palette())
        count = len(self.model.paths)
        self.table.select_row(min(row, count - 1) if row is not None else None)
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
        """Show the selected layer's fields (a block's row: its shortcut switch)."""
        path = self.selected_path()
        if path is None:
            self.form.load(None, None)
            return
        empty = (f"Block {path[0]}: identity shortcut — Add layer puts a layer on it, or tick "
                 "'1×1 projection shortcut' on the block's row")
        self.form.load(blocks.label(path), blocks.layer_at(self._draft, path), empty)

    def _refresh_status(self) -> None:
        """The error (red) or the pending/total-parameters line under the table."""
        v, applied = self._validation, self.is_applied()
        style = f"padding: 6px; font-size: {self.font().pointSizeF():g}pt"
        if not v.ok:
            back, fore = error_colors(self.palette())
            style += f"; background: {back.name()}; color: {fore.name()}; font-weight: bold"
        self.error_label.setStyleSheet(style)
        self.error_label.setText(em.status_text(v, applied))
        self.blocks.refresh_fix(v)
        self.apply_action.setEnabled(v.ok and not applied)

    # ----- slots -------------------------------------------------------------------------
    def _on_selection_changed(self, *_args: object) -> None:
        """Another row was selected: show its form."""
        self._load_form()

    def _on_type_changed(self, kind: str) -> None:
        """The form's type combo changed."""
        path = self.selected_path()
        if path is not None and len(path) == 3:
            self.blocks.set_inner_type(path, kind)
        elif path is not None:
            self.set_layer_type(path[0], kind)

    def _on_field_changed(self, name: str, value: object) -> None:
        """A form field changed."""
        path = self.selected_path()
        if path is not None and len(path) == 3:
            self.blocks.set_inner_field(path, name, value)
        elif path is not None:
            self.set_layer_field(path[0], name, value)

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
