"""`cnnviz animate`: a GIF with one frame per window position, at the documented size."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import main

ROOT = Path(__file__).resolve().parents[2]


def animate(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run `python -m cnnviz animate …` offscreen."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CNNVIZ_DATA_DIR=str(tmp_path / "d"))
    return subprocess.run([sys.executable, "-m", "cnnviz", "animate", *argv],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
                          check=False)


@pytest.fixture
def square_input(tmp_path):
    """An 8×8 input for the square preset."""
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random((1, 8, 8)))
    return path


def test_gif_has_one_frame_per_position(tmp_path, square_input):
    """square: a 4×4 kernel on 8×8 gives a 5×5 map, so 25 frames, 1280×720."""
    from PIL import Image

    out = tmp_path / "conv.gif"
    result = animate(tmp_path, "--preset", "square", "--input", str(square_input), "--label",
                     "1", "--step", "F0", "--map", "0", "--fps", "5", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.size == (1280, 720) and gif.n_frames == 25
        assert gif.info["duration"] == 200 and gif.info["loop"] == 0
        gif.seek(24)
        colors = gif.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colors is not None and len(colors) > 20  # drawn, not blank


def test_an_inner_conv_of_a_residual_block_animates(tmp_path):
    """mini-resnet's F4.0 (block 4, body.0: 3×3 on 14×14, padding 1): 196 positions."""
    from PIL import Image

    out = tmp_path / "inner.gif"
    result = animate(tmp_path, "--preset", "mini-resnet", "--step", "F4.0", "--map", "2",
                     "--positions", "12", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as gif:
        assert gif.n_frames == 12 and gif.size == (1280, 720)


def test_backward_delta_as_numbered_pngs(tmp_path, square_input):
    """--step B0: δ_in of the 8×8 input fills; --positions keeps the first N; --size."""
    from PIL import Image

    result = animate(tmp_path, "--preset", "square", "--input", str(square_input), "--label",
                     "0", "--step", "B0", "--positions", "3", "--size", "1600x900",
                     "--mode", "convolution", "--out", str(tmp_path / "b0.png"))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tmp_path.glob("b0_*.png"))
    assert names == ["b0_0000.png", "b0_0001.png", "b0_0002.png"]
    with Image.open(tmp_path / "b0_0002.png") as image:
        assert image.size == (1600, 900)


@pytest.mark.parametrize(("args", "message"), [
    (["--step", "F1"], "slides no window"),
    (["--step", "F9"], "not a step of this pass"),
    (["--step", "F0", "--map", "4"], "out of range"),
    (["--step", "F0", "--size", "640x480"], "between 1280x720"),
    (["--step", "F0", "--out", "x.mp4"], "must end in .gif or .png"),
    (["--step", "F0", "--fps", "0"], "positive number"),
    (["--step", "F0", "--positions", "-2"], "whole number"),
])
def test_mistakes_are_one_line_errors(args, message, capsys, tmp_path, square_input):
    """Bad steps, maps, sizes and numbers: exit code 2 and a one-line message."""
    argv = ["animate", "--preset", "square", "--input", str(square_input), "--label", "1",
            "--out", str(tmp_path / "a.gif"), *args]
    try:
        code = main(argv)
    except SystemExit as raised:  # argparse's own checks
        code = raised.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_help_documents_frames_and_options(capsys):
    """--help says what a frame is and how many there are."""
    with pytest.raises(SystemExit):
        main(["animate", "--help"])
    out = capsys.readouterr().out
    for word in ("--fps", "--positions", "--mode", "one per window position", "1280x720"):
        assert word in out
