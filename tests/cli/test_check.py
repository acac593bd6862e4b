"""`cnnviz check`: the shape table for a good spec; one clear line and exit 2 for a bad one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz.cli import main
from cnnviz.core.presets import get_preset, preset_names

ROOT = Path(__file__).resolve().parents[2]
TOO_BIG_KERNEL = {
    "input": [1, 4, 4],
    "layers": [
        {"type": "conv2d", "out_channels": 1, "kernel_size": 7},
        {"type": "flatten"},
        {"type": "dense", "units": 2},
    ],
}
KERNEL_ERROR = (
    "cnnviz check: layer 0 (conv2d): kernel_size 7 does not fit its 4×4 input (with padding 0)"
)


def write(tmp_path: Path, spec: dict, name: str = "net.json") -> Path:
    """A spec file in the test's folder."""
    path = tmp_path / name
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def assert_lenet_table(out: str) -> None:
    """The LeNet-5 table: header, a formula row, the totals and the loss."""
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["layer", "type", "output", "params"]
    assert "⌊(28 − 5 + 2·2)/1⌋ + 1 = 28" in out
    assert "total parameters: 61,706" in lines
    assert "loss: cross_entropy (10 classes)" in lines


@pytest.mark.parametrize("argv", [["check", "--preset", "lenet5"], ["check", "lenet5"]])
def test_check_a_preset(capsys, argv):
    """A preset, by option or by name, prints its table and exits 0."""
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert_lenet_table(out)
    assert err == ""


def test_check_a_spec_file(tmp_path, capsys):
    """A spec file prints its table with every layer and exits 0."""
    path = write(tmp_path, get_preset("lenet5"), name="lenet.spec")
    assert main(["check", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert_lenet_table(out)
    assert sum(1 for line in out.splitlines() if line[:2].strip().isdigit()) == 12


def test_a_bad_spec_prints_the_error_and_exits_2(tmp_path, capsys):
    """The SpecError message alone on stderr, no traceback, exit code 2."""
    path = write(tmp_path, TOO_BIG_KERNEL)
    assert main(["check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == KERNEL_ERROR + "\n"


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["check", "missing.json"], ["spec file 'missing.json' not found"]),
        (["check", "lenet"], ["'lenet' is neither a spec file nor a preset", *preset_names()]),
        (["check", "--preset", "lenet"], ["unknown preset 'lenet'", "lenet5"]),
        (["check"], ["give either a spec file or --preset NAME"]),
        (["check", "lenet5", "--preset", "mlp"], ["give either a spec file or --preset NAME"]),
    ],
)
def test_usage_mistakes_are_one_line_exit_2(capsys, monkeypatch, tmp_path, argv, fragments):
    """A missing file, an unknown name, or no/two specs: one line on stderr, exit 2."""
    monkeypatch.chdir(tmp_path)  # an empty folder: no file is named like the arguments
    assert main(argv) == 2
    _, err = capsys.readouterr()
    assert err.startswith("cnnviz check: ")
    assert err.count("\n") == 1
    for fragment in fragments:
        assert fragment in err


def test_bad_json_says_where(tmp_path, capsys):
    """Broken JSON reports the file, line and column."""
    path = tmp_path / "broken.json"
    path.write_text('{"input": [1, 8, 8],\n "layers": [\n', encoding="utf-8")
    assert main(["check", str(path)]) == 2
    _, err = capsys.readouterr()
    assert "broken.json" in err and "not valid JSON at line 3" in err


def run_module(*args: str) -> subprocess.CompletedProcess:
    """`python -m cnnviz …` in a fresh interpreter."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "cnnviz", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_python_m_cnnviz_check(tmp_path):
    """The real command line: a preset exits 0 with the table, a bad spec exits 2, no traceback."""
    good = run_module("check", "--preset", "square")
    assert good.returncode == 0, good.stderr
    assert "total parameters: 27" in good.stdout
    assert "loss: mse (2 classes)" in good.stdout
    bad = run_module("check", str(write(tmp_path, TOO_BIG_KERNEL)))
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == KERNEL_ERROR + "\n"
