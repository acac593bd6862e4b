"""Sessions: round trips bit for bit, and every kind of bad file raises SessionError only."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.core.network import Network
from cnnviz.core.optim import Adam
from cnnviz.engine import session_io
from cnnviz.engine.metrics import History
from cnnviz.engine.selection import Selection
from cnnviz.engine.session import Session, SessionError, load_session, save_session
from cnnviz.engine.stepper import Stepper

SPEC = {
    "input": [1, 6, 6],
    "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": 3},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
    "loss": "cross_entropy",
}


def live_objects(dtype: str = "float64", cursor: str | None = "B2"):
    """A net trained one step with Adam, and a stepper part-way through a pass."""
    rng = np.random.default_rng(0)
    net = Network.from_spec(SPEC, seed=4, dtype=dtype)
    opt = Adam(lr=0.01)
    net.train_step(rng.random((4, 1, 6, 6)), np.array([0, 1, 2, 1]), opt)
    stepper = Stepper(net, rng.random((2, 1, 6, 6)), np.array([2, 0]), opt)
    stepper.breakpoints = {"L", "B0"}
    if cursor:
        stepper.seek(cursor)
    selection = Selection([l.out_shape for l in net.layers], batch_size=2)
    selection.select(2, (1, 0, 1))
    selection.example = 1
    history = History()
    history.add_batch({"step": 0, "epoch": 1, "loss": 1.5, "accuracy": 0.25, "lr": 0.01},
                      {"0.weight": 0.3}, {"0.weight": 0.01})
    history.add_epoch({"epoch": 1, "train_loss": 1.5, "train_accuracy": 0.25,
                       "test_loss": float("nan"), "test_accuracy": 0.5, "lr": 0.01,
                       "seconds": 0.2})
    extra = {"theme": "dark", "zoom": 1.5, "docks": ["pipeline", "explain"]}
    return net, opt, stepper, selection, history, extra


def assert_arrays_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def assert_opt_equal(a: dict, b: dict) -> None:
    assert (a["type"], a["hyperparams"]) == (b["type"], b["hyperparams"])
    assert a["state"].keys() == b["state"].keys()
    for p in a["state"]:
        assert a["state"][p].keys() == b["state"][p].keys()
        for k, v in a["state"][p].items():
            assert np.array_equal(v, b["state"][p][k]), (p, k)


@pytest.fixture
def saved(tmp_path):
    """A session file written from live objects, and the session itself."""
    objects = live_objects()
    session = Session.capture(*objects)
    path = tmp_path / "one.cnnviz"
    save_session(path, session)
    return path, session, objects


# ----- round trips -----

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_field_round_trips_bit_for_bit(tmp_path, dtype):
    net, opt, stepper, selection, history, extra = live_objects(dtype)
    session = Session.capture(net, opt, stepper, selection, history, extra)
    path = tmp_path / "s.cnnviz"
    save_session(path, session)
    back = load_session(path)
    assert back.spec == session.spec
    assert (back.dtype, back.seed) == (dtype, 4)
    assert_arrays_equal(back.state_dict, session.state_dict)
    assert_opt_equal(back.optimizer_state, session.optimizer_state)
    assert back.input.dtype == session.input.dtype
    assert np.array_equal(back.input, session.input)
    assert back.labels == [2, 0]
    assert (back.cursor, back.breakpoints) == (stepper.cursor, ["B0", "L"])
    assert back.history == history.to_dict()
    assert back.selection == {"layer": 2, "unit": [1, 0, 1], "example": 1}
    assert back.extra == extra
    assert back.created and back.app_version


def test_restore_rebuilds_the_objects_and_replays_the_stepper(saved):
    path, _, (net, opt, stepper, selection, history, extra) = saved
    restored = load_session(path).restore()
    assert_arrays_equal(restored.net.state_dict(), net.state_dict())
    assert_opt_equal(restored.optimizer.state_dict(), opt.state_dict())
    st2 = restored.stepper
    assert st2.cursor == stepper.cursor and st2.breakpoints == stepper.breakpoints
    assert st2.optimizer is restored.optimizer and st2.net is restored.net
    for a, b in zip(st2.records, stepper.records, strict=True):
        assert a.name == b.name
        assert_arrays_equal(a.values, b.values)
    assert restored.selection.to_dict() == selection.to_dict()
    assert restored.history.to_dict() == history.to_dict()
    assert restored.extra == extra
    # finishing the pass gives the same update in both
    stepper.run_all()
    st2.run_all()
    assert_arrays_equal(restored.net.state_dict(), net.state_dict())
    assert_opt_equal(restored.optimizer.state_dict(), opt.state_dict())


def test_a_session_saved_after_the_update_restores_the_updated_weights(tmp_path):
    net, opt, stepper, *_ = live_objects(cursor="U")
    session = Session.capture(net, stepper=stepper)
    assert_arrays_equal(session.state_dict, stepper.pass_params())
    save_session(tmp_path / "u.cnnviz", session)
    restored = load_session(tmp_path / "u.cnnviz").restore()
    assert restored.stepper.cursor == len(stepper.steps)
    assert_arrays_equal(restored.net.state_dict(), net.state_dict())
    assert_opt_equal(restored.optimizer.state_dict(), opt.state_dict())


def test_a_minimal_session_has_only_spec_and_weights(tmp_path):
    net = Network.from_spec(SPEC, seed=2)
    save_session(tmp_path / "m.cnnviz", Session.capture(net))
    back = load_session(tmp_path / "m.cnnviz")
    assert back.input is None and back.optimizer_state is None and back.history is None
    restored = back.restore()
    assert restored.stepper is None and restored.optimizer is None
    assert_arrays_equal(restored.net.state_dict(), net.state_dict())


def test_the_file_is_a_zip_of_json_and_npy_without_pickle(saved):
    path, session, _ = saved
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        for name in (n for n in names if n.endswith(".npy")):
            np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
    assert manifest["format"] == "cnnviz-session" and manifest["format_version"] == 1
    assert {"spec.json", "weights/0.weight.npy", "weights/4.bias.npy", "optimizer.json",
            "optimizer/0.weight/exp_avg.npy", "input.npy", "stepper.json", "history.json",
            "selection.json", "extra.json"} <= names


# ----- bad files -----

def rewrite(src: Path, dst: Path, change: dict[str, bytes | None]) -> Path:
    """Copy a session zip, replacing (bytes) or dropping (None) some entries."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            if name in change:
                if change[name] is not None:
                    zout.writestr(name, change[name])
            else:
                zout.writestr(name, zin.read(name))
        for name, data in change.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)
    return dst


def npy(a) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, a, allow_pickle=True)
    return buffer.getvalue()


def manifest(**kw) -> bytes:
    return json.dumps({"format": "cnnviz-session", "format_version": 1, **kw}).encode()


BAD = {
    "no manifest": ({"manifest.json": None}, "not a cnnviz session"),
    "foreign manifest": ({"manifest.json": b'{"format": "other"}'}, "not a cnnviz session"),
    "newer": ({"manifest.json": manifest(format_version=2, app_version="9.0")},
              "newer cnnviz"),
    "bad json": ({"spec.json": b"{nope"}, "spec.json is not valid JSON"),
    "bad spec": ({"spec.json": b'{"input": [1, 6, 6], "layers": []}'}, "spec.json"),
    "spec as a path": ({"spec.json": b'"/etc/passwd"'}, "spec.json must hold a JSON object"),
    "missing weight": ({"weights/4.bias.npy": None}, r"missing \['4.bias'\]"),
    "wrong shape": ({"weights/4.bias.npy": npy(np.zeros(5))}, r"shape \(5,\)"),
    "pickled weights": ({"weights/4.bias.npy": npy(np.array([None] * 3, dtype=object))},
                        "4.bias"),
    "integer weights": ({"weights/4.bias.npy": npy(np.zeros(3, dtype=np.int64))},
                        "float array"),
    "input shape": ({"input.npy": npy(np.zeros((2, 1, 5, 5)))}, "input.npy has shape"),
    "bad label": ({"stepper.json": b'{"cursor": 0, "breakpoints": [], "labels": [7, 0]}'},
                  "labels"),
    "bad cursor": ({"stepper.json": b'{"cursor": 99, "breakpoints": [], "labels": [1, 0]}'},
                   "cursor"),
    "bad breakpoint": ({"stepper.json": b'{"cursor": 0, "breakpoints": ["X"], "labels": [1, 0]}'},
                       "breakpoints"),
    "bad optimizer": ({"optimizer.json": b'{"type": "Adam", "hyperparams": {"lr": -1}, '
                                         b'"state": {}}'}, "optimizer"),
    "bad history": ({"history.json": b'{"batches": {"loss": "x"}}'}, "history.json"),
    "bad selection": ({"selection.json": b'{"layer": 42}'}, "selection.json"),
    "bad extra": ({"extra.json": b"[1, 2]"}, "extra.json"),
    "version as text": ({"manifest.json": manifest(format_version="1")}, "format_version"),
    "optimizer array shape": ({"optimizer/0.weight/exp_avg.npy": npy(np.zeros((2, 1, 3)))},
                              r"exp_avg.npy has shape \(2, 1, 3\)"),
    "optimizer array missing": ({"optimizer/0.weight/exp_avg.npy": None},
                                "has no optimizer/0.weight/exp_avg.npy"),
    "input not 4-d": ({"input.npy": npy(np.zeros((1, 6, 6)))}, "input.npy has shape"),
    "weights as text": ({"weights/0.weight.npy": b"0.1 0.2"}, "0.weight.npy is not a readable"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_inconsistent_files_raise_session_error_naming_the_problem(saved, tmp_path, case):
    path, *_ = saved
    change, message = BAD[case]
    bad = rewrite(path, tmp_path / "bad.cnnviz", change)
    with pytest.raises(SessionError, match=message) as info:
        load_session(bad)
    assert str(bad) in str(info.value)


def test_not_a_zip_missing_and_truncated_files(saved, tmp_path):
    path, *_ = saved
    junk = tmp_path / "junk.cnnviz"
    junk.write_bytes(b"hello, I am a text file\n" * 10)
    with pytest.raises(SessionError, match="not a zip file"):
        load_session(junk)
    with pytest.raises(SessionError, match="no such file"):
        load_session(tmp_path / "missing.cnnviz")
    with pytest.raises(SessionError, match="cannot read it"):
        load_session(tmp_path)
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 30):
        short = tmp_path / f"cut{cut}.cnnviz"
        short.write_bytes(data[:cut])
        with pytest.raises(SessionError):
            load_session(short)


def test_a_foreign_zip_is_not_a_session(tmp_path):
    """An .npz (a zip of .npy files) renamed to .cnnviz is named as not a session."""
    foreign = tmp_path / "weights.cnnviz"
    with open(foreign, "wb") as f:
        np.savez(f, w=np.zeros(3))
    with pytest.raises(SessionError, match="not a cnnviz session"):
        load_session(foreign)


def test_oversized_entries_are_refused_before_reading(saved, tmp_path, monkeypatch):
    path, *_ = saved
    monkeypatch.setattr(session_io, "MAX_TOTAL_BYTES", 1000)
    with pytest.raises(SessionError, match="unpacks to"):
        load_session(path)
    monkeypatch.undo()
    monkeypatch.setattr(session_io, "MAX_INPUT_BYTES", 100)
    with pytest.raises(SessionError, match="input.npy is .* bytes, more than"):
        load_session(path)
    monkeypatch.undo()
    # a weight file far larger than its shape allows (a zeros bomb: tiny compressed)
    bomb = rewrite(path, tmp_path / "bomb.cnnviz", {"weights/4.bias.npy": bytes(10**6)})
    with pytest.raises(SessionError, match="4.bias.npy is 1000000 bytes"):
        load_session(bomb)


def test_a_failed_load_leaves_the_callers_session_untouched(saved, tmp_path):
    path, session, (net, opt, stepper, *_) = saved
    current = load_session(path)
    weights_before = {k: v.copy() for k, v in current.state_dict.items()}
    net_before = net.state_dict()
    bad = rewrite(path, tmp_path / "bad.cnnviz", {"history.json": b"[]"})
    with pytest.raises(SessionError):
        current = load_session(bad)
    assert_arrays_equal(current.state_dict, weights_before)
    assert_arrays_equal(net.state_dict(), net_before)
    assert stepper.cursor == session.cursor


def test_saving_is_atomic(saved, tmp_path, monkeypatch):
    path, session, _ = saved
    original = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        save_session(path, session)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.cnnviz"]


@pytest.fixture(scope="module")
def clean_bytes(tmp_path_factory) -> bytes:
    """The bytes of a small valid session."""
    path = tmp_path_factory.mktemp("clean") / "c.cnnviz"
    save_session(path, Session.capture(*live_objects()))
    return path.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_bytes_load_or_raise_session_error_only(data, clean_bytes, tmp_path_factory):
    raw = bytearray(clean_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = tmp_path_factory.getbasetemp() / "fuzz.cnnviz"
    path.write_bytes(bytes(raw))
    try:
        result = load_session(path)
    except SessionError:
        return
    assert isinstance(result, Session)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_entries_with_valid_crcs_load_or_raise_session_error(data, clean_bytes,
                                                                     tmp_path_factory):
    """Mutate the content of one entry and re-zip it, so the validators (not CRCs) must cope."""
    with zipfile.ZipFile(io.BytesIO(clean_bytes)) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    name = data.draw(st.sampled_from(sorted(entries)))
    raw = bytearray(entries[name])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    entries[name] = bytes(raw)
    path = tmp_path_factory.getbasetemp() / "fuzz2.cnnviz"
    with zipfile.ZipFile(path, "w") as zf:
        for entry, content in entries.items():
            zf.writestr(entry, content)
    try:
        result = load_session(path)
    except SessionError:
        return
    assert isinstance(result, Session)
    result.restore()
