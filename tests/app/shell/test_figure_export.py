"""Figures for slides: every panel and plot as PNG at 2× and as SVG (a valid file with
the image in it), the File → Export figure… menu, the docks' context menus, and the
inspector's shown tensor as .npy and CSV."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from gui_helpers import shown
from PIL import Image

from cnnviz.app.controller import AppController
from cnnviz.app.shell.figure_export import shown_tensor
from cnnviz.app.shell.main_window import MainWindow
from cnnviz.data.tensor_files import axis_names, read_csv

SVG = "{http://www.w3.org/2000/svg}"
VECTOR = ("image", "path", "rect", "polyline", "text")  # what a drawn figure is made of


@pytest.fixture
def win(qtbot, settings):
    window = MainWindow(AppController("lenet5"), settings=settings, theme="light",
                        restore_layout=False)
    shown(qtbot, window, 1440, 900)
    window.ctrl.run_to("B3")
    return window


def test_every_panel_and_plot_exports_png_at_twice_its_size_and_svg(win, tmp_path):
    figures = win.figures.figures()
    assert set(figures) >= {"pipeline", "inspector", "explain", "prediction", "editor",
                            "input", "training", "loss", "gradnorms", "compare"}
    for key, (_title, widget) in figures.items():
        png, svg = tmp_path / f"{key}.png", tmp_path / f"{key}.svg"
        assert win.figures.export(key, png) and win.figures.export(key, svg)
        with Image.open(png) as image:
            assert image.format == "PNG"
            assert image.size == (2 * widget.width(), 2 * widget.height())
        root = ET.parse(svg).getroot()
        assert root.tag == f"{SVG}svg"
        drawn = [e for e in root.iter() if e.tag[len(SVG):] in VECTOR]
        assert drawn, f"{key}: the SVG draws nothing"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{k}.{s}" for k in figures for s in ("png", "svg"))  # no temporary files left


def test_maps_are_embedded_images_in_the_svg(win, tmp_path):
    assert win.figures.export("inspector", tmp_path / "i.svg")
    root = ET.parse(tmp_path / "i.svg").getroot()
    images = list(root.iter(f"{SVG}image"))
    assert images
    href = images[0].get("{http://www.w3.org/1999/xlink}href") or images[0].get("href")
    assert href.startswith("data:image/png;base64,")


def test_a_bad_suffix_is_an_error_not_a_file(win, tmp_path):
    errors = []
    win.ctrl.error_raised.disconnect(win._on_error_raised)
    win.ctrl.error_raised.connect(lambda title, text: errors.append(text))
    assert not win.figures.export("pipeline", tmp_path / "p.gif")
    assert "png or .svg" in errors[0] and not list(tmp_path.iterdir())


def test_the_file_menu_has_png_and_svg_for_every_figure(win):
    file_menu = win.menuBar().actions()[0].menu()
    export = next(a.menu() for a in file_menu.actions() if a.text() == "Export figure…")
    titles = [a.text() for a in export.actions()]
    assert titles[:4] == ["Pipeline", "Inspector", "Explain", "Prediction"]
    assert len(titles) == len(win.figures.figures())
    for action in export.actions():
        assert [a.text() for a in action.menu().actions()] == ["PNG (2×)…", "SVG…"]


def test_context_menus_export_the_panel_and_the_inspectors_tensor(win):
    texts = [a.text() for a in win.figures.context_menu("inspector").actions()]
    assert texts == ["Export Inspector as PNG (2×)…", "Export Inspector as SVG…", "",
                     "Export shown tensor as .npy…", "Export shown tensor as .csv…"]
    training = [a.text() for a in win.figures.context_menu("training").actions()]
    assert "Export Gradient norms plot as SVG…" in training


@pytest.mark.parametrize("tab", ["maps", "filters", "deltas"])
def test_the_shown_tensor_round_trips_through_npy_and_csv(win, tmp_path, tab):
    inspector = win.panels["inspector"]
    win.ctrl.select_layer(3)
    inspector.show_tab(tab)
    array, stem = shown_tensor(inspector)
    assert stem == f"layer3_{tab}" and array is not None
    if tab == "filters":
        assert array.shape == (16, 6, 5, 5)  # the weight tensor itself, not the mosaic
    assert win.figures.export_tensor(tmp_path / "t.npy")
    assert win.figures.export_tensor(tmp_path / "t.csv")
    assert np.array_equal(np.load(tmp_path / "t.npy", allow_pickle=False), array)
    back = read_csv(tmp_path / "t.csv", dtype=array.dtype)
    assert back.shape == array.shape and np.array_equal(back, array)
    header = (tmp_path / "t.csv").read_text().splitlines()[0]
    assert header == ",".join([*axis_names(array.ndim), "value"])
