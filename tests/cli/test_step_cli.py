"""`cnnviz step`: step summaries, --explain with its numbers, --json, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.core import Network
from cnnviz.core.optim import SGD
from cnnviz.core.presets import get_preset
from cnnviz.engine import Stepper


@pytest.fixture
def square_input(tmp_path):
    """An 8×8 input for the square preset, saved as .npy."""
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random((8, 8)))
    return path


def run(capsys, *argv):
    """main(argv) → (exit code, stdout, stderr); a preset runs on its fresh seeded weights
    (these tests compare with a freshly built network) unless --weights says otherwise."""
    if "--preset" in argv and "--weights" not in argv:
        argv = (*argv, "--weights", "fresh")
    code = main(["step", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def reference_stepper(x_path, label, **kw):
    """The stepper the CLI should build for the square preset in float64."""
    net = Network.from_spec(get_preset("square"), seed=kw.get("seed", 0), dtype="float64")
    st = Stepper(net, np.load(x_path)[None], label, SGD(lr=0.01))
    st.run_all()
    return st


def test_prints_every_step_and_the_loss(capsys, square_input):
    """Default: the whole pass, F0 … U, one summary per step with shapes and the loss."""
    code, out, _ = run(capsys, "--preset", "square", "--input", str(square_input),
                       "--label", "1", "--dtype", "float64")
    assert code == 0
    st = reference_stepper(square_input, 1)
    for rec in st.records:
        assert rec.summary() in out
    assert f"loss={float(st.record('L').values['loss']):.6g}" in out


def test_explain_weight_gradient_prints_the_formula(capsys, square_input):
    """--explain B0 weight:0,0,1,2 prints the sum with its numbers and the result."""
    code, out, _ = run(capsys, "--preset", "square", "--input", str(square_input),
                       "--label", "1", "--dtype", "float64", "--explain", "B0", "weight:0,0,1,2")
    assert code == 0
    ex = reference_stepper(square_input, 1).explain("B0", ("weight", (0, 0, 1, 2)))
    assert "explain B0 weight:0,0,1,2:" in out
    assert ex.text in out and "∂E/∂w[0,0,1,2] = δ[0,0,0,0]·o[0,0,1,2]" in out


def test_to_stops_early_and_json_reports_the_explanation(capsys, square_input):
    """--to L runs F0…L only; --json gives steps, tensors' stats and the explanation data."""
    code, out, _ = run(capsys, "--preset", "square", "--input", str(square_input),
                       "--label", "0", "--dtype", "float64", "--to", "L", "--json",
                       "--explain", "F0", "0,0,2,3")
    assert code == 0
    report = json.loads(out)
    assert [s["name"] for s in report["steps"]] == ["F0", "F1", "F2", "F3", "F4", "L"]
    st = reference_stepper(square_input, 0)
    assert report["steps"][-1]["loss"] == float(st.record("L").values["loss"])
    assert report["steps"][0]["tensors"]["output"]["shape"] == [1, 1, 5, 5]
    ex = report["explanation"]
    assert ex["value"] == pytest.approx(float(st.record("F0").values["output"][0, 0, 2, 3]))
    assert sum(a * b for a, b in ex["terms"]) + ex["constant"] == pytest.approx(ex["value"])


def test_explain_update_with_chosen_optimizer(capsys, square_input):
    """U's explanation uses the optimizer's rule; --optimizer/--lr are honoured."""
    code, out, _ = run(capsys, "--preset", "square", "--input", str(square_input),
                       "--label", "1", "--optimizer", "momentum", "--lr", "0.5",
                       "--explain", "U", "0.weight:0,0,1,2")
    assert code == 0
    assert "SGD(lr=0.5, momentum=0.9" in out and "v ← μ·v" in out


def test_dataset_example_and_weights_file(capsys, tmp_path):
    """--dataset/--index take the label from the data (--index counts in the test split,
    as `cnnviz export --index`); --weights loads a .npz."""
    other = Network.from_spec(get_preset("square"), seed=5, dtype="float64")
    weights = tmp_path / "w.npz"
    np.savez(weights, **other.state_dict())
    code, out, _ = run(capsys, "--preset", "square", "--dataset", "shapes", "--index", "2",
                       "--weights", str(weights), "--dtype", "float64", "--to", "F0", "--json")
    assert code == 0
    from cnnviz.data import open_dataset

    data = open_dataset("shapes", size=8, classes=("square", "other"))
    report = json.loads(out)
    test_images, test_labels = data.test()
    assert report["labels"] == [int(test_labels[2])]
    expected = other.layers[0].forward(test_images[2:3].astype(np.float64))
    assert report["steps"][0]["tensors"]["output"]["max"] == float(expected.max())


def test_image_with_digit_preprocessing(capsys, tmp_path):
    """--image --digit: a drawn digit (dark on white) becomes a 28×28 MNIST-like input."""
    from PIL import Image

    canvas = np.full((60, 40), 255, np.uint8)
    canvas[10:50, 18:23] = 0  # a "1"
    path = tmp_path / "one.png"
    Image.fromarray(canvas).save(path)
    code, out, _ = run(capsys, "--image", str(path), "--digit", "--label", "1", "--to", "F0")
    assert code == 0 and "1×1×28×28" in out and "labels 1" in out


def test_session_file(capsys, tmp_path, square_input):
    """--session reopens net, weights, optimizer and input of a saved session."""
    from cnnviz.engine.session import Session, save_session

    net = Network.from_spec(get_preset("square"), seed=4, dtype="float64")
    st = Stepper(net, np.load(square_input)[None], 1, SGD(lr=0.2))
    st.run_to("B2")
    save_session(tmp_path / "s.cnnviz", Session.capture(net, stepper=st))
    code, out, _ = run(capsys, "--session", str(tmp_path / "s.cnnviz"), "--json")
    assert code == 0
    st.run_all()
    report = json.loads(out)
    assert len(report["steps"]) == len(st.steps)
    assert report["steps"][5]["loss"] == float(st.record("L").values["loss"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--to", "X9"], "--to X9: not a step"),
    (["--to", "F2", "--explain", "B0", "0,0,0,0"], "--explain B0: that step has not run"),
    (["--explain", "F0", "a,b"], "expected integers"),
    (["--explain", "F0", "0,9,0,0"], "out of range"),
    (["--explain", "U", "7.weight:0,0"], "unknown parameter '7.weight'"),
    (["--optimizer", "sgdx"], "--optimizer sgdx: unknown optimizer"),
    (["--label", "1,2"], "2 label(s) for 1 input"),
    (["--digit", "--image", "missing.png", "--label", "1"], "--digit makes a 28×28 digit"),
    (["--dataset", "mnist"], "its images are (1, 28, 28), this network takes (1, 8, 8)"),
    (["--dataset", "mnist", "--index", "99999"], "--index 99999: the test split of mnist has"),
])
def test_bad_requests_exit_2_with_one_line(capsys, square_input, argv, message):
    """Mistakes print one line on stderr naming what was wrong, and exit 2."""
    base = ["--preset", "square", "--input", str(square_input)]
    if "--label" not in argv:
        base += ["--label", "1"]
    if "--image" in argv or "--dataset" in argv:
        base = ["--preset", "square"]
    code, _, err = run(capsys, *base, *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_input_files_exit_2(capsys, tmp_path, square_input):
    """Wrong shape, not an array, missing label, missing image, misfit weights: exit 2."""
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 5, 5)))
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not numpy")
    weights = tmp_path / "w.npz"
    np.savez(weights, **{"0.weight": np.zeros((2, 2))})
    cases = [
        (["--input", str(wrong), "--label", "0"], "this network takes numbers of shape"),
        (["--input", str(junk), "--label", "0"], "not a readable .npy array"),
        (["--input", str(square_input)], "--label is needed"),
        (["--image", str(tmp_path / "none.png"), "--label", "0"], "none.png"),
        (["--input", str(square_input), "--label", "0", "--weights", str(weights)],
         "--weights"),
        (["--input", str(square_input), "--label", "0", "--preset", "nosuch"], "nosuch"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, "--preset", "square", *argv)
        assert code == 2, argv
        assert message in err, (argv, err)


def test_entry_point_runs_in_a_subprocess(square_input):
    """`python -m cnnviz step` works end to end."""
    result = subprocess.run(
        [sys.executable, "-m", "cnnviz", "step", "--preset", "square", "--input",
         str(square_input), "--label", "1", "--explain", "L", "0,1"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "∂E/∂ŷ[0,1] = 1/1·ŷ[0,1] + (−t[0,1]/1)" in result.stdout


@pytest.mark.parametrize(("argv", "message"), [
    (["--digit"], "--digit prepares an --image"),
    (["--input", "missing.npy", "--label", "1"], "--input missing.npy: no such file"),
    (["--input", "X", "--label", "5"], "--label 5: labels must lie in 0..1"),
    (["--weights", "W", "--input", "X", "--label", "1"], "not an .npz archive of named arrays"),
    (["--seed", "-2"], "argument --seed: must be a whole number ≥ 0"),
    (["--lr", "-1", "--input", "X", "--label", "1"], "argument --lr: must be a finite number ≥ 0"),
    (["--input", "X", "--label", "1", "--index", "3"], "--index 3 picks a dataset example"),
])
def test_more_mistakes_are_named_in_one_line(capsys, tmp_path, monkeypatch, square_input,
                                            argv, message):
    """Each once passed silently, crashed, or gave numpy's words instead of the flag's."""
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "W.npy", np.zeros(3))  # one array where weights (.npz) belong
    files = {"X": str(square_input), "W": str(tmp_path / "W.npy")}
    try:
        code = main(["step", "--preset", "square", *(files.get(a, a) for a in argv)])
    except SystemExit as stop:  # the parser's own checks
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def session_with_adam(tmp_path, square_input):
    """A saved session of the square net with a stepper on square_input and Adam state."""
    from cnnviz.core.optim import Adam
    from cnnviz.engine.session import Session, save_session

    net = Network.from_spec(get_preset("square"), seed=4, dtype="float64")
    opt = Adam(lr=0.05)
    st = Stepper(net, np.load(square_input)[None], 1, opt)
    st.run_all()
    st.new_pass()
    path = tmp_path / "adam.cnnviz"
    save_session(path, Session.capture(net, stepper=st))
    return path


def test_a_sessions_optimizer_is_used_unless_flags_say_otherwise(capsys, tmp_path,
                                                                 square_input):
    """--session keeps its optimizer (and state); --lr changes its rate; --optimizer replaces it."""
    path = session_with_adam(tmp_path, square_input)
    _, out, _ = run(capsys, "--session", str(path), "--to", "F0")
    assert "optimizer Adam(lr=0.05" in out
    _, out, _ = run(capsys, "--session", str(path), "--lr", "0.5", "--explain", "U",
                    "0.bias:0")
    assert "optimizer Adam(lr=0.5" in out and "step = 2," in out  # Adam's state carried on
    _, out, _ = run(capsys, "--session", str(path), "--optimizer", "momentum", "--to", "F0")
    assert "optimizer SGD(lr=0.01, momentum=0.9" in out


def test_a_trained_session_without_input_steps_on_its_own_dataset(capsys, tmp_path,
                                                                   monkeypatch):
    """A session from `cnnviz train --dataset shapes` steps on shapes, not on 28×28 mnist."""
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "trained.cnnviz"
    assert main(["train", "--preset", "square", "--dataset", "shapes", "--epochs", "1",
                 "--save", str(path), "--no-remember"]) == 0
    capsys.readouterr()
    code, out, err = run(capsys, "--session", str(path), "--to", "L")
    assert code == 0, err
    assert "1×1×8×8" in out
