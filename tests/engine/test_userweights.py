"""The user's kept weights per preset and dataset, and reading weight files with clear errors."""

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


def test_user_weights_round_trip_per_preset_and_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "data"))
    path = user_weights_path("tiny", "mnist")
    assert path == tmp_path / "data" / "weights" / "tiny" / "mnist.npz"
    fresh = tiny_net(seed=3)
    assert load_user_weights("tiny", "mnist", fresh) is False
    trained = tiny_net(seed=1)
    assert save_user_weights("tiny", "mnist", trained) == path
    assert load_user_weights("tiny", "shapes-8x8-2", fresh) is False  # another dataset
    assert load_user_weights("tiny", "mnist", fresh) is True
    assert states_equal(fresh.state_dict(), trained.state_dict())
    other = Network.from_spec({**TINY, "layers": TINY["layers"][:-1] + [
        {"type": "dense", "units": 3}]})
    before = other.state_dict()
    assert load_user_weights("tiny", "mnist", other) is False
    assert states_equal(before, other.state_dict())
    path.write_bytes(b"not a zip")
    assert load_user_weights("tiny", "mnist", fresh) is False
    with pytest.raises(ValueError):
        user_weights_path("../evil", "mnist")


def test_the_old_per_preset_file_is_not_read(tmp_path, monkeypatch):
    """cnnviz 0.1 saved <preset>.npz after every run, asked or not: it is left alone."""
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))
    (tmp_path / "weights").mkdir()
    save_weights_npz(tmp_path / "weights" / "tiny.npz", tiny_net(seed=1).state_dict())
    fresh = tiny_net(seed=3)
    assert load_user_weights("tiny", "mnist", fresh) is False
    assert states_equal(fresh.state_dict(), tiny_net(seed=3).state_dict())


def test_a_dataset_path_gets_a_safe_distinct_file_name(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))
    a = user_weights_path("lenet5", "/data/fashion mnist/train")
    b = user_weights_path("lenet5", "/other/fashion mnist/train")
    assert a != b and a.parent == b.parent == tmp_path / "weights" / "lenet5"
    assert a.name.startswith("train-") and " " not in a.name and "/" not in a.name[:-4]


def test_user_weights_default_to_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNVIZ_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    expected = tmp_path / "cnnviz" / "weights" / "lenet5" / "mnist.npz"
    assert user_weights_path("lenet5", "mnist") == expected
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "share" / "cnnviz" / "weights" / "mlp" / "mnist.npz"
    assert user_weights_path("mlp", "mnist") == expected


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
