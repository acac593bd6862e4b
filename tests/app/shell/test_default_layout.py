"""Issue 13 item 15: at 1440×900 every dock of the default layout is usable without
scrolling: the whole LeNet-5 in the editor table, the canvas unclipped, several rows of
dataset thumbnails, the training curves above the fold."""

from __future__ import annotations

import pytest
from gui_helpers import preset_window
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

from cnnviz.app.shell.main_window import MainWindow

SIZES = [(1440, 900), (1280, 720), (1920, 1080)]


@pytest.fixture(params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def window(request, qtbot, settings, artifacts_dir):
    """LeNet-5 in the default layout at a common screen size."""
    win = preset_window(qtbot, settings, "lenet5", *request.param, restore_layout=False)
    win.size_name = "{}x{}".format(*request.param)
    return win


def raise_dock(win: MainWindow, key: str) -> QScrollArea:
    """Bring a tabbed dock to the front; its scroll area."""
    win.docks[key].raise_()
    for _ in range(3):
        QApplication.processEvents()
    return win.docks[key].widget()


def rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    """`widget`'s rectangle in `ancestor`'s coordinates."""
    return QRect(widget.mapTo(ancestor, widget.rect().topLeft()), widget.size())


def assert_no_scrolling(area: QScrollArea) -> None:
    """The panel fits its dock: no scroll bar in either direction."""
    assert area.verticalScrollBar().maximum() == 0
    assert area.horizontalScrollBar().maximum() == 0


def is_big(win: MainWindow) -> bool:
    """1440×900 and up: the sizes where every dock must fit without scrolling."""
    return win.width() >= 1440


def test_the_editor_table_shows_lenet5(window):
    win = window
    area = raise_dock(win, "editor")
    table = win.panels["editor"].table
    rows = table.model().rowCount()
    assert rows == 12
    visible = [r for r in range(rows)
               if table.viewport().rect().contains(table.visualRect(table.model().index(r, 0)))]
    assert len(visible) >= (10 if is_big(win) else 5)
    if is_big(win):
        assert_no_scrolling(area)


def test_the_canvas_and_thumbnails_are_in_view(window):
    win = window
    area = raise_dock(win, "input")
    panel = win.panels["input"]
    canvas = rect_in(panel.canvas, area.viewport())
    assert area.viewport().rect().contains(canvas), "the canvas is clipped"
    assert min(canvas.width(), canvas.height()) >= (300 if is_big(win) else 250)
    panel.tabs.setCurrentWidget(panel.browser)
    QApplication.processEvents()
    view = panel.browser.view
    cell = view.visualRect(view.model().index(0, 0)).height()
    assert rect_in(view, area.viewport()).bottom() <= area.viewport().height()
    assert view.viewport().height() >= (3 if is_big(win) else 2) * cell, "rows of thumbnails"
    if is_big(win):
        assert_no_scrolling(area)


def test_the_training_curves_are_above_the_fold(window, artifacts_dir):
    win = window
    area = raise_dock(win, "training")
    plots = win.panels["training"].metric_plots
    bottom = win.statusBar().mapTo(win, win.statusBar().rect().topLeft()).y()
    for plot in (plots.loss_plot, plots.accuracy_plot):
        view = plot.getPlotItem().vb.sceneBoundingRect().toRect()
        top_left = plot.mapTo(win, view.topLeft())
        assert top_left.y() + view.height() <= bottom, "a curve is below the fold"
        assert view.height() >= (80 if is_big(win) else 40), "too flat to read"
    if is_big(win):
        assert_no_scrolling(area)
    win.grab().save(str(artifacts_dir / f"layout_training_{win.size_name}.png"))


def test_the_left_column_keeps_its_width_when_tabs_switch(window):
    win = window
    widths = set()
    for key in ("training", "input", "editor", "input", "training"):
        raise_dock(win, key)
        widths.add(win.docks[key].width())
    assert len(widths) == 1
    assert win.docks["pipeline"].width() >= 0.45 * win.width()
