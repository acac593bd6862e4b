"""Remembered trained weights per preset, and reading weight files with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.network import Network
from cnnviz.engine.trainer import load_user_weights, save_user_weights, user_weights_path
from cnnviz.engine.userweights import load_weights_npz, save_weights_npz

TINY = {
    "input": [1, 8, 8],
    "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 2},
    ],
    "loss": "cross_entropy",
}


def tiny_net(seed: int = 0) -> Network:
    return Network.from_spec(TINY, seed=seed)


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_user_weights_round_trip_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "data"))
    path = user_weights_path("tiny")
    assert path == tmp_path / "data" / "weights" / "tiny.npz"
    fresh = tiny_net(seed=3)
    assert load_user_weights("tiny", fresh) is False
    trained = tiny_net(seed=1)
    assert save_user_weights("tiny", trained) == path
    assert load_user_weights("tiny", fresh) is True
    assert states_equal(fresh.state_dict(), trained.state_dict())
    other = Network.from_spec({**TINY, "layers": TINY["layers"][:-1] + [
        {"type": "dense", "units": 3}]})
    before = other.state_dict()
    assert load_user_weights("tiny", other) is False
    assert states_equal(before, other.state_dict())
    path.write_bytes(b"not a zip")
    assert load_user_weights("tiny", fresh) is False
    with pytest.raises(ValueError):
        user_weights_path("../evil")


def test_user_weights_default_to_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNVIZ_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert user_weights_path("lenet5") == tmp_path / "cnnviz" / "weights" / "lenet5.npz"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "share" / "cnnviz" / "weights" / "mlp.npz"
    assert user_weights_path("mlp") == expected


def test_weight_files_round_trip_and_bad_files_are_value_errors(tmp_path):
    """A .npz round-trips; a .npy, an image, a missing file: ValueError saying what it is."""
    net = tiny_net(seed=2)
    save_weights_npz(tmp_path / "w.npz", net.state_dict())
    assert states_equal(load_weights_npz(tmp_path / "w.npz"), net.state_dict())
    np.save(tmp_path / "one.npy", np.zeros(3))           # once a TypeError and a traceback
    (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    cases = [("one.npy", r"one array \(\.npy\), not an \.npz archive"),
             ("pic.png", "not an .npz archive"), ("none.npz", "no such file")]
    for name, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            load_weights_npz(tmp_path / name)
        assert name in str(info.value) and "pickle" not in str(info.value)
