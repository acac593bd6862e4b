"""The lesson dock in the real window: Next/Previous, PgDn/PgUp, restart, leave, resume."""

from __future__ import annotations

import pytest
from gui_helpers import preset_window
from PySide6.QtCore import Qt


@pytest.fixture
def window(qtbot, settings):
    """The window offscreen, active so that shortcuts reach it."""
    win = preset_window(qtbot, settings, "square", active=True, restore_layout=False)
    return win


def test_next_previous_and_the_presenter_keys_drive_the_app(window, qtbot):
    dock = window.lessons
    window.open_lesson("neuron")
    assert window.lesson_dock.isVisible()
    assert dock.progress_label.text().startswith("Step 1 of 6")
    assert window.ctrl.stepper.current.name == "F1"
    assert "0.80" in dock.browser.toPlainText()  # the live number, filled in
    qtbot.mouseClick(dock.buttons["next"], Qt.MouseButton.LeftButton)
    assert dock.index == 1 and window.ctrl.stepper.current.name == "F2"
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert dock.index == 2 and window.ctrl.stepper.current.name == "L"
    assert dock.progress.value() == 3
    qtbot.keyClick(window, Qt.Key.Key_PageUp)
    assert dock.index == 1 and window.ctrl.stepper.current.name == "F2"
    qtbot.mouseClick(dock.buttons["previous"], Qt.MouseButton.LeftButton)
    assert dock.index == 0 and not dock.buttons["previous"].isEnabled()
    assert dock.problems == []


def test_restart_leave_and_resume(window, qtbot, settings):
    dock = window.lessons
    window.open_lesson("neuron")
    for _ in range(4):
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert dock.index == 4
    assert window.panels["inspector"].tabs.currentIndex() == 4  # the ∂E/∂w tab
    qtbot.mouseClick(dock.buttons["leave"], Qt.MouseButton.LeftButton)
    assert dock.lesson is None and not window.lesson_dock.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_PageDown)  # no lesson: the key does nothing
    window.open_lesson("neuron")  # resumes where it was left
    assert dock.index == 4 and window.ctrl.stepper.current.name == "B1"
    qtbot.mouseClick(dock.buttons["restart"], Qt.MouseButton.LeftButton)
    assert dock.index == 0 and window.ctrl.stepper.current.name == "F1"
    assert settings.value("lessons/neuron/step") in (0, "0")


def test_help_menu_lists_the_lessons(window):
    help_menu = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"][0]
    lessons = [a.menu() for a in help_menu.actions() if a.text() == "Lessons"][0]
    titles = [a.text() for a in lessons.actions()]
    assert len(titles) >= 10 and titles[0].startswith("1 · One neuron")
    lessons.actions()[0].trigger()
    assert window.lessons.lesson.name == "neuron"


def test_the_weights_field_says_which_weights_the_lesson_loaded(window):
    """A lesson loads fresh seeded weights; the status bar must not keep saying bundled."""
    window.open_lesson("delta")
    field = window.weight_actions.label.text()
    assert field.startswith("Weights: fresh weights (seed 0)"), field
    # nor a transient message from loading the lesson's preset (a slide showed both)
    assert "bundled" not in window.statusBar().currentMessage()
