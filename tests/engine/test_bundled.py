"""The weights shipped with cnnviz: one .npz and JSON per preset, small, float32, reaching
the test accuracy their JSON states; and seed 000's square detector in square-seed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from cnnviz.core.kernels import conv2d_forward
from cnnviz.core.network import Network
from cnnviz.core.presets import get_preset, preset_names
from cnnviz.core.seed_square import SEED_PATCH, SEED_W_T, SEED_W_TN, seed_filter_state
from cnnviz.core.spec import parse_spec
from cnnviz.data.fileio import bundled_file
from cnnviz.engine.bundled import (
    apply_weights,
    bundled_dataset,
    bundled_info,
    bundled_state,
    load_bundled_weights,
    open_dataset_fitting,
)
from cnnviz.engine.metrics import evaluate

SEED_000 = sorted(Path("/work/shared/seeds").glob("000_*.txt"))  # course material, if present
MAX_TOTAL_BYTES = 3 * 2**20


def net_of(preset: str, seed: int = 0) -> Network:
    return Network.from_spec(get_preset(preset), seed=seed)


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_ships_float32_weights_and_their_record(preset):
    info = bundled_info(preset)
    assert info is not None
    spec = parse_spec(get_preset(preset))
    assert info["preset"] == preset and info["dataset"] == bundled_dataset(spec)
    assert info["seed"] == 0 and info["command"] and info["date"] and info["cnnviz_version"]
    assert 0 < info["test_accuracy"] <= 1
    state = bundled_state(preset)
    assert all(v.dtype == np.float32 for v in state.values())
    assert state.keys() == net_of(preset).state_dict().keys()


def test_the_bundled_weights_are_small():
    files = [bundled_file("weights", f"{p}.npz") for p in preset_names()]
    assert sum(Path(str(f)).stat().st_size for f in files) < MAX_TOTAL_BYTES


@pytest.mark.slow
@pytest.mark.parametrize("preset", preset_names())
def test_bundled_weights_reach_the_accuracy_stored_beside_them(preset):
    net = net_of(preset)
    assert load_bundled_weights(preset, net)
    data = open_dataset_fitting(bundled_info(preset)["dataset"], net.spec)
    _, accuracy, _ = evaluate(net, *data.test())
    assert accuracy == pytest.approx(bundled_info(preset)["test_accuracy"], abs=0.0015)


def test_the_bundled_lenet5_predicts_the_default_seven():
    from cnnviz.data import open_dataset

    data = open_dataset("mnist")
    index = next(int(i) for i in data.test_indices if data.labels[i] == 7)
    net = net_of("lenet5")
    apply_weights(net, "bundled", "lenet5", "mnist")
    assert int(np.argmax(net.forward(data.images[index:index + 1]))) == 7


def test_weight_choices_and_their_errors(tmp_path):
    net = net_of("square")
    fresh = net.state_dict()
    assert apply_weights(net, "bundled", "square", "").startswith("bundled weights (shapes")
    assert not np.array_equal(net.state_dict()["0.weight"], fresh["0.weight"])
    assert apply_weights(net, "fresh", "square", "") == "fresh weights (seed 0)"
    assert np.array_equal(net.state_dict()["0.weight"], fresh["0.weight"])
    with pytest.raises(ValueError, match="no kept weights"):
        apply_weights(net, "user", "square", "shapes-8x8-2")
    with pytest.raises(ValueError, match="presets only"):
        apply_weights(net, "bundled", None, "")
    with pytest.raises(ValueError, match="do not fit"):
        apply_weights(net, str(bundled_file("weights", "lenet5.npz")), "square", "")


def cross_correlation(w: np.ndarray, patch: np.ndarray) -> float:
    """Σ W⊙I computed by the core's conv kernel (one 4×4 filter on one 4×4 patch)."""
    x = patch.reshape(1, 1, 4, 4).astype(np.float64)
    out = conv2d_forward(x, w.reshape(1, 1, 4, 4).astype(np.float64), np.zeros(1), (1, 1), (0, 0))
    assert out.shape == (1, 1, 1, 1)
    return float(out[0, 0, 0, 0])


def test_square_seed_is_seed_000s_filter_giving_580_99_against_180_42():
    state = bundled_state("square-seed")
    assert np.array_equal(state["0.weight"], seed_filter_state()["0.weight"])
    assert np.array_equal(state["0.bias"], [0.0])
    trained = cross_correlation(state["0.weight"].astype(np.float64), SEED_PATCH)
    assert round(trained, 2) == 580.99
    assert round(cross_correlation(SEED_W_T, SEED_PATCH), 2) == 180.42
    assert get_preset("square-seed") == get_preset("square")  # the same network


def bmatrix(text: str, name: str) -> np.ndarray:
    """The first \\begin{bmatrix} after `name` in the seed, as numbers (".0.2" is 0.2)."""
    body = text[text.index(name):].split(r"\begin{bmatrix}", 1)[1].split(r"\end{bmatrix}")[0]
    rows = [r for r in body.split(r"\\") if r.strip()]
    fix = {".0.2": "0.2"}
    return np.array([[float(fix.get(v.strip(), v.strip())) for v in r.split("&")] for r in rows])


@pytest.mark.skipif(not SEED_000, reason="the course seeds are not beside the repository")
def test_the_matrices_are_the_ones_seed_000_prints():
    text = SEED_000[0].read_text(encoding="utf-8")
    assert np.array_equal(bmatrix(text, "W_{t} ="), SEED_W_T)
    assert np.array_equal(bmatrix(text, "W_{t+n} ="), SEED_W_TN)
    assert np.array_equal(bmatrix(text, "I ="), SEED_PATCH)
    assert re.search(r"\.0\.2", text)  # the one malformed entry, read as 0.2 (gives 180.42)


def test_the_records_name_their_command():
    for preset in preset_names():
        info = json.loads(bundled_file("weights", f"{preset}.json").read_text("utf-8"))
        assert "CNNVIZ_THREADS=1" in info["command"] and preset in info["command"]
