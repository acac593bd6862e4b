"""The command line with blocks, batch norm, dropout and colour: check, gradcheck, train."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnnviz.cli import main
from cnnviz.engine.session import load_session


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Remembered weights go to a temp folder, never the user's."""
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "userdata"))


def test_check_prints_both_branches_of_every_block(capsys):
    assert main(["check", "--preset", "mini-resnet"]) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines()]
    assert ["4.shortcut", "identity"] in rows and ["6.shortcut.0", "conv2d"] in rows
    assert ["6.body.3", "conv2d"] in rows and ["8.body.6", "conv2d"] in rows
    assert ["6", "residual"] in rows


def test_check_names_a_branch_mismatch(tmp_path, capsys):
    spec = {"input": [1, 8, 8], "layers": [
        {"type": "residual", "body": [{"type": "conv2d", "out_channels": 4, "kernel_size": 1}]},
        {"type": "flatten"}, {"type": "dense", "units": 2}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "layer 0 (residual)" in err and "1×1 projection shortcut" in err


@pytest.mark.parametrize("preset", ["mini-resnet", "lenet5-dropout", "rgb-shapes"])
def test_gradcheck_command_passes_on_the_new_presets(preset, capsys):
    assert main(["gradcheck", "--preset", preset, "--max-checks", "10"]) == 0
    assert "all" in capsys.readouterr().out


def test_train_rgb_shapes_on_colour_shapes_and_save(tmp_path, capsys):
    out = tmp_path / "run.cnnviz"
    code = main(["train", "--preset", "rgb-shapes", "--dataset", "shapes-rgb", "--epochs", "2",
                 "--json", "--save", str(out)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["state"] == "finished" and summary["test_accuracy"] > 1 / 9
    session = load_session(out)
    assert "1.running_mean" in session.state_dict
    assert np.any(session.state_dict["1.running_mean"] != 0)


def test_train_keeps_colour_of_an_image_folder_for_a_three_channel_network(tmp_path, capsys):
    for k, name in enumerate(("blue", "red")):
        (tmp_path / "data" / name).mkdir(parents=True)
        for j in range(5):
            rgb = np.zeros((16, 16, 3), np.uint8)
            rgb[..., 2 - 2 * k] = 120 + 20 * j
            Image.fromarray(rgb).save(tmp_path / "data" / name / f"{j}.png")
    spec = {"input": [3, 16, 16], "layers": [{"type": "flatten"}, {"type": "dense", "units": 2}]}
    (tmp_path / "rgb.json").write_text(json.dumps(spec))
    code = main(["train", "--spec", str(tmp_path / "rgb.json"), "--dataset",
                 str(tmp_path / "data"), "--epochs", "1", "--json"])
    assert code == 0
