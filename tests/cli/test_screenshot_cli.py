"""`cnnviz screenshot`: a PNG of the requested size, and one-line errors for bad arguments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_screenshot_writes_a_png_of_the_requested_size(tmp_path):
    from PIL import Image

    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CNNVIZ_DATA_DIR=str(tmp_path / "d"))
    result = subprocess.run(
        [sys.executable, "-m", "cnnviz", "screenshot", "--preset", "square", "--step", "B2",
         "--unit", "1:0,0,2,3", "--tab", "deltas", "--size", "1000x700", "--theme", "dark",
         "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (1000, 700)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colors is not None and len(colors) > 50  # a real window, not a blank frame
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".png"] == ["shot.png"]


@pytest.mark.parametrize("args, message", [
    (["--size", "big"], "WIDTHxHEIGHT"),
    (["--size", "100x100"], "between"),
    (["--unit", "3-0,1"], "LAYER:n,c,i,j"),
    (["--out", "shot.jpg"], "must end in .png"),
])
def test_bad_arguments_give_a_one_line_error(tmp_path, capsys, args, message):
    argv = ["screenshot", "--preset", "square", "--out", str(tmp_path / "x.png"), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnviz screenshot: ") and message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_unknown_step_and_preset_are_reported(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "d"))
    out = str(tmp_path / "x.png")
    assert main(["screenshot", "--preset", "square", "--step", "B9", "--out", out]) == 2
    assert "--step 'B9'" in capsys.readouterr().err
    assert main(["screenshot", "--preset", "nope", "--out", out]) == 2
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_input_from_mnist_index_and_from_an_image_file(tmp_path, capsys, monkeypatch):
    import numpy as np
    from PIL import Image

    from cnnviz.commands.screenshot import load_input
    from cnnviz.data import open_dataset

    data = open_dataset("mnist")
    image, label = load_input("mnist:3", (1, 28, 28))
    np.testing.assert_array_equal(image, data.images[3])
    assert label == int(data.labels[3])
    drawing = np.zeros((56, 56), dtype=np.uint8)
    drawing[10:46, 24:32] = 255  # a white bar: a "1"
    path = tmp_path / "one.png"
    Image.fromarray(drawing).save(path)
    image, label = load_input(str(path), (1, 28, 28))
    assert image.shape == (1, 28, 28) and label is None
    assert image[0, 14, 14] > 0.5 and image[0, 14, 2] < 0.1
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "d"))
    out = tmp_path / "shot.png"
    assert main(["screenshot", "--input", str(path), "--step", "F0", "--out", str(out)]) == 0
    with Image.open(out) as shot:  # the default size is at least 1280×800
        assert shot.size[0] >= 1280 and shot.size[1] >= 800
    assert main(["screenshot", "--input", "mnist:999999", "--out", str(out)]) == 2
    assert "--input 'mnist:999999'" in capsys.readouterr().err


def test_unit_names_an_inner_layer_of_a_block_as_the_window_does(tmp_path, monkeypatch, qtbot):
    """--unit 4.body.1:0,2,5,6 selects unit (2, 5, 6) of block 4's inner layer body.1: the
    window shows that inner layer, as a click on its map would."""
    from PIL import Image
    from PySide6.QtCore import QSettings

    from cnnviz.app.controller import AppController
    from cnnviz.app.shell.main_window import MainWindow
    from cnnviz.commands.screenshot import drive, parse_unit

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "d"))
    assert parse_unit("4.body.1:0,2,5,6") == ("4.body.1", 0, (2, 5, 6))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    win = MainWindow(AppController("mini-resnet", user_weights=False), settings=settings,
                     theme="light", restore_layout=False)
    qtbot.addWidget(win)
    win.show()
    drive(win, "F4.1", parse_unit("4.body.1:0,2,5,6"), "auto")
    sel = win.ctrl.selection
    assert (sel.layer, sel.inner, sel.unit) == (4, "body.1", (2, 5, 6))
    assert "Layer 4.body.1 batchnorm2d" in win.panels["inspector"].title.text()
    assert "layer 4.body.1 unit [2,5,6]" in win.unit_label.text()
    out = tmp_path / "inner.png"  # and the whole command, in this process
    argv = ["screenshot", "--preset", "mini-resnet", "--weights", "fresh", "--step", "F4.1",
            "--unit", "4.body.1:0,2,5,6", "--size", "1280x800", "--out", str(out)]
    assert main(argv) == 0
    with Image.open(out) as shot:
        assert shot.size == (1280, 800)


@pytest.mark.parametrize("unit, words", [
    ("4.body.9:0,0,0,0", ["--unit 4.body.9:0,0,0,0: block 4 has no body layer 9",
                          "4.body.0…4.body.4"]),
    ("3.body.0:0,0,0,0", ["layer 3 (maxpool2d) is not a residual block"]),
    ("4.shortcut.0:0,0,0,0", ["block 4 has an identity shortcut"]),
    ("4.1:0,0,0,0", ["'4.1' is not a layer name", "step F4.1's layer is 4.body.1"]),
    ("13:0,0", ["there is no layer 13"]),
    ("4.body.1:0,99,0,0", ["unit (99, 0, 0) is not inside layer 4.body.1's output"]),
])
def test_a_bad_inner_layer_name_is_a_one_line_error(tmp_path, capsys, monkeypatch, unit, words):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "d"))
    out = tmp_path / "x.png"
    argv = ["screenshot", "--preset", "mini-resnet", "--weights", "fresh", "--size", "800x600",
            "--unit", unit, "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnviz screenshot: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err
    assert not out.exists()
