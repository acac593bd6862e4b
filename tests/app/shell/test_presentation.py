"""Presentation mode (issue 11 item 3): the fit-to-width pipeline at 1920×1080 and 1280×720,
thumbnails, colour-bar ticks, zoom, leaving F11, class names and high contrast — all on
real widgets, asserted on their geometry."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from gui_helpers import preset_window
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QToolBar

from cnnviz.app.debugger.pipeline import INPUT, LOSS
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.app.widgets import colormaps
from cnnviz.data import open_dataset

STEPS = ["F0", "F3", "L", "B3", "U"]


@pytest.fixture
def lenet(qtbot, settings):
    """The default LeNet-5 window (12 layers), shown and active."""
    win = preset_window(qtbot, settings, "lenet5", active=True, restore_layout=False)
    yield win
    colormaps.set_palette("standard")  # the palette is process-wide


def present(win: MainWindow, qtbot, size: tuple[int, int]) -> None:
    """Enter presentation mode, then lay it out at a projector's `size` (the offscreen
    screen is 800×800 and holds a full-screen window to that, so the window leaves full
    screen and takes the size of the projector's screen instead)."""
    win.toggle_presentation()
    assert win.isFullScreen()
    win.showNormal()
    win.resize(*size)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
    QApplication.processEvents()


def column_span(pipeline, column) -> tuple[int, int]:
    """(left, right) of a column in the pipeline's viewport coordinates."""
    left = column.mapTo(pipeline.viewport(), QPoint(0, 0)).x()
    return left, left + column.width()


def tick_labels(axis: pg.AxisItem) -> list[str]:
    """The tick labels an axis draws now (pyqtgraph leaves out the ones it has no room for)."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _, _, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _, _, text in texts]


def inspector_colorbar(win: MainWindow) -> pg.ColorBarItem:
    """The colour bar of the inspector's map view on screen."""
    inspector = win.panels["inspector"]
    views = [v for v in inspector.findChildren(pg.GraphicsLayoutWidget) if v.isVisible()]
    return views[0].colorbar


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_presentation_shows_every_lenet5_layer_without_scrolling(lenet, qtbot, size):
    win = lenet
    present(win, qtbot, size)
    assert win.presentation and win.presentation_action.isChecked()
    pipeline = win.panels["pipeline"]
    assert list(pipeline.columns) == [INPUT, *range(12), LOSS]
    for step in STEPS:
        win.ctrl.run_to(step)
        QApplication.processEvents()
        assert pipeline.horizontalScrollBar().maximum() == 0, step
        width = pipeline.viewport().width()
        for key, column in pipeline.columns.items():
            left, right = column_span(pipeline, column)
            assert left >= 0 and right <= width, (step, key, left, right, width)
            assert column.isVisible() and column.thumbs.isVisible()
        focus = pipeline.columns[pipeline.overview.focus_key()]
        assert pipeline.overview.focus_key() in pipeline.current_keys(), step
        others = [c for c in pipeline.columns.values() if c is not focus]
        assert focus.width() > max(c.width() for c in others), step  # enlarged
        if not focus.thumbs.vector:  # and so are its maps
            assert focus.thumbs.map_size()[0] > max(c.thumbs.map_size()[0] for c in others
                                                    if not c.thumbs.vector), step
        if size == (1920, 1080):
            w, h = focus.thumbs.map_size()
            assert (h if focus.thumbs.vector else min(w, h)) >= 120, (step, w, h)


def test_colour_bar_ticks_are_all_drawn_and_grow_in_presentation_mode(lenet, qtbot):
    win = lenet
    win.ctrl.run_to("F3")
    QApplication.processEvents()
    normal = inspector_colorbar(win).axis
    normal_pt = normal.style["tickFont"].pointSize()
    present(win, qtbot, (1920, 1080))
    axis = inspector_colorbar(win).axis
    assert axis.style["tickFont"].pointSize() > normal_pt
    lo, hi = sorted(axis.range)
    length = axis.geometry().height()
    majors = [v for v in axis.tickValues(lo, hi, length)[0][1] if lo <= v <= hi]
    labels = tick_labels(axis)
    assert len(majors) >= 3 and len(labels) >= len(majors), (majors, labels)
    bar = axis.mapRectToScene(axis.boundingRect())
    assert inspector_colorbar(win).scene().sceneRect().contains(bar.center())


def test_zoom_changes_fonts_and_thumbnails(lenet, qtbot):
    win = lenet
    pipeline = win.panels["pipeline"]
    column = pipeline.columns[INPUT]
    size, natural = QApplication.font().pointSize(), column.thumbs.full_scale
    qtbot.keyClick(win, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.font().pointSize() == size + 1
    assert column.thumbs.full_scale > natural  # the thumbnails' natural size grew
    present(win, qtbot, (1920, 1080))
    win.ctrl.run_to("F3")
    QApplication.processEvents()
    size = QApplication.font().pointSize()
    compact = pipeline.columns[0].thumbs.map_size()
    qtbot.keyClick(win, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(win, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.font().pointSize() == size + 2
    assert pipeline.columns[0].thumbs.map_size() != compact
    qtbot.keyClick(win, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.font().pointSize() == size + 1
    qtbot.keyClick(win, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.font().pointSize() == size
    assert pipeline.horizontalScrollBar().maximum() == 0


def test_leaving_presentation_restores_docks_geometry_and_pipeline(lenet, qtbot):
    win = lenet
    win.restoreGeometry(win.saveGeometry())  # Qt moves a restored window onto its screen
    QApplication.processEvents()  # (the offscreen one is 800×800): start from there
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    win.docks["training"].close()
    geometry = win.geometry()
    docks = {k: d.isVisible() for k, d in win.docks.items()}
    size = QApplication.font().pointSize()
    pipeline = win.panels["pipeline"]
    thumbs = {k: (c.thumbs.cols, c.thumbs.full_scale, c.thumbs.show_labels)
              for k, c in pipeline.columns.items()}
    heights = {k: d.height() for k, d in win.docks.items() if d.isVisible()}
    tips = {k: c.toolTip() for k, c in pipeline.columns.items()}
    qtbot.keyClick(win, Qt.Key.Key_F11)
    assert win.presentation, "F11 did nothing"
    qtbot.waitUntil(win.isFullScreen)
    assert not any(win.docks[k].isVisible() for k in ("editor", "input", "training"))
    assert not any(bar.isVisible() for bar in win.findChildren(QToolBar))
    assert pipeline.overview is not None
    qtbot.keyClick(win, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: not win.isFullScreen())
    QApplication.processEvents()
    assert win.size() == geometry.size()
    moved = win.geometry().topLeft() - geometry.topLeft()  # the offscreen platform's window
    assert abs(moved.x()) <= 4 and abs(moved.y()) <= 4  # frame is a few pixels
    assert {k: d.isVisible() for k, d in win.docks.items()} == docks
    assert all(bar.isVisible() for bar in win.findChildren(QToolBar))
    assert QApplication.font().pointSize() == size and not win.presentation
    assert pipeline.overview is None
    assert pipeline.columns[0].title.text() == "0 conv2d"
    assert {k: (c.thumbs.cols, c.thumbs.full_scale, c.thumbs.show_labels)
            for k, c in pipeline.columns.items()} == thumbs  # no overview arrangement left
    for key, height in heights.items():  # Qt restores dock sizes to within rounding
        assert abs(win.docks[key].height() - height) <= 12, key
    assert {k: c.toolTip() for k, c in pipeline.columns.items()} == tips


def test_dense_layers_show_indices_and_the_output_class_names(lenet):
    win = lenet
    pipeline = win.panels["pipeline"]
    assert pipeline.columns[7].thumbs.unit_labels()[:3] == ["0", "1", "2"]
    assert pipeline.columns[7].thumbs.label_width() > 0
    win.ctrl.load_preset("square")  # two classes: the shapes dataset names them
    win.ctrl.set_dataset(open_dataset("shapes", preset="square"))
    last = len(win.ctrl.spec.layers) - 1
    assert pipeline.columns[last].thumbs.unit_labels() == ["square", "other"]
    assert pipeline.columns[LOSS].thumbs.unit_labels() == ["square", "other"]
    assert win.panels["prediction"].class_names() == ["square", "other"]


def test_high_contrast_switches_every_colour_map(lenet, qtbot):
    win = lenet
    win.ctrl.run_to("F3")
    QApplication.processEvents()
    thumbs = win.panels["pipeline"].columns[1].thumbs  # relu: sequential
    before = thumbs.images[0].pixel(5, 5)
    bar = inspector_colorbar(win)
    win.contrast_action.trigger()
    assert win.contrast_action.isChecked() and colormaps.palette() == "colorblind"
    assert thumbs.images[0].pixel(5, 5) != before
    assert bar.colorMap() is colormaps.colormap_for(True)  # conv output: signed
    assert QApplication.palette().window().color().name() == "#000000"
    seq = colormaps.colormap_for(False).map([0.0, 1.0], mode="byte")[:, :3].tolist()
    assert seq == [[0, 34, 78], [254, 232, 56]]  # cividis' ends
    win.contrast_action.trigger()
    assert colormaps.palette() == "standard"
    assert thumbs.images[0].pixel(5, 5) == before
    assert np.any(colormaps.to_rgb(np.array([[0.0, 1.0]]), False) != 0)


def test_a_new_network_in_presentation_mode_gets_its_own_column_titles(lenet, qtbot):
    """Compact titles were remembered by column key, so after a preset switch in
    presentation mode the square detector's columns read '0 flat', '1 dense' …"""
    present(lenet, qtbot, (1920, 1080))
    lenet.ctrl.run_to("F6")
    lenet.ctrl.load_preset("square")
    QApplication.processEvents()
    pipeline = lenet.panels["pipeline"]
    for layer in lenet.ctrl.spec.layers:
        title = pipeline.column(layer.index).title.text()
        assert title.split()[0] == str(layer.index)
        assert layer.type[:3] in title or (layer.type == "sigmoid" and "σ" in title), title
