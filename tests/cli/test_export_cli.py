"""`cnnviz export`: a pass's tensors as .npz, a session's history as CSV, and errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.commands.common import open_dataset_for
from cnnviz.core.network import Network
from cnnviz.core.presets import get_preset
from cnnviz.engine.session import Session, save_session
from cnnviz.engine.stepper import Stepper


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "userdata"))


def test_a_pass_is_exported_with_every_tensor(tmp_path, capsys):
    out = tmp_path / "pass.npz"
    args = ["export", "--preset", "square", "--dataset", "shapes", "--index", "3",
            "--seed", "2", "--weights", "fresh", "--out", str(out)]
    assert main(args) == 0
    assert f"to {out}" in capsys.readouterr().out
    net = Network.from_spec(get_preset("square"), seed=2)
    x, y = open_dataset_for("shapes", net).test()
    p = net.run_pass(x[3:4], y[3:4])
    with np.load(out, allow_pickle=False) as f:
        got = {k: f[k] for k in f.files}
    assert np.array_equal(got["input"], p.input) and got["label"].tolist() == [y[3]]
    assert float(got["loss"]) == p.loss
    assert np.array_equal(got["input_grad"], p.input_grad)
    for i in range(len(net.layers)):
        assert np.array_equal(got[f"layer{i}.output"], p.outputs[i])
        assert np.array_equal(got[f"layer{i}.output_grad"], p.output_grads[i])
    assert np.array_equal(got["layer2.argmax"], p.pool_argmax[2])
    for name in ("0.weight", "0.bias", "4.weight", "4.bias"):
        layer, param = name.split(".")
        assert np.array_equal(got[f"layer{layer}.{param}_grad"], p.grads[name])
        assert np.array_equal(got[f"layer{layer}.{param}"], net.params()[name])
    assert json.loads(str(got["spec"])) == net.spec.to_dict()


def test_a_sessions_input_and_weights_are_used(tmp_path):
    net = Network.from_spec(get_preset("square"), seed=5, dtype="float64")
    x = np.random.default_rng(0).random((2, 1, 8, 8))
    stepper = Stepper(net, x, np.array([1, 0]))
    session_path = tmp_path / "s.cnnviz"
    save_session(session_path, Session.capture(net, stepper=stepper))
    out = tmp_path / "pass.npz"
    assert main(["export", "--session", str(session_path), "--dtype", "float64",
                 "--out", str(out)]) == 0
    p = net.run_pass(x, np.array([1, 0]))
    with np.load(out) as f:
        assert f["label"].tolist() == [1, 0]
        assert np.array_equal(f["layer4.output"], p.outputs[4])
        assert np.array_equal(f["layer0.weight_grad"], p.grads["0.weight"])


def test_an_input_file_without_a_label_uses_the_prediction(tmp_path):
    x = np.random.default_rng(1).random((1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "pass.npz"
    assert main(["export", "--preset", "square", "--input", str(tmp_path / "x.npy"),
                 "--out", str(out)]) == 0
    net = Network.from_spec(get_preset("square"))
    with np.load(out) as f:
        assert f["label"].tolist() == [int(np.argmax(net.forward(x)))]


def test_history_of_a_trained_session_as_csv(tmp_path, capsys):
    session_path = tmp_path / "trained.cnnviz"
    assert main(["train", "--preset", "square", "--dataset", "shapes", "--epochs", "2",
                 "--save", str(session_path), "--no-remember"]) == 0
    out = tmp_path / "epochs.csv"
    assert main(["export", "--session", str(session_path), "--history",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[-1]["test_accuracy"]) >= 0
    batches = tmp_path / "batches.csv"
    assert main(["export", "--session", str(session_path), "--history", "--table", "batches",
                 "--out", str(batches)]) == 0
    header = batches.read_text().splitlines()[0]
    assert "grad_norm[0.weight]" in header and "update_ratio[4.bias]" in header


@pytest.mark.parametrize(("args", "needle"), [
    (["--preset", "square", "--history", "--out", "h.csv"], "--history needs --session"),
    (["--session", "missing.cnnviz", "--out", "p.npz"], "missing.cnnviz: no such file"),
    (["--preset", "square", "--out", "p.txt"], "a pass is written as .npz"),
    (["--preset", "square", "--dataset", "shapes", "--index", "9999", "--out", "p.npz"],
     "--index 9999"),
    (["--preset", "nope", "--out", "p.npz"], "nope"),
    (["--preset", "square", "--out", "/no/such/dir/p.npz"], "does not exist"),
    (["--preset", "square", "--trained", "--out", "p.npz"], "--trained"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, args, needle):
    monkeypatch.chdir(tmp_path)
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cnnviz export: ")
    assert needle in err


def test_a_wrongly_shaped_input_file_is_named(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((3, 5)))
    assert main(["export", "--preset", "square", "--input", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "p.npz")]) == 2
    assert "x.npy" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["export", "--help"])
    assert info.value.code == 0
    assert "layer3.output" in capsys.readouterr().out


def test_more_bad_inputs_are_named(tmp_path, monkeypatch, capsys):
    """NaN input, a missing --input, a negative seed, a dataset that does not fit: one line."""
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "nan.npy", np.full((1, 8, 8), np.nan))
    cases = [
        (["--input", "nan.npy"], "nan.npy: the input contains NaN or infinity"),
        (["--input", "none.npy"], "--input none.npy: no such file"),
        (["--seed", "-1"], "argument --seed: must be a whole number ≥ 0"),
        ([], "dataset mnist (the default): its images are (1, 28, 28), this network takes"),
    ]
    for args, needle in cases:
        try:
            code = main(["export", "--preset", "square", *args, "--out", "p.npz"])
        except SystemExit as stop:
            code = stop.code
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and needle in err, (args, err)
        assert not (tmp_path / "p.npz").exists()


def test_a_trained_session_exports_on_its_dataset_and_dtype(tmp_path, capsys):
    """Without --dataset/--dtype, a session from `cnnviz train` keeps its own."""
    session_path = tmp_path / "s64.cnnviz"
    assert main(["train", "--preset", "square", "--dataset", "shapes", "--epochs", "1",
                 "--dtype", "float64", "--save", str(session_path), "--no-remember"]) == 0
    out = tmp_path / "p.npz"
    assert main(["export", "--session", str(session_path), "--index", "2",
                 "--out", str(out)]) == 0
    with np.load(out) as data:
        assert data["logits"].dtype == np.float64 and data["input"].shape == (1, 1, 8, 8)
        expected = open_dataset_for("shapes", Network.from_spec(get_preset("square")))
        assert np.array_equal(data["input"][0], expected.test()[0][2])
    assert main(["export", "--session", str(session_path), "--dtype", "float32",
                 "--out", str(out)]) == 0
    with np.load(out) as data:
        assert data["logits"].dtype == np.float32
