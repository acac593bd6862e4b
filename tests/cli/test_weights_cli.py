"""--weights bundled|fresh|user|FILE for step, export and screenshot; `train --remember`
(without it a run keeps nothing); screenshots of one panel as PNG (2×) or SVG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.engine.bundled import bundled_state
from cnnviz.engine.userweights import save_weights_npz, user_weights_path

QUICK = ["train", "--dataset", "shapes", "--epochs", "1", "--batch-size", "32"]


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """A fresh, empty data directory: no kept weights."""
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "userdata"))
    return tmp_path / "userdata"


def step_json(capsys, *args: str) -> dict:
    assert main(["step", "--to", "L", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def loss_of(report: dict) -> float:
    return next(s for s in report["steps"] if s["name"] == "L")["loss"]


def test_a_run_keeps_nothing_unless_asked(tmp_path, data_dir):
    assert main([*QUICK, "--preset", "square"]) == 0
    assert not (data_dir / "weights").exists()
    assert main([*QUICK, "--preset", "square", "--remember"]) == 0
    assert user_weights_path("square", "shapes-8x8-2").is_file()


def test_remember_needs_a_preset(tmp_path, capsys):
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps({"input": [1, 8, 8], "layers": [
        {"type": "flatten"}, {"type": "dense", "units": 2}], "loss": "mse"}))
    assert main([*QUICK, "--spec", str(spec), "--remember"]) == 2
    assert "--remember" in capsys.readouterr().err


def test_step_uses_the_bundled_weights_by_default_and_the_seven_is_a_seven(capsys):
    from cnnviz.data import open_dataset

    data = open_dataset("mnist")
    index = next(k for k, i in enumerate(data.test_indices) if data.labels[i] == 7)
    report = step_json(capsys, "--index", str(index))
    assert report["labels"] == [7]
    assert loss_of(report) < np.log(2)  # p(7) > 1/2: the network predicts 7
    fresh = step_json(capsys, "--index", str(index), "--weights", "fresh")
    assert loss_of(fresh) > 1.5  # about log(10): an untrained guess


def test_export_uses_the_bundled_weights_by_default(tmp_path):
    out = tmp_path / "p.npz"
    assert main(["export", "--preset", "square", "--dataset", "shapes", "--out", str(out)]) == 0
    with np.load(out) as arrays:
        assert np.array_equal(arrays["layer0.weight"], bundled_state("square")["0.weight"])
    assert main(["export", "--preset", "square", "--dataset", "shapes", "--weights", "fresh",
                 "--out", str(out)]) == 0
    with np.load(out) as arrays:
        assert not np.array_equal(arrays["layer0.weight"], bundled_state("square")["0.weight"])


def test_user_and_file_weights(tmp_path, capsys):
    args = ["export", "--preset", "square", "--dataset", "shapes", "--out", str(tmp_path / "p.npz")]
    assert main([*args, "--weights", "user"]) == 2
    assert "--weights user: no kept weights for square on shapes-8x8-2" in capsys.readouterr().err
    assert main([*QUICK, "--preset", "square", "--remember", "--seed", "5"]) == 0
    assert main([*args, "--weights", "user"]) == 0
    mine = {k: v * 0 + 0.5 for k, v in bundled_state("square").items()}
    save_weights_npz(tmp_path / "mine.npz", mine)
    assert main([*args, "--weights", str(tmp_path / "mine.npz")]) == 0
    with np.load(tmp_path / "p.npz") as arrays:
        assert np.all(arrays["layer4.weight"] == 0.5)


def test_screenshot_of_one_panel_as_png_at_2x_and_as_svg(tmp_path, capsys):
    from PIL import Image

    png, svg = tmp_path / "inspector.png", tmp_path / "pipeline.svg"
    assert main(["screenshot", "--preset", "square", "--step", "F0", "--panel", "inspector",
                 "--out", str(png)]) == 0
    width, height = (int(v) for v in capsys.readouterr().err.split("(")[-1][:-2].split("×"))
    with Image.open(png) as image:
        assert image.size == (width, height) and width > 400
    assert main(["screenshot", "--preset", "square", "--step", "B0", "--panel", "pipeline",
                 "--format", "svg", "--out", str(svg)]) == 0
    root = ET.parse(svg).getroot()
    assert any(e.tag.endswith("}image") for e in root.iter())
    assert main(["screenshot", "--panel", "nope", "--out", str(png)]) == 2
    assert "--panel 'nope'" in capsys.readouterr().err
    assert main(["screenshot", "--format", "svg", "--out", str(png)]) == 2
