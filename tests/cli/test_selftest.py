"""`cnnviz --self-test` passes offscreen and fails in plain words when something is broken;
`--version` answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz import __version__, cli
from cnnviz.core import kernels
from cnnviz.data import mnist

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_self_test_passes_offscreen_in_a_fresh_process():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "cnnviz", "--self-test"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"cnnviz {__version__} self-test")
    assert [line.split()[0] for line in lines[1:6]] == ["ok"] * 5
    assert "equals the NumPy reference" in run.stdout and "MNIST 5,000 images" in run.stdout
    assert lines[-1].startswith("self-test passed in")


def test_a_corrupt_data_file_fails_the_data_check(monkeypatch, tmp_path, capsys, qapp):
    corrupt = tmp_path / "mnist_5k.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is no longer an npz archive")
    monkeypatch.setattr(mnist, "bundled_file", lambda *parts: corrupt)
    mnist._cached.cache_clear()  # noqa: SLF001 - the loader caches the good file
    try:
        assert cli.main(["--self-test"]) == 1
    finally:
        monkeypatch.undo()
        mnist._cached.cache_clear()  # noqa: SLF001
    out, err = capsys.readouterr()
    assert "FAIL data: " in out and "bundled MNIST missing or damaged" in out
    assert "self-test failed at check 4 of 5 (data)" in err


def test_a_wrong_kernel_fails_the_numbers_check(monkeypatch, capsys, qapp):
    monkeypatch.setattr(kernels, "relu_forward", lambda x: np.abs(x))  # not a ReLU
    assert cli.main(["--self-test"]) == 1
    out, err = capsys.readouterr()
    assert "FAIL numbers: layer 1 (relu) forward differs from the NumPy reference" in out
    assert "self-test failed at check 3 of 5 (numbers)" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"cnnviz {__version__}"
