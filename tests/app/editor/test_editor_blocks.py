"""The layer editor with residual blocks, driven through its widgets: add a block, edit its
body and shortcut, the 1×1 projection switch, the inline error and its fix, undo/redo."""

from __future__ import annotations

import pytest
from gui_helpers import shown
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox

from cnnviz.app.controller import AppController
from cnnviz.app.editor.layer_editor import LayerEditor


@pytest.fixture
def editor(qtbot):
    widget = LayerEditor(AppController("square", user_weights=False))
    shown(qtbot, widget, 1000, 900)
    return widget


def _trigger(editor: LayerEditor, text: str) -> None:
    menu = editor.add_button.menu()
    next(a for a in menu.actions() if a.text() == text).trigger()


def _cell(editor: LayerEditor, row: int, column: int) -> str:
    return editor.model.data(editor.model.index(row, column))


def test_build_a_block_through_the_widgets_then_undo_it(editor, qtbot):
    ctrl, before = editor.controller, editor.spec_dict()
    editor.table.select_row(0)  # the conv (1 map 5×5)
    _trigger(editor, "residual block")
    assert ctrl.spec.layers[1].type == "residual"  # auto-applied
    assert _cell(editor, 1, 0) == "1" and "residual block" in _cell(editor, 1, 1)
    assert _cell(editor, 2, 0) == "1.0" and "body: conv2d 1 @ 3×3" in _cell(editor, 2, 1)
    assert _cell(editor, 7, 0) == "1.s" and "identity" in _cell(editor, 7, 1)
    editor.table.select_row(3)  # body.1, the batch norm
    _trigger(editor, "dropout")
    assert editor.selected_path() == (1, "body", 2)
    assert [layer.type for layer in ctrl.spec.layers[1].body][2] == "dropout"
    editor.form.fields["p"].setValue(0.25)
    assert ctrl.spec.layers[1].body[2].config["p"] == 0.25
    editor.remove_action.trigger()
    assert len(ctrl.spec.layers[1].body) == 5
    editor.table.select_row(editor.row_of((1, "shortcut", None)))
    _trigger(editor, "batchnorm2d")  # a layer on the identity path
    assert ctrl.spec.layers[1].shortcut[0].type == "batchnorm2d"
    while editor.undo_stack.canUndo():
        editor.undo_action.trigger()
    assert editor.spec_dict() == before and ctrl.spec.to_dict() == before
    editor.redo_action.trigger()
    assert ctrl.spec.layers[1].type == "residual"


def test_projection_switch_and_the_inline_branch_error_with_its_fix(editor, qtbot):
    ctrl = editor.controller
    editor.blocks.add_block(1)
    editor.table.select_row(editor.row_of((1,)))
    box = editor.form.fields["projection"]
    assert isinstance(box, QCheckBox) and not box.isChecked()
    box.setChecked(True)  # identity → 1×1 projection
    assert [s.type for s in ctrl.spec.layers[1].shortcut] == ["conv2d"]
    assert ctrl.spec.layers[1].shortcut[0].config["kernel_size"] == (1, 1)
    assert "projection" in _cell(editor, 1, 1)
    box.setChecked(False)  # and back
    assert ctrl.spec.layers[1].shortcut == ()
    # widen the body's last conv: the branches differ, the error is inline
    editor.table.select_row(editor.row_of((1, "body", 3)))
    editor.form.fields["out_channels"].setValue(7)
    v = editor.validation
    assert not v.ok and "1×1 projection" in v.error and "⚠" in editor.error_label.text()
    bad = editor.row_of((1,))
    assert editor.model.is_bad(bad) and _cell(editor, bad, 0) == "⚠ 1"
    assert editor.model.data(editor.model.index(bad, 1), Qt.ItemDataRole.ToolTipRole) == v.error
    assert ctrl.spec.layers[1].body[3].config["out_channels"] == 1  # the last valid network
    fix = editor.blocks.fix_button
    assert fix.isVisible() and "block 1" in fix.text()
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert editor.validation.ok and not fix.isVisible()
    assert ctrl.spec.layers[1].shortcut[0].config["out_channels"] == 7
    editor.undo_action.trigger()  # the fix is one undo step
    assert not editor.validation.ok and fix.isVisible()


def test_inner_rows_move_within_their_branch(editor):
    editor.blocks.add_block(1)
    editor.table.select_row(editor.row_of((1, "body", 2)))  # the relu
    editor.up_action.trigger()
    assert editor.selected_path() == (1, "body", 1)
    assert editor.spec_dict()["layers"][1]["body"][1]["type"] == "relu"
    editor.duplicate_action.trigger()
    assert [la["type"] for la in editor.spec_dict()["layers"][1]["body"]][1:3] == ["relu"] * 2
