"""Sessions and settings through the window: save/open round trip, bad files, recent files,
theme and layout kept in QSettings."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from cnnviz.app.controller import AppController
from cnnviz.app.shell.main_window import MainWindow


def make_window(qtbot, settings, preset="square") -> MainWindow:
    win = MainWindow(AppController(preset), settings=settings, theme="light")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_session_round_trip_restores_weights_input_cursor_and_selection(qtbot, settings,
                                                                        tmp_path):
    win = make_window(qtbot, settings)
    ctrl = win.ctrl
    ctrl.toggle_breakpoint("B1")
    ctrl.run_pass()
    ctrl.new_pass()  # weights after one update
    ctrl.run_to("L")
    ctrl.select_unit(2, (0, 1, 0))
    weights, image = ctrl.network.state_dict(), ctrl.input_image.copy()
    logits = ctrl.stepper.record("L").values["logits"].copy()
    path = tmp_path / "lesson.cnnviz"
    assert win.files.save_session(str(path))
    ctrl.reset()
    ctrl.set_input(np.zeros_like(image), 1)
    with qtbot.waitSignal(ctrl.stepper_changed):
        assert win.files.open_session(str(path))
    assert ctrl.stepper.current.name == "L"
    assert ctrl.stepper.breakpoints == {"B1"}
    assert ctrl.selection.layer == 2 and ctrl.selection.unit == (0, 1, 0)
    np.testing.assert_array_equal(ctrl.input_image, image)
    np.testing.assert_array_equal(ctrl.stepper.record("L").values["logits"], logits)
    restored = ctrl.network.state_dict()
    assert all(np.array_equal(restored[k], weights[k]) for k in weights)
    np.testing.assert_array_equal(win.panels["pipeline"].column(4).thumbs.array,
                                  ctrl.stepper.record("L").values["grad_logits"][0])
    assert win.settings.recent_files()[0] == str(path)
    assert any(a.text() == str(path) for a in win.recent_menu.actions())


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04broken", b""])
def test_a_corrupt_session_shows_an_error_and_keeps_the_current_one(qtbot, settings, tmp_path,
                                                                    dialogs, content):
    win = make_window(qtbot, settings)
    ctrl = win.ctrl
    ctrl.run_to("F1")
    network, weights = ctrl.network, ctrl.network.state_dict()
    path = tmp_path / "bad.cnnviz"
    path.write_bytes(content)
    with qtbot.waitSignal(ctrl.error_raised) as blocker:
        assert not win.files.open_session(str(path))
    assert blocker.args[0] == "Could not open the session"
    assert str(path) in blocker.args[1]
    assert dialogs and dialogs[0][0] == "Could not open the session"
    assert ctrl.network is network and ctrl.stepper.current.name == "F1"
    assert all(np.array_equal(ctrl.network.state_dict()[k], weights[k]) for k in weights)
    assert win.settings.recent_files() == []


def test_a_foreign_zip_is_refused(qtbot, settings, tmp_path, dialogs):
    win = make_window(qtbot, settings)
    path = tmp_path / "foreign.cnnviz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a session")
    assert not win.files.open_session(str(path))
    assert dialogs and "foreign.cnnviz" in dialogs[0][1]


def test_theme_preset_and_layout_are_remembered(qtbot, settings):
    win = make_window(qtbot, settings)
    win.apply_theme("dark", remember=True)
    win.docks["prediction"].hide()
    win.close()
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert again.theme_name == "dark" and again.theme_actions["dark"].isChecked()
    assert again.ctrl.preset_name == "square"  # the last preset, not the default lenet5
    assert not again.docks["prediction"].isVisible()
    assert again.docks["inspector"].isVisible()


def test_save_spec_writes_json_that_parses_back(qtbot, settings, tmp_path):
    from cnnviz.core.spec import parse_spec

    win = make_window(qtbot, settings)
    path = tmp_path / "net.json"
    win.files.save_spec(str(path))
    assert parse_spec(str(path)) == win.ctrl.spec
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]  # no temp file left


def test_export_panel_png(qtbot, settings, tmp_path):
    from PIL import Image

    win = make_window(qtbot, settings)
    path = tmp_path / "pipeline.png"
    assert win.files.export_panel("pipeline", str(path))
    with Image.open(path) as image:
        assert image.size[0] > 100 and image.size[1] > 100
