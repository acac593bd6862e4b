"""`cnnviz train`: exit codes, --json lines, saving, progress output and error messages."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.engine.session import load_session
from cnnviz.engine.userweights import load_weights_npz

TINY = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 3, "kernel_size": 3},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "dense", "units": 2},
    ],
    "loss": "cross_entropy",
}
QUICK = ["train", "--dataset", "shapes", "--epochs", "2", "--batch-size", "32"]


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Remembered weights go to a temp folder, never the user's."""
    folder = tmp_path / "userdata"
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def tiny_spec(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return str(path)


def test_json_prints_one_object_per_epoch_then_a_summary(capsys, tiny_spec):
    assert main([*QUICK, "--spec", tiny_spec, "--json", "--lr", "0.01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 3
    for epoch, row in enumerate(rows[:2], start=1):
        assert row["epoch"] == epoch
        assert set(row) == {"epoch", "train_loss", "train_accuracy", "test_loss",
                            "test_accuracy", "lr", "seconds"}
        assert 0 <= row["test_accuracy"] <= 1 and row["train_loss"] > 0
    summary = rows[-1]
    assert summary["summary"] is True and summary["state"] == "finished"
    assert summary["epochs"] == 2
    assert summary["test_accuracy"] == rows[1]["test_accuracy"]
    assert summary["test_loss"] == rows[1]["test_loss"]
    assert summary["seconds"] > 0
    assert summary["shares"].startswith("threads (worker processes off")  # conftest


def test_plain_lines_when_not_a_terminal(capsys, tiny_spec):
    assert main([*QUICK, "--spec", tiny_spec]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("epoch 1/2: train loss") and "test loss" in lines[0]
    assert lines[-1].startswith("finished 2 epochs: test accuracy")
    assert "\r" not in captured.err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal(monkeypatch, tiny_spec):
    fake = _Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    assert main([*QUICK, "--spec", tiny_spec]) == 0
    text = fake.getvalue()
    assert "\repoch 2/2 [" in text and "batch" in text and "left" in text


def test_save_a_session_and_remember_the_preset_weights(tmp_path, data_dir, capsys):
    out = tmp_path / "run.cnnviz"
    args = [*QUICK, "--preset", "square", "--save", str(out), "--seed", "3", "--remember"]
    assert main(args) == 0
    session = load_session(out)
    assert session.history["epochs"]["epoch"] == [1, 2]
    assert session.extra["training"]["dataset"] == "shapes"
    assert session.optimizer_state["type"] == "Adam"
    remembered = load_weights_npz(data_dir / "weights" / "square" / "shapes-8x8-2.npz")
    assert remembered.keys() == session.state_dict.keys()
    for k, v in remembered.items():
        assert np.array_equal(v, session.state_dict[k])
    assert f"saved {out}" in capsys.readouterr().err


def test_save_weights_npz_and_no_remember(tmp_path, data_dir):
    out = tmp_path / "w.npz"
    assert main([*QUICK, "--preset", "square", "--save", str(out), "--no-remember",
                 "--dtype", "float64"]) == 0
    weights = load_weights_npz(out)
    assert set(weights) == {"0.weight", "0.bias", "4.weight", "4.bias"}
    assert all(w.dtype == np.float64 for w in weights.values())
    assert not (data_dir / "weights").exists()


def test_divergence_exits_3_with_a_message(capsys, tiny_spec):
    code = main([*QUICK, "--spec", tiny_spec, "--optimizer", "sgd", "--lr", "1e30",
                 "--schedule", "constant", "--no-augment"])
    assert code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("cnnviz train: training diverged: loss became")
    assert "lr 1e+30 is probably too high" in err[-1]


@pytest.mark.parametrize(("args", "needle"), [
    (["--preset", "nope"], "nope"),
    (["--preset", "square", "--dataset", "/no/such/data.npz"], "/no/such/data.npz"),
    (["--preset", "square", "--optimizer", "adamw"], "adamw"),
    (["--preset", "square", "--save", "out.txt"], "--save out.txt"),
    (["--preset", "square", "--dataset", "mnist"], "expects inputs of shape (1, 8, 8)"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, needle):
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cnnviz train: ")
    assert needle in err


@pytest.mark.parametrize("lr", ["-1", "0", "abc", "nan"])
def test_a_bad_learning_rate_is_refused_by_the_parser(capsys, lr):
    with pytest.raises(SystemExit) as info:
        main(["train", "--lr", lr])
    assert info.value.code == 2
    assert f"argument --lr: must be a positive number, got '{lr}'" in capsys.readouterr().err


def test_no_traceback_from_the_real_command():
    result = subprocess.run([sys.executable, "-m", "cnnviz", "train", "--preset", "nope"],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_describes_the_defaults(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--preset", "--spec", "--dataset", "--epochs", "--batch-size", "--optimizer",
                 "--lr", "--schedule", "--augment", "--seed", "--dtype", "--save", "--json",
                 "--remember"):
        assert flag in out


def test_ctrl_c_stops_after_the_batch_saves_and_exits_130(monkeypatch, capsys, tmp_path,
                                                          data_dir):
    import os
    import signal

    from cnnviz.commands import train

    original = train._Reporter.epoch

    def epoch_then_interrupt(self, row):
        original(self, row)
        if row["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(train._Reporter, "epoch", epoch_then_interrupt)
    before = signal.getsignal(signal.SIGINT)
    out = tmp_path / "partial.npz"
    code = main(["train", "--preset", "square", "--dataset", "shapes", "--epochs", "5",
                 "--json", "--save", str(out)])
    assert code == 130
    assert signal.getsignal(signal.SIGINT) is before
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[-1]["state"] == "stopped" and rows[-1]["epochs"] == 1
    assert out.exists()                                   # --save is honoured
    assert not (data_dir / "weights").exists()            # a partial run is not remembered


@pytest.mark.parametrize(("args", "needle"), [
    (["--seed", "-1"], "argument --seed: must be a whole number ≥ 0, got '-1'"),
    (["--eval-every", "-5"], "argument --eval-every: must be a whole number ≥ 0, got '-5'"),
    (["--epochs", "0"], "argument --epochs: must be a whole number ≥ 1, got '0'"),
    (["--schedule", "linear"], "argument --schedule: invalid choice: 'linear'"),
    (["--preset", "square", "--spec", "x.json"], "not allowed with argument --preset"),
])
def test_a_bad_flag_is_one_line_without_the_usage_block(capsys, args, needle):
    """Parser mistakes read like the command's own: one line, exit 2, pointing at --help."""
    with pytest.raises(SystemExit) as info:
        main(["train", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cnnviz train: ") and needle in err
    assert "usage:" not in err and "(see cnnviz train --help)" in err


def test_the_real_command_with_a_negative_seed_has_no_traceback():
    """`--seed -1` once crashed inside numpy's SeedSequence with a traceback."""
    result = subprocess.run([sys.executable, "-m", "cnnviz", "train", "--seed", "-1"],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "cnnviz train: argument --seed: must be a whole number ≥ 0, got '-1' "
        "(see cnnviz train --help)"]


def test_the_progress_bar_never_wraps_a_narrow_terminal(monkeypatch, tiny_spec):
    """Each redraw fits the terminal's width (a wrapped line cannot be redrawn in place)."""
    import os

    fake = _Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: os.terminal_size((40, 24)))
    assert main([*QUICK, "--spec", tiny_spec, "--epochs", "3"]) == 0
    redraws = [chunk for chunk in fake.getvalue().split("\r") if chunk.startswith("epoch")
               and "[" in chunk]
    assert redraws and all(len(chunk.split("\n")[0]) <= 39 for chunk in redraws)
