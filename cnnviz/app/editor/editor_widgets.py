"""The layer editor's widgets: toolbar, input row, shape table, layer buttons, error line,
fix button and form, built onto a LayerEditor (which owns the state and the edits) and
wired to its slots."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QMenu, QVBoxLayout, QWidget

from cnnviz.app.editor import model as em
from cnnviz.app.editor.actions import make_action, menu_button, text_button, widget_rows
from cnnviz.app.editor.block_edits import BlockEdits
from cnnviz.app.editor.form import LayerForm, size_spin
from cnnviz.app.editor.table import LayerTableModel, LayerTableView
from cnnviz.core.presets import describe_preset, preset_names

TABLE_MIN_ROWS = 6  # a short window still shows this many layers; a tall one shows them all


def build_widgets(editor: QWidget) -> None:
    """Lay out the toolbar, input row, table, layer buttons, error label and form on
    `editor`, the LayerEditor being built."""
    font = editor.font()
    font.setPointSizeF(max(font.pointSizeF(), 11.0))
    editor.setFont(font)
    layout = QVBoxLayout(editor)
    layout.addLayout(_toolbar(editor))
    layout.addLayout(_input_row(editor))
    editor.model = LayerTableModel(editor)
    editor.table = LayerTableView(editor)
    editor.table.setModel(editor.model)
    editor.model.row_moved.connect(editor._on_row_moved)
    editor.table.selectionModel().selectionChanged.connect(editor._on_selection_changed)
    editor.table.setMinimumHeight(TABLE_MIN_ROWS * editor.table.row_height() + 4)
    layout.addWidget(editor.table, stretch=3)
    layout.addLayout(_layer_buttons(editor))
    editor.error_label = QLabel()
    editor.error_label.setWordWrap(True)
    editor.error_label.setMinimumHeight(2 * editor.fontMetrics().lineSpacing() + 8)
    editor.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    layout.addWidget(editor.error_label)
    editor.blocks = BlockEdits(editor)
    layout.addWidget(editor.blocks.fix_button)
    editor.form = LayerForm(editor)
    editor.form.type_changed.connect(editor._on_type_changed)
    editor.form.field_changed.connect(editor._on_field_changed)
    editor.form.projection_changed.connect(
        lambda on: editor.blocks.set_projection(editor.selected_path()[0], on))
    layout.addWidget(editor.form)

def _toolbar(editor: QWidget) -> QVBoxLayout:
    """Presets, open, save; undo, redo, apply, auto-apply."""
    editor.presets_menu = QMenu("Presets", editor)
    for name in preset_names():
        action = editor.presets_menu.addAction(name)
        action.setToolTip(describe_preset(name))
        action.triggered.connect(lambda _=False, n=name: editor.load_preset(n))
    editor.presets_menu.setToolTipsVisible(True)
    presets = menu_button("Presets ▾", "Presets: replace the network with a ready-made one",
                          editor.presets_menu)
    editor.open_action = make_action(editor, "Open…", editor._on_open_clicked, None,
                                   "Open a spec JSON file")
    editor.save_action = make_action(editor, "Save…", editor._on_save_clicked, None,
                                   "Save the spec as JSON")
    editor.undo_action = make_action(editor, "Undo", editor.undo_stack.undo, "Ctrl+Z",
                                   "Undo the last edit")
    editor.redo_action = make_action(editor, "Redo", editor.undo_stack.redo, "Ctrl+Shift+Z",
                                   "Redo the undone edit")
    editor.undo_action.setEnabled(False)
    editor.redo_action.setEnabled(False)
    editor.undo_stack.canUndoChanged.connect(editor.undo_action.setEnabled)
    editor.undo_stack.canRedoChanged.connect(editor.redo_action.setEnabled)
    editor.apply_action = make_action(editor, "Apply", editor.apply, "Ctrl+Return",
                                    "Rebuild the network from this spec")
    editor.auto_apply = QCheckBox("Auto-apply")
    editor.auto_apply.setChecked(True)
    editor.auto_apply.setToolTip("Auto-apply: rebuild the network after every valid edit")
    editor.auto_apply.toggled.connect(editor._on_auto_apply_changed)
    buttons = [text_button(a) for a in (editor.open_action, editor.save_action,
                                        editor.undo_action, editor.redo_action,
                                        editor.apply_action)]
    return widget_rows([[presets, *buttons, editor.auto_apply]])  # wraps when narrow

def _input_row(editor: QWidget) -> QVBoxLayout:
    """Input shape C × H × W and the loss."""
    editor.input_spins = []
    for axis in ("C (channels)", "H (height)", "W (width)"):
        spin = size_spin(tip=f"Input {axis}")
        spin.valueChanged.connect(editor._on_input_shape_changed)
        editor.input_spins.append(spin)
    editor.loss_combo = QComboBox()
    editor.loss_combo.addItems(em.LOSSES)
    editor.loss_combo.setToolTip("Loss: cross_entropy (softmax + NLL) or mse (½·Σ(ŷ − t)²)")
    editor.loss_combo.currentTextChanged.connect(editor._on_loss_changed)
    return widget_rows([[QLabel("Input"), *editor.input_spins],
                        [QLabel("Loss"), editor.loss_combo]])

def _layer_buttons(editor: QWidget) -> QVBoxLayout:
    """Add (with a type menu), duplicate, remove, move up, move down."""
    add_menu = QMenu(editor)
    for kind in em.LAYER_TYPES:
        add_menu.addAction(kind).triggered.connect(lambda _=False, k=kind: editor.add_layer(k))
    add_menu.addSeparator()
    block = add_menu.addAction("residual block")
    block.setToolTip("A residual block: conv-BN-ReLU-conv-BN with an identity shortcut; "
                     "select a row inside it to add layers to its body or shortcut")
    block.triggered.connect(lambda _=False: editor.blocks.add_block())
    add_menu.setToolTipsVisible(True)
    editor.add_button = menu_button("Add layer ▾", "Add layer: insert a layer after the "
                                  "selected one", add_menu)
    editor.duplicate_action = make_action(editor, "Duplicate", editor.duplicate_layer, "Ctrl+D",
                                        "Duplicate the selected layer")
    editor.remove_action = make_action(editor, "Remove", editor.remove_layer, "Delete",
                                     "Remove the selected layer")
    editor.up_action = make_action(editor, "▲ Up", lambda: editor.move_selected(-1), "Alt+Up",
                                 "Move the selected layer up")
    editor.down_action = make_action(editor, "▼ Down", lambda: editor.move_selected(1),
                                   "Alt+Down", "Move the selected layer down")
    buttons = [text_button(a) for a in (editor.duplicate_action, editor.remove_action,
                                        editor.up_action, editor.down_action)]
    return widget_rows([[editor.add_button, *buttons]])
