"""`cnnviz lesson NAME --export DIR`: the window offscreen in a lecture layout, one PNG per step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSettings, Qt, QTemporaryDir
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from cnnviz.app.controller import AppController
from cnnviz.app.lessons.runner import first_spec
from cnnviz.app.shell.animation_room import (
    HIDEABLE,
    animation_fits,
    animation_shown,
    room_steps,
    settle,
    shrink_pipeline,
    widen_explain,
)
from cnnviz.app.shell.launch import make_application
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.data.fileio import write_bytes_atomically
from cnnviz.engine.lessons import Lesson

SLIDE_NARRATION_PT = 21  # at 1080 lines; in proportion on other slides
LESSON_SHARE = 0.34  # of the window's width, for the lesson dock
TRAINING_PX = 520
PREDICTION_PX = 380
ANIMATION_SCALE = 0.8  # an animation slide's numbers: at least this share of the font


def slide_name(k: int, title: str) -> str:
    """'03-output-size.png' for step 3 titled 'Output size: …'."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "step"
    return f"{k + 1:02d}-{slug}.png"


def png_bytes(image: QImage) -> bytes:
    """A QImage encoded as PNG."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def lecture_window(size: tuple[int, int], settings: QSettings) -> MainWindow:
    """The window offscreen at `size`: presentation mode, the lesson dock on the right."""
    ctrl = AppController(None, spec=first_spec(), user_weights=False)
    window = MainWindow(ctrl, settings=settings, theme="light", restore_layout=False)
    ctrl.error_raised.disconnect(window._on_error_raised)  # no dialogs offscreen
    window.live_room.enabled = False  # the slides make the animation's room themselves
    window.resize(*size)
    window.show()
    QApplication.processEvents()
    window.toggle_presentation()
    window.lessons.set_point_size(round(SLIDE_NARRATION_PT * size[1] / 1080))
    return window


def arrange(window: MainWindow, size: tuple[int, int]) -> None:
    """Lesson dock on the right; a shown training dock narrow; inspector and explain halves."""
    docks, horizontal = window.docks, Qt.Orientation.Horizontal
    window.resize(*size)  # panels that grew for one step must not widen the next slide
    QApplication.processEvents()
    width = window.width()  # more than size[0] if the panels' minimum sizes demand it
    lesson = int(width * LESSON_SHARE)
    window.resizeDocks([window.lesson_dock], [lesson], horizontal)
    rest = width - lesson
    window.resizeDocks([docks["prediction"]], [PREDICTION_PX], horizontal)  # bars and numbers
    if docks["training"].isVisible():  # curves and the inspector: no room for Explain too
        docks["explain"].hide()
        window.resizeDocks([docks["training"]], [TRAINING_PX], horizontal)
        return
    settled = window.width() >= size[0] and window.height() >= size[1]  # not yet, at first
    if animation_shown(window) and settled:
        make_room_for_animation(window, size)
        return
    window.resizeDocks([docks["inspector"], docks["explain"]], [rest // 2, rest // 2], horizontal)


def widen(window: MainWindow, size: tuple[int, int]) -> None:
    """The window at the slide's size (a narrower Explain dock may have made it taller),
    the pipeline at its least height, the Explain dock as wide as its row allows."""
    window.resize(*size)
    QApplication.processEvents()  # the lesson dock at its new width
    shrink_pipeline(window)
    widen_explain(window)


def make_room_for_animation(window: MainWindow, size: tuple[int, int]) -> None:
    """Give the Explain dock the room its animation needs with numbers at least
    `ANIMATION_SCALE` times the font (`widen`); then, one at a time until the
    animation fits, the inspector hidden (the animation shows the layer's input itself),
    the lesson dock at its least width, the prediction hidden."""
    for key in HIDEABLE:  # from the start on every call
        window.docks[key].show()
    for step in [*room_steps(window), None]:
        widen(window, size)
        if animation_fits(window, size, ANIMATION_SCALE) or step is None:
            return
        step()


def slide_image(window: MainWindow, size: tuple[int, int]) -> QImage:
    """The window as an image of exactly `size`: if its panels made it larger, scaled down
    keeping its proportions and centred on the window's background colour."""
    image = window.grab().toImage()
    if (image.width(), image.height()) == size:
        return image
    scaled = image.scaled(*size, Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.SmoothTransformation)
    slide = QImage(*size, QImage.Format.Format_RGB32)
    slide.fill(window.palette().window().color())
    painter = QPainter(slide)
    painter.drawImage((size[0] - scaled.width()) // 2, (size[1] - scaled.height()) // 2, scaled)
    painter.end()
    return slide


def export_slides(lesson: Lesson, out: Path, size: tuple[int, int]) -> tuple[list[Path],
                                                                            list[str]]:
    """Write one PNG per step of the lesson into `out`; (files written, problems met)."""
    app: Any = make_application(["cnnviz"])
    temp = QTemporaryDir()
    settings = QSettings(temp.filePath("settings.ini"), QSettings.Format.IniFormat)
    window = lecture_window(size, settings)
    files, problems = [], []
    try:
        for k, step in enumerate(lesson.steps):
            window.docks["training"].hide()  # shown again by the steps that train
            for key in ("explain", "inspector", "prediction"):  # an animation hid some
                window.docks[key].show()
            if k == 0:
                window.open_lesson(lesson.path or lesson.name, 0)
            else:
                window.lessons.next()
            for _ in range(2):  # once more after the panels took their new sizes
                arrange(window, size)
                app.processEvents()
            settle(window, size)  # a minimum that passed while laying out may have grown it
            problems += window.lessons.problems
            path = out / slide_name(k, step.title)
            write_bytes_atomically(path, png_bytes(slide_image(window, size)))
            files.append(path)
    finally:
        window.close()
        window.deleteLater()
    return files, problems
