"""The layer editor: edits, reorder (buttons, keys, drag and drop), inline errors, undo/redo,
asking before trained weights are lost, presets, and spec files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gui_helpers import shown
from PySide6.QtCore import QModelIndex, QPointF, Qt
from PySide6.QtGui import QColor, QDropEvent, QPalette
from PySide6.QtWidgets import QMessageBox, QToolButton

from cnnviz.app.controller import AppController
from cnnviz.app.editor import model as em
from cnnviz.app.editor.form import PairEditor
from cnnviz.app.editor.layer_editor import LayerEditor
from cnnviz.core.presets import get_preset
from cnnviz.core.spec import parse_spec


@pytest.fixture
def controller():
    """A controller on lenet5 with fresh weights (no saved user weights)."""
    return AppController("lenet5", user_weights=False)


@pytest.fixture
def editor(qtbot, controller):
    """The editor, shown and focused (its shortcuts need an active window)."""
    widget = LayerEditor(controller)
    qtbot.addWidget(widget)
    widget.resize(1000, 940)
    widget.show()
    widget.activateWindow()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(widget.isActiveWindow)
    return widget


def layer_types(spec) -> list[str]:
    """The type of every layer of a NetworkSpec."""
    return [layer.type for layer in spec.layers]


def never_asked(*_args, **_kwargs):
    """A stand-in for QMessageBox.question that must not be reached."""
    raise AssertionError("the editor asked although no trained weight would be lost")


# ----- the model (no widgets) ---------------------------------------------------------------
def test_model_edits_are_pure_and_validated():
    draft = get_preset("lenet5")
    moved = em.move_layer(draft, 0, 2)
    assert [layer["type"] for layer in moved["layers"][:3]] == ["relu", "maxpool2d", "conv2d"]
    assert draft == get_preset("lenet5")                      # the original is untouched
    bad = em.set_field(draft, 3, "kernel_size", 30)
    result = em.validate(bad)
    assert not result.ok and result.error_layer == 3 and "kernel_size" in result.error
    # rows before the bad layer still show their shapes; the bad one and later do not
    assert result.rows[2]["output_shape"] == "6×14×14"
    assert result.rows[3] is None
    assert em.validate(draft).rows[0]["formula"].endswith("= 28")
    assert em.validate(draft).rows[7]["formula"] == "x = w·o + b: 400 → 120"


def test_pool_stride_follows_kernel_and_discarded_params():
    draft = em.set_field(get_preset("lenet5"), 2, "kernel_size", 4)
    assert draft["layers"][2]["stride"] == 4
    old, new = parse_spec(get_preset("lenet5")), parse_spec(em.add_layer(get_preset("lenet5"),
                                                                         1, "tanh"))
    assert em.discarded_params(old, old) == []
    assert em.discarded_params(old, new) == []                # shifted, but kept by rank
    wider = parse_spec(em.set_field(get_preset("lenet5"), 3, "out_channels", 20))
    assert em.discarded_params(old, wider) == ["3.weight", "3.bias", "7.weight", "7.bias"]


# ----- the widget ---------------------------------------------------------------------------
def test_add_remove_and_reorder_layers(qtbot, editor, controller):
    original = controller.spec.to_dict()
    editor.table.select_row(1)
    add = {a.text(): a for a in editor.add_button.menu().actions()}
    add["tanh"].trigger()                                     # inserted after the selection
    assert layer_types(controller.spec)[:4] == ["conv2d", "relu", "tanh", "maxpool2d"]
    assert editor.selected_row() == 2

    editor.table.setFocus()
    qtbot.keyClick(editor.table, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert layer_types(controller.spec)[:3] == ["conv2d", "tanh", "relu"]
    qtbot.keyClick(editor.table, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert layer_types(controller.spec)[:3] == ["conv2d", "relu", "tanh"]

    editor.table.select_row(2)
    editor.duplicate_action.trigger()
    assert layer_types(controller.spec)[2:5] == ["tanh", "tanh", "maxpool2d"]
    for _ in range(2):
        editor.table.select_row(2)
        editor.remove_action.trigger()
    assert controller.spec.to_dict() == original
    assert editor.spec_dict() == original


def test_drag_and_drop_moves_a_row(qtbot, editor, controller):
    model = editor.model
    # the model's drop handler, as the view calls it: row 1 (relu) dropped above row 3
    model.dropMimeData(model.mimeData([model.index(1, 0)]), Qt.DropAction.MoveAction,
                       3, 0, QModelIndex())
    assert layer_types(controller.spec)[:4] == ["conv2d", "maxpool2d", "relu", "conv2d"]
    # a real drop event on the view: the dragged row lands above the row under the cursor
    view = editor.table
    mime = model.mimeData([model.index(2, 0)])                 # relu back to the top
    rect = view.visualRect(model.index(0, 1))
    pos = QPointF(rect.center().x(), rect.top() + 3)
    actions = model.supportedDragActions()                   # as the view starts its drags
    event = QDropEvent(pos, actions, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)
    assert event.isAccepted() and event.dropAction() == Qt.DropAction.CopyAction
    assert layer_types(controller.spec)[:3] == ["relu", "conv2d", "maxpool2d"]
    assert model.rowCount() == len(controller.spec.layers)    # nothing removed by the view


def test_invalid_value_shows_inline_error_and_keeps_network(qtbot, editor, controller):
    network, before = controller.network, controller.spec.to_dict()
    errors = []
    controller.error_raised.connect(lambda *args: errors.append(args))
    editor.table.select_row(3)                                # conv2d 16 @ 5×5 on 14×14
    kernel = editor.form.fields["kernel_size"]
    assert isinstance(kernel, PairEditor)
    kernel.h.setValue(20)                                     # as if typed and confirmed
    assert not editor.validation.ok
    assert "layer 3 (conv2d)" in editor.error_label.text()
    assert "kernel_size" in editor.error_label.text()
    back = editor.model.data(editor.model.index(3, 1), Qt.ItemDataRole.BackgroundRole)
    assert back is not None and back.color().red() > back.color().green()
    assert editor.model.data(editor.model.index(2, 1), Qt.ItemDataRole.BackgroundRole) is None
    assert controller.network is network and controller.spec.to_dict() == before
    assert errors == []                                       # inline, no dialog
    kernel.h.setValue(5)                                      # fixed: applies again
    assert editor.validation.ok and controller.spec.to_dict()["layers"][3]["kernel_size"] == 5


def test_undo_redo_restore_the_spec_exactly(qtbot, editor, controller):
    states = [controller.spec.to_dict()]
    editor.table.select_row(0)
    editor.form.fields["out_channels"].setValue(12)
    states.append(controller.spec.to_dict())
    editor.add_layer("sigmoid", 1)
    states.append(controller.spec.to_dict())
    editor.move_layer(1, 0)
    states.append(controller.spec.to_dict())
    editor.input_spins[1].setValue(32)
    editor.input_spins[2].setValue(32)                        # merged with the line above
    states.append(controller.spec.to_dict())
    editor.loss_combo.setCurrentText("mse")
    states.append(controller.spec.to_dict())
    assert editor.undo_stack.count() == len(states) - 1
    editor.table.setFocus()
    for expected in reversed(states[:-1]):
        qtbot.keyClick(editor.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert controller.spec.to_dict() == expected
        assert editor.spec_dict() == expected
    for expected in states[1:]:
        qtbot.keyClick(editor.table, Qt.Key.Key_Z,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        assert controller.spec.to_dict() == expected


def test_undo_of_an_invalid_edit_clears_the_error(editor, controller):
    before = controller.spec.to_dict()
    editor.set_layer_field(0, "out_channels", 10**7)          # over the 50M element cap
    assert not editor.validation.ok and editor.error_label.text().startswith("⚠")
    editor.undo_stack.undo()
    assert editor.validation.ok and editor.spec_dict() == before
    assert not editor.error_label.text().startswith("⚠")


def test_rebuild_asks_before_discarding_trained_weights(monkeypatch, editor, controller):
    assert controller.set_weights(controller.network.state_dict())   # weights now "trained"
    trained = controller.network.state_dict()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(never_asked))
    editor.set_layer_type(1, "tanh")                          # no parameter changes shape
    assert layer_types(controller.spec)[1] == "tanh"

    asked = []
    def answer(button):
        def question(*args, **kwargs):
            asked.append(args[2])
            return button
        return staticmethod(question)

    before = controller.spec.to_dict()
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    editor.set_layer_field(3, "out_channels", 20)             # conv 3 weights change shape
    assert len(asked) == 1 and "3.weight" in asked[0] and "7.weight" in asked[0]
    assert controller.spec.to_dict() == before                # declined: nothing rebuilt
    assert not editor.auto_apply.isChecked()
    assert "not applied" in editor.error_label.text()

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    editor.apply_action.trigger()
    assert len(asked) == 2
    assert controller.spec.layers[3].config["out_channels"] == 20
    kept = controller.network.state_dict()
    np.testing.assert_array_equal(kept["0.weight"], trained["0.weight"])
    np.testing.assert_array_equal(kept["9.weight"], trained["9.weight"])


def test_presets_menu_and_external_spec_changes(editor, controller):
    actions = {a.text(): a for a in editor.presets_menu.actions()}
    actions["square"].trigger()
    assert controller.spec.input_shape == (1, 8, 8)
    assert controller.preset_name == "square"
    assert [s.value() for s in editor.input_spins] == [1, 8, 8]
    controller.set_spec(get_preset("mlp"))                    # e.g. a session was opened
    assert editor.spec_dict() == parse_spec(get_preset("mlp")).to_dict()
    assert editor.model.rowCount() == len(get_preset("mlp")["layers"])


def test_save_and_open_spec_files(tmp_path, editor, controller):
    path = tmp_path / "net.json"
    assert editor.save_spec(path)
    assert json.loads(path.read_text()) == controller.spec.to_dict()
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]   # no temp file left
    other = tmp_path / "square.json"
    other.write_text(json.dumps(get_preset("square")))
    assert editor.open_spec(other)
    assert controller.spec.input_shape == (1, 8, 8)
    errors = []
    controller.error_raised.connect(lambda *args: errors.append(args))
    broken = tmp_path / "broken.json"
    broken.write_text('{"input": [1, 28, 28], "layers": [')
    before = editor.spec_dict()
    assert not editor.open_spec(broken)
    assert len(errors) == 1 and "broken.json" in errors[0][1]
    assert editor.spec_dict() == before


def test_screenshots(qtbot, editor, artifacts_dir):
    editor.table.select_row(0)
    editor.grab().save(str(artifacts_dir / "editor_lenet5.png"))
    editor.table.select_row(3)
    editor.set_layer_field(3, "kernel_size", 20)
    editor.table.select_row(2)                                # the red row is not hidden
    qtbot.waitUntil(lambda: all(w.isVisible() for w in editor.form.fields.values()))
    assert not editor.validation.ok
    editor.grab().save(str(artifacts_dir / "editor_invalid_row.png"))
    light = editor.model.data(editor.model.index(3, 1), Qt.ItemDataRole.BackgroundRole)
    editor.setPalette(dark_palette())                         # a theme switch recolours
    dark = editor.model.data(editor.model.index(3, 1), Qt.ItemDataRole.BackgroundRole)
    assert dark.color().lightness() < 100 < light.color().lightness()
    editor.grab().save(str(artifacts_dir / "editor_invalid_row_dark.png"))


def dark_palette() -> QPalette:
    """A dark palette like a dark desktop theme."""
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#2b2b2b"),
                         (QPalette.ColorRole.Base, "#1e1e1e"),
                         (QPalette.ColorRole.AlternateBase, "#262626"),
                         (QPalette.ColorRole.Text, "#eeeeee"),
                         (QPalette.ColorRole.WindowText, "#eeeeee"),
                         (QPalette.ColorRole.Button, "#3a3a3a"),
                         (QPalette.ColorRole.ButtonText, "#eeeeee")):
        palette.setColor(role, QColor(colour))
    return palette


def test_open_and_save_through_the_dialogs(monkeypatch, tmp_path, editor, controller):
    """The Open… and Save… buttons ask for a file, then read or write the spec JSON."""
    from PySide6.QtWidgets import QFileDialog

    target = tmp_path / "mine.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "")))
    editor.save_action.trigger()
    assert json.loads(target.read_text()) == controller.spec.to_dict()
    square = tmp_path / "square.json"
    square.write_text(json.dumps(get_preset("square")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(square), "")))
    editor.open_action.trigger()
    assert controller.spec.to_dict() == parse_spec(get_preset("square")).to_dict()
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: ("", "")))   # cancelled
    editor.open_action.trigger()
    assert controller.spec.input_shape == (1, 8, 8)


def test_a_bad_spec_file_shows_the_spec_error_and_keeps_the_network(tmp_path, editor,
                                                                   controller):
    """Valid JSON, invalid network: the SpecError text reaches the dialog; nothing changes."""
    network, weights = controller.network, controller.network.state_dict()
    errors = []
    controller.error_raised.connect(lambda *args: errors.append(args))
    bad = tmp_path / "bad.json"
    spec = get_preset("lenet5")
    spec["layers"][3]["kernel_size"] = 30                     # does not fit its 14×14 input
    bad.write_text(json.dumps(spec))
    assert not editor.open_spec(bad)
    assert len(errors) == 1
    assert "bad.json" in errors[0][1] and "layer 3 (conv2d)" in errors[0][1]
    assert controller.network is network and editor.undo_stack.count() == 0
    for name, value in controller.network.state_dict().items():
        np.testing.assert_array_equal(value, weights[name])
    assert not editor.open_spec(tmp_path / "missing.json")    # an OSError, reported too
    assert len(errors) == 2 and controller.network is network


def test_saving_is_atomic(monkeypatch, tmp_path, editor):
    """A write that fails half-way leaves the old file as it was and no temp file behind."""
    path = tmp_path / "net.json"
    path.write_text('{"old": true}\n')
    errors = []
    editor.controller.error_raised.connect(lambda *args: errors.append(args))

    def failing_dump(data, handle, **kwargs):
        handle.write('{"input": [1, ')                        # half a file, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", failing_dump)
    assert not editor.save_spec(path)
    assert path.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]
    assert "No space left" in errors[0][1]


def test_rebuild_keeps_every_tensor_whose_shape_did_not_change(monkeypatch, editor, controller):
    """After a confirmed rebuild, layers whose shapes did not change keep their trained
    values bit for bit; a layer with any changed tensor is initialised afresh as a whole."""
    rng = np.random.default_rng(1)
    trained = {k: rng.standard_normal(v.shape).astype(v.dtype)
               for k, v in controller.network.state_dict().items()}
    assert controller.set_weights(trained)
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *args, **kwargs: QMessageBox.StandardButton.Yes))
    editor.set_layer_field(9, "units", 64)                    # dense 84 → 64: 9.*, 11.weight
    after = controller.network.state_dict()
    for name, value in trained.items():
        if name.split(".")[0] in ("9", "11"):
            assert not np.array_equal(after[name], value)
        else:
            np.testing.assert_array_equal(after[name], value, err_msg=name)


def test_inserting_an_activation_keeps_every_trained_weight(monkeypatch, editor, controller):
    """A layer without parameters shifts the indices: the weights move along, nobody asks."""
    rng = np.random.default_rng(2)
    trained = {k: rng.standard_normal(v.shape).astype(v.dtype)
               for k, v in controller.network.state_dict().items()}
    assert controller.set_weights(trained)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(never_asked))
    editor.add_layer("tanh", 1)
    assert layer_types(controller.spec)[:3] == ["conv2d", "tanh", "relu"]
    after = controller.network.state_dict()
    for old, new in (("0", "0"), ("3", "4"), ("7", "8"), ("9", "10"), ("11", "12")):
        for kind in ("weight", "bias"):
            np.testing.assert_array_equal(after[f"{new}.{kind}"], trained[f"{old}.{kind}"])
    assert controller.has_trained_weights()


def test_button_rows_wrap_in_a_narrow_dock_instead_of_scrolling_sideways(qtbot, editor):
    """At 1000 px the toolbar rows are single lines; at 300 px they wrap and nothing is
    wider than the editor."""
    auto = editor.auto_apply
    first = [w for w in editor.findChildren(QToolButton) if w.text() == "Undo"][0]
    assert auto.geometry().center().y() == pytest.approx(first.geometry().center().y(), abs=4)
    editor.resize(300, 940)
    qtbot.waitUntil(lambda: auto.geometry().top() > first.geometry().bottom())
    for widget in editor.findChildren(QToolButton) + [auto]:
        assert widget.geometry().right() <= editor.width()
    assert editor.minimumSizeHint().width() <= 300


def test_an_error_in_a_short_dock_scrolls_into_view(qtbot, controller):
    """In a 1280×800 window the editor dock is ~320×380: the message must not stay hidden
    below the fold."""
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QScrollArea

    area = QScrollArea()
    area.setWidgetResizable(True)
    widget = LayerEditor(controller)
    area.setWidget(widget)
    shown(qtbot, area, 320, 380)
    label = widget.error_label

    def label_in_view() -> bool:
        top_left = label.mapTo(area.viewport(), label.rect().topLeft())
        return area.viewport().rect().contains(QRect(top_left, label.size()))

    assert not label_in_view()
    widget.set_layer_field(3, "kernel_size", 20)
    qtbot.waitUntil(label_in_view)
    assert "layer 3 (conv2d)" in label.text()
