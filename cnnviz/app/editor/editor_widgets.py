"""The layer editor's widgets: toolbar, input row, shape table, layer buttons, error line,
fix button and form (a mixin of LayerEditor, which owns the state and the edits)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QMenu, QVBoxLayout

from cnnviz.app.editor import model as em
from cnnviz.app.editor.actions import make_action, menu_button, text_button, widget_rows
from cnnviz.app.editor.block_edits import BlockEdits
from cnnviz.app.editor.form import LayerForm, size_spin
from cnnviz.app.editor.table import LayerTableModel, LayerTableView
from cnnviz.core.presets import describe_preset, preset_names

TABLE_MIN_ROWS = 6  # a short window still shows this many layers; a tall one shows them all


class EditorWidgets:
    """Builds the editor's widgets and wires them to LayerEditor's slots."""

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
        self.model.row_moved.connect(self._on_row_moved)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.setMinimumHeight(TABLE_MIN_ROWS * self.table.row_height() + 4)
        layout.addWidget(self.table, stretch=3)
        layout.addLayout(self._build_layer_buttons())
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setMinimumHeight(2 * self.fontMetrics().lineSpacing() + 8)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.error_label)
        self.blocks = BlockEdits(self)
        layout.addWidget(self.blocks.fix_button)
        self.form = LayerForm(self)
        self.form.type_changed.connect(self._on_type_changed)
        self.form.field_changed.connect(self._on_field_changed)
        self.form.projection_changed.connect(
            lambda on: self.blocks.set_projection(self.selected_path()[0], on))
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
        add_menu.addSeparator()
        block = add_menu.addAction("residual block")
        block.setToolTip("A residual block: conv-BN-ReLU-conv-BN with an identity shortcut; "
                         "select a row inside it to add layers to its body or shortcut")
        block.triggered.connect(lambda _=False: self.blocks.add_block())
        add_menu.setToolTipsVisible(True)
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
