"""The command line with blocks, batch norm, dropout and colour: check, gradcheck, train."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from cnnviz.cli import main
from cnnviz.commands.common import open_dataset_for
from cnnviz.core import Network
from cnnviz.core.presets import get_preset
from cnnviz.engine import Session, Stepper, save_session
from cnnviz.engine.session import load_session
from cnnviz.engine.steps import step_names


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


def test_step_prints_every_inner_step_of_mini_resnet_and_explains_them(capsys):
    assert main(["step", "--preset", "mini-resnet", "--dataset", "mnist",
                 "--explain", "F6.s1", "0,3,2,2"]) == 0
    out = capsys.readouterr().out
    heads = [m.group(1) for m in re.finditer(r"^([FB]\d+(?:\.s?\d+)?|L|U) ", out, re.M)]
    net = Network.from_spec(get_preset("mini-resnet"))
    assert heads[:len(step_names(net.spec))] == step_names(net.spec)
    assert "F6.s0 conv2d  (block 6, shortcut.0)" in out and "B8   residual" in out
    assert "explain F6.s1 0,3,2,2" in out and "μ_B[3]" in out and "x̂[0,3,2,2]" in out


@pytest.mark.parametrize(("step", "unit", "needle"), [
    ("F4", "0,1,2,3", "identity shortcut"), ("B6", "0,1,2,3", "δ_in,shortcut"),
    ("B4.1", "0,1,2,3", "Σ(δ·x̂)"), ("B8.6", "weight:3,1,0,0", "∂E/∂w[3,1,0,0]")])
def test_step_explains_block_steps_as_json(capsys, step, unit, needle):
    assert main(["step", "--preset", "mini-resnet", "--explain", step, unit, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert needle in report["explanation"]["text"]
    explained = report["explanation"]
    assert abs(explained["value"] - explained["recorded"]) <= 1e-5 * (1 + abs(explained["value"]))
    assert {"inner": "body.0", "name": "F4.0"}.items() <= report["steps"][4].items()


def test_step_to_an_inner_step_stops_there(capsys):
    assert main(["step", "--preset", "mini-resnet", "--to", "F6.s0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"][-1]["name"] == "F6.s0"


def test_export_writes_inner_step_tensors_by_step_name(tmp_path, capsys):
    out = tmp_path / "pass.npz"
    assert main(["export", "--preset", "lenet5-dropout", "--index", "2", "--seed", "3",
                 "--weights", "fresh", "--out", str(out)]) == 0
    assert main(["export", "--preset", "mini-resnet", "--index", "2", "--seed", "3",
                 "--weights", "fresh", "--out", str(tmp_path / "resnet.npz")]) == 0
    net = Network.from_spec(get_preset("mini-resnet"), seed=3)
    x, y = open_dataset_for("mnist", net).test()
    st = Stepper(net, x[2:3], y[2:3])
    st.run_to("B0")
    with np.load(tmp_path / "resnet.npz", allow_pickle=False) as f:
        got = {k: f[k] for k in f.files}
    for key in ("F4.0.output", "F6.s0.output", "F6.body_output", "B6.s0.grad_input",
                "B4.0.block_grad_input", "F1.running_mean_after", "B8.7.grad_weight"):
        step, name = key.rsplit(".", 1)
        np.testing.assert_array_equal(got[key], st.record(step).values[name], err_msg=key)
    np.testing.assert_array_equal(got["layer6.body.0.weight_grad"],
                                  st.record("B6.0").values["grad_weight"])
    np.testing.assert_array_equal(got["input_grad"], st.record("B0").values["grad_input"])
    with np.load(out, allow_pickle=False) as f:
        assert "F9.mask" in f.files and "F12.mask" in f.files and "layer10.output" in f.files


def test_step_reopens_a_session_of_a_stepped_block_pass(tmp_path, capsys):
    net = Network.from_spec(get_preset("lenet5-dropout"), seed=1)
    x = np.random.default_rng(0).random((2, 1, 28, 28))
    st = Stepper(net, x, np.array([3, 4]))
    st.run_to("F9")
    save_session(tmp_path / "s.cnnviz", Session.capture(net, stepper=st))
    st.run_all()
    assert main(["step", "--session", str(tmp_path / "s.cnnviz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"][-1]["name"] == "U"
    mask = report["steps"][9]["tensors"]["mask"]
    assert mask["mean"] == float(st.record("F9").values["mask"].astype(np.float64).mean())
