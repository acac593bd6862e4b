"""The input dock: drawing sets the network input on release, undo, loading and dropping
image files, bad files, and other input sizes."""

from __future__ import annotations

import numpy as np
import pytest
from canvas_strokes import SEVEN, draw_seven, draw_stroke, press_and_move, release
from gui_helpers import shown
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from cnnviz.app.controller import AppController
from cnnviz.app.input.panel import InputPanel, accept_image_drop, input_from_file
from cnnviz.data import preprocess_digit
from cnnviz.data.images import resize


def make_panel(qtbot, preset: str) -> InputPanel:
    """An input panel on a fresh controller, shown with its Draw tab."""
    panel = InputPanel(AppController(preset, user_weights=False))
    shown(qtbot, panel, 560, 820)
    return panel


@pytest.fixture
def panel(qtbot):
    """The panel on lenet5 (1×28×28: digit preprocessing)."""
    return make_panel(qtbot, "lenet5")


def paper_digit(path, size=(120, 90)) -> None:
    """A PNG of a dark "1"-like bar on white paper, off centre."""
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).rectangle([20, 15, 32, 100], fill=0)
    image.save(path)


def drop_event(paths, pos: QPointF | None = None) -> tuple[QDropEvent, QMimeData]:
    """A drop carrying local file URLs (keep the QMimeData alive while the event is used)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(pos or QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    event.ignore()
    return event, mime


def test_drawing_sets_the_input_on_release_and_changes_the_prediction(qtbot, panel):
    controller = panel.controller
    before = controller.probabilities()
    changes = []
    controller.input_changed.connect(lambda: changes.append(controller.input_image.copy()))
    draw_stroke(panel.canvas, SEVEN[0])
    assert len(changes) == 1                                  # once per stroke, not per move
    draw_stroke(panel.canvas, SEVEN[1])
    assert len(changes) == 2
    expected = preprocess_digit(panel.canvas.ink())[np.newaxis]
    np.testing.assert_array_equal(controller.input_image, expected)
    assert controller.input_label is None
    assert not np.allclose(controller.probabilities(), before)
    np.testing.assert_array_equal(panel.preview.shown_maps(), expected)
    # undo the second stroke: the input goes back to the first stroke's
    qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(controller.input_image, changes[0])


def test_live_preview_while_drawing_but_no_network_run(qtbot, panel):
    controller = panel.controller
    before = controller.input_image.copy()
    with qtbot.assertNotEmitted(controller.input_changed):
        press_and_move(panel.canvas, SEVEN[1])
    shown = panel.preview.shown_maps()
    assert shown.max() > 0.5 and not np.array_equal(shown, before)   # the new ink shows
    np.testing.assert_array_equal(controller.input_image, before)
    with qtbot.waitSignal(controller.input_changed, timeout=1000):
        release(panel.canvas, SEVEN[1][-1])
    np.testing.assert_array_equal(controller.input_image,
                                  preprocess_digit(panel.canvas.ink())[np.newaxis])


def test_load_image_button(qtbot, panel, tmp_path, monkeypatch):
    path = tmp_path / "one.png"
    paper_digit(path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(path), "")))
    qtbot.mouseClick(panel.load_button, Qt.MouseButton.LeftButton)
    image = panel.controller.input_image
    np.testing.assert_array_equal(image, input_from_file(path, (1, 28, 28)))
    assert image.shape == (1, 28, 28)
    assert image[0, 14, 14] > 0.9 and image[0, 0, 0] == 0.0   # dark ink became bright ink


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_dropping_an_image_file(qtbot, panel, tmp_path):
    path = tmp_path / "dropped.png"
    paper_digit(path)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(panel.rect().center(), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted()
    event, _mime = drop_event([text])
    assert not accept_image_drop(event, panel.controller)
    event, _mime = drop_event([path], QPointF(panel.rect().center()))
    QApplication.sendEvent(panel, event)
    assert event.isAccepted()
    np.testing.assert_array_equal(panel.controller.input_image,
                                  input_from_file(path, (1, 28, 28)))


def test_a_corrupt_image_shows_an_error_and_keeps_the_input(qtbot, panel, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    controller = panel.controller
    before = controller.input_image.copy()
    with (qtbot.waitSignal(controller.error_raised, timeout=1000) as blocker,
          qtbot.assertNotEmitted(controller.input_changed)):
        assert not panel.load_file(bad)
    title, message = blocker.args
    assert "broken.png" in message and title
    np.testing.assert_array_equal(controller.input_image, before)
    event, _mime = drop_event([bad])
    with qtbot.waitSignal(controller.error_raised, timeout=1000):
        assert not accept_image_drop(event, controller)
    np.testing.assert_array_equal(controller.input_image, before)


def test_other_input_sizes_are_resized(qtbot):
    panel = make_panel(qtbot, "square")                       # 1×8×8
    draw_stroke(panel.canvas, [(60, 60), (220, 60), (220, 220), (60, 220), (60, 60)])
    expected = resize(panel.canvas.ink(), (8, 8))[np.newaxis]
    np.testing.assert_allclose(panel.controller.input_image, expected)
    assert panel.controller.input_image.shape == (1, 8, 8)
    assert "1×8×8" in panel.caption.text()


def test_screenshot_with_a_drawn_seven(qtbot, panel, artifacts_dir):
    draw_seven(panel.canvas)
    assert panel.controller.input_image.max() > 0.9
    panel.grab().save(str(artifacts_dir / "input_panel_seven.png"))


def test_a_stroke_on_the_windows_canvas_updates_prediction_and_pipeline(qtbot, settings):
    """In the main window: when a stroke ends, the pipeline's input column and the
    prediction panel show the new input at once (not while the stroke is drawn)."""
    from cnnviz.app.shell.main_window import MainWindow

    window = MainWindow(settings=settings, preset="lenet5", restore_layout=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    ctrl, panel = window.ctrl, window.panels["input"]
    column = window.panels["pipeline"].column("input")
    before = column.thumbs.array.copy()
    panel.canvas.clear()
    with qtbot.waitSignal(ctrl.stepper_changed, timeout=2000):
        draw_stroke(panel.canvas, SEVEN[0])
    expected = preprocess_digit(panel.canvas.ink())[np.newaxis]
    np.testing.assert_array_equal(ctrl.stepper.x[0], expected)
    np.testing.assert_array_equal(column.thumbs.array, expected)
    assert not np.array_equal(column.thumbs.array, before)
    probabilities = ctrl.probabilities()
    summary = window.panels["prediction"].summary.text()
    assert summary.startswith(f"predicted {int(np.argmax(probabilities))}")
    window.close()


def test_an_image_loaded_for_a_colour_network_keeps_its_colours(qtbot, tmp_path):
    picture = np.zeros((16, 16, 3), dtype=np.uint8)
    picture[..., 0], picture[4:12, 4:12, 2] = 255, 200  # red with a blue-ish square
    path = tmp_path / "colour.png"
    Image.fromarray(picture).save(path)
    ctrl = AppController("rgb-shapes", user_weights=False)
    x = input_from_file(path, ctrl.spec.input_shape)
    assert x.shape == (3, 16, 16)
    np.testing.assert_allclose(x[0], 1.0)
    np.testing.assert_allclose(x[1], 0.0)
    assert x[2, 8, 8] == pytest.approx(200 / 255) and x[2, 0, 0] == 0.0
    assert ctrl.set_input(x)
    np.testing.assert_array_equal(ctrl.stepper.x[0], x)
