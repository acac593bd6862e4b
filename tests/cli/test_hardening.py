"""Hostile command lines (issue 13): every one ends in one line on stderr and exit code 2,
never a traceback, a hang, an exhausted memory or a lost file."""

from __future__ import annotations

import gzip
import json
import os
import re
import struct
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.core import Network
from cnnviz.core.presets import get_preset
from cnnviz.engine.session import Session, SessionError, load_session, save_session

ROOT = Path(__file__).resolve().parents[2]
TEN_DENSE_7000 = {"input": [1, 28, 28], "layers": [{"type": "flatten"}] + [
    {"type": "dense", "units": 7000} for _ in range(10)] + [{"type": "dense", "units": 10}]}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """main(argv) as the shell sees it: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv: str) -> str:
    """Run argv, assert exit 2 with exactly one line on stderr and no traceback; the line."""
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (argv, code, err)
    return err


def cli(*argv: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """`python -m cnnviz argv` in a subprocess, with extra environment variables."""
    return subprocess.run([sys.executable, "-m", "cnnviz", *argv], cwd=ROOT, timeout=timeout,
                          capture_output=True, env={**os.environ, **env}, check=False)


# ----- 2. one shared argument type: bad numbers are one line ----------------------------

@pytest.mark.parametrize(("argv", "needle"), [
    (["gradcheck", "--preset", "square", "--seed", "-1"], "--seed: must be a whole number ≥ 0"),
    (["gradcheck", "--preset", "square", "--batch", "0"], "--batch: must be a whole number ≥ 1"),
    (["gradcheck", "--preset", "square", "--max-checks", "-3"], "--max-checks"),
    (["gradcheck", "--preset", "square", "--tolerance", "nan"], "--tolerance: must be a positive"),
    (["gradcheck", "--preset", "square", "--tolerance", "inf"], "--tolerance: must be a positive"),
    (["screenshot", "--seed", "-1", "--out", "x.png"], "--seed: must be a whole number ≥ 0"),
    (["screenshot", "--label", "-1", "--out", "x.png"], "--label: must be a whole number ≥ 0"),
    (["bench", "--repeats", "0"], "--repeats: must be a whole number ≥ 1"),
    (["bench", "--threads", "two"], "--threads: must be a whole number ≥ 1"),
    (["step", "--index", "-1"], "--index: must be a whole number ≥ 0"),
    (["step", "--lr", "nan"], "--lr: must be a finite number ≥ 0"),
    (["export", "--preset", "square", "--index", "-1", "--out", "p.npz"], "--index: must be"),
    (["export", "--preset", "square", "--label", "-2", "--out", "p.npz"], "--label: must be"),
    (["train", "--seed", str(2**63)], "--seed: must be at most 2^63 - 1"),
    (["train", "--batch-size", "1e3"], "--batch-size: must be a whole number ≥ 1"),
])
def test_bad_numbers_are_one_line(capsys, argv, needle):
    assert needle in one_line_error(capsys, *argv)


def test_no_plain_int_or_float_argument_types_are_left():
    """Every number option uses cnnviz.commands.argtypes (bounds, finite floats)."""
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "cnnviz").rglob("*.py")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if re.search(r"\btype=(int|float)\b", line)]
    assert offenders == []


# ----- 2. sessions: everything validated at load time -----------------------------------

def _session_file(tmp_path: Path, change) -> Path:
    """A valid session with an input, re-zipped after change(entries) edits its entries."""
    net = Network.from_spec(get_preset("square"), seed=0)
    x = np.random.default_rng(0).random((1, 1, 8, 8)).astype(np.float32)
    good = tmp_path / "good.cnnviz"
    save_session(good, Session(spec=net.spec.to_dict(), state_dict=net.state_dict(), input=x,
                               labels=[1]))
    with zipfile.ZipFile(good) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    change(entries)
    bad = tmp_path / "bad.cnnviz"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return bad


def _manifest_seed(value):
    def change(entries):
        manifest = json.loads(entries["manifest.json"])
        manifest["seed"] = value
        entries["manifest.json"] = json.dumps(manifest).encode()
    return change


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _poison_weight(value: float):
    def change(entries):
        name = next(n for n in entries if n.startswith("weights/") and "weight" in n)
        array = np.load(__import__("io").BytesIO(entries[name]))
        array.reshape(-1)[0] = value
        entries[name] = _npy_bytes(array)
    return change


@pytest.mark.parametrize("change", [_manifest_seed(-1), _manifest_seed(2**64),
                                    _poison_weight(np.nan), _poison_weight(np.inf)],
                         ids=["seed -1", "seed 2^64", "NaN weight", "inf weight"])
def test_a_bad_session_is_refused_at_load_time_without_warnings(tmp_path, capsys, change):
    """Once: seed -1 passed load_session and raised ValueError in restore(); NaN weights
    loaded silently with raw RuntimeWarnings."""
    path = _session_file(tmp_path, change)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SessionError, match="bad.cnnviz: (manifest seed|weights/)"):
            load_session(path)
        for command in (["step", "--session", str(path)],
                        ["export", "--session", str(path), "--out", str(tmp_path / "p.npz")]):
            assert "bad.cnnviz" in one_line_error(capsys, *command)
    assert not (tmp_path / "p.npz").exists()


def test_restore_raises_session_error_not_value_error():
    net = Network.from_spec(get_preset("square"), seed=0)
    session = Session(spec=net.spec.to_dict(), state_dict=net.state_dict(), seed=-1)
    with pytest.raises(SessionError, match="seed"):
        session.restore()


# ----- 2. .npy headers are checked against the memory budget before reading ------------

def _huge_npy(path: Path) -> Path:
    """A .npy whose header claims (1, 1, 8e6, 1e7) float32: about 291 TiB."""
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (1, 1, 8_000_000, 10_000_000)})
        f.write(bytes(64))
    return path


@pytest.mark.parametrize("command", ["step", "export"])
def test_a_npy_header_claiming_285_tib_is_refused(tmp_path, capsys, command):
    huge = _huge_npy(tmp_path / "huge.npy")
    argv = [command, "--preset", "square", "--input", str(huge), "--label", "0"]
    if command == "export":
        argv += ["--out", str(tmp_path / "p.npz")]
    err = one_line_error(capsys, *argv)
    assert "huge.npy" in err and "TiB" in err and "memory limit" in err


def test_a_pickled_weights_npz_is_reported_as_pickled(tmp_path, capsys):
    weights = tmp_path / "w.npz"
    np.savez(weights, **{"0.weight": np.array([{"evil": 1}], dtype=object)})
    err = one_line_error(capsys, "step", "--preset", "square", "--weights", str(weights))
    assert "contains pickled objects, which cnnviz refuses to load" in err
    assert "not an .npz archive" not in err


# ----- 2. every command prints on any terminal encoding ---------------------------------

@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
@pytest.mark.parametrize("argv", [
    ["check", "--preset", "lenet5"],
    ["gradcheck", "--preset", "square", "--max-checks", "3"],
    ["step", "--preset", "square", "--dataset", "shapes", "--explain", "F0", "0,0,0,0"],
    ["bench", "--preset", "bogus"],
    ["gradcheck", "--preset", "square", "--seed", "-1"],
])
def test_every_command_prints_on_any_terminal_encoding(argv, encoding):
    result = cli(*argv, PYTHONIOENCODING=encoding)
    stderr = result.stderr.decode(encoding)
    assert "UnicodeEncodeError" not in stderr and "Traceback" not in stderr, stderr
    assert result.returncode in (0, 2), stderr
    result.stdout.decode(encoding)  # what was printed is valid in that encoding


def test_unencodable_symbols_become_ascii_stand_ins(monkeypatch):
    import io

    from cnnviz.console import printable_streams

    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    printable_streams()
    print("⌊(W − F)/S⌋ δ ≥ 1 ✓ ☃")
    stream.flush()
    assert stream.buffer.getvalue() == b"floor((W - F)/S) delta >= 1 ok ?\n"


# ----- 3. the memory budget -------------------------------------------------------------

@pytest.fixture
def four_gib(monkeypatch):
    """A fixed limit, so the result does not depend on this machine's memory."""
    monkeypatch.setenv("CNNVIZ_MEMORY_LIMIT", "4G")


def test_ten_7000_unit_dense_layers_pass_check_but_step_refuses(tmp_path, capsys, four_gib):
    """Once: check passed, then step climbed to 12 GB and died with a MemoryError."""
    spec = tmp_path / "big.json"
    spec.write_text(json.dumps(TEN_DENSE_7000))
    code, out, _ = run(capsys, "check", str(spec))
    assert code == 0 and "WARNING" in out and "GiB" in out
    start = time.perf_counter()
    err = one_line_error(capsys, "step", "--spec", str(spec))
    assert time.perf_counter() - start < 5
    assert re.search(r"would need about \d+\.\d GiB of memory, more than the memory limit "
                     r"of 4\.0 GiB", err), err
    for argv in (["train", "--spec", str(spec), "--dataset", "mnist"],
                 ["export", "--spec", str(spec), "--out", str(tmp_path / "p.npz")],
                 ["gradcheck", "--spec", str(spec)]):
        assert "more than the memory limit" in one_line_error(capsys, *argv)


def test_gradcheck_with_a_huge_batch_refuses_before_allocating(capsys, four_gib):
    """Once: gradcheck --preset lenet5 --batch 100000 was killed by the OOM killer."""
    err = one_line_error(capsys, "gradcheck", "--preset", "lenet5", "--batch", "100000")
    assert "batch 100000" in err and "more than the memory limit of 4.0 GiB" in err


def test_gradcheck_refuses_with_the_default_limit_too():
    """Without the override the limit is half the available memory: 75 GiB is refused on
    any machine with less than 150 GiB available."""
    from cnnviz.data.budget import available_bytes

    if (available_bytes() or 0) > 150 * 2**30:
        pytest.skip("this machine has room for it")
    env = {k: v for k, v in os.environ.items() if k != "CNNVIZ_MEMORY_LIMIT"}
    result = subprocess.run([sys.executable, "-m", "cnnviz", "gradcheck", "--preset", "lenet5",
                             "--batch", "100000"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 2 and "half the available memory" in result.stderr


def test_a_small_gzip_idx_declaring_2_gib_is_refused_from_its_header(tmp_path, monkeypatch):
    """Once: a 9 MB gzip IDX declaring 2 GiB reached a MemoryError after 45 s."""
    from cnnviz.data.errors import DataError
    from cnnviz.data.idx import load_idx

    monkeypatch.setenv("CNNVIZ_MEMORY_LIMIT", "8G")
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2048, 1024, 1024)  # 2 GiB of u8
    with gzip.open(path, "wb") as f:
        f.write(header + bytes(1 << 20))
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"IDX header \(2048, 1024, 1024\).*would need about "
                                        r"\d+\.\d GiB.*memory limit of 8\.0 GiB"):
        load_idx(path)
    assert time.perf_counter() - start < 2


# ----- 4. and 5. only regular files; a missing path or a folder says so ------------------

@pytest.mark.timeout(60)
def test_a_fifo_as_a_spec_path_does_not_block_check(tmp_path):
    fifo = tmp_path / "net.json"
    os.mkfifo(fifo)
    result = cli("check", str(fifo), timeout=30)
    assert result.returncode == 2
    assert b"named pipe (FIFO), not a regular file" in result.stderr


@pytest.mark.timeout(60)
def test_every_reader_refuses_a_fifo_without_blocking(tmp_path, capsys):
    """Weights, sessions, --input arrays, images, IDX and dataset paths alike."""
    from cnnviz.data import load_image, open_dataset
    from cnnviz.data.errors import DataError
    from cnnviz.data.idx import load_idx
    from cnnviz.engine.userweights import load_weights_npz

    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    for read, error in [(load_weights_npz, ValueError), (load_session, SessionError),
                        (load_image, DataError), (load_idx, DataError),
                        (open_dataset, DataError)]:
        with pytest.raises(error, match="named pipe"):
            read(fifo)
    for argv in (["step", "--preset", "square", "--input", str(fifo), "--label", "0"],
                 ["step", "--preset", "square", "--weights", str(fifo)],
                 ["train", "--spec", str(fifo)]):
        assert "named pipe" in one_line_error(capsys, *argv)


@pytest.mark.parametrize(("argv", "needle"), [
    (["check", "no/such/net"], "spec file 'no/such/net' not found"),
    (["gradcheck", "--spec", "missing"], "spec file 'missing' not found"),
    (["train", "--spec", "missing"], "spec file 'missing' not found"),
    (["step", "--spec", "missing"], "spec file 'missing' not found"),
    (["check", "FOLDER"], "is a directory"),
    (["gradcheck", "--spec", "FOLDER"], "is a directory"),
])
def test_a_missing_spec_or_a_folder_is_named_not_called_bad_json(tmp_path, capsys, argv,
                                                                 needle):
    (tmp_path / "folder").mkdir()
    argv = [str(tmp_path / "folder") if a == "FOLDER" else a for a in argv]
    err = one_line_error(capsys, *argv)
    assert needle in err and "JSON" not in err


# ----- 6. --save is checked before training; remembering is a warning -------------------

@pytest.mark.parametrize(("target", "needle"), [
    ("DIR", "is a directory"), ("nofolder/w.npz", "does not exist"),
    ("AFILE/w.npz", "does not exist")])
def test_save_is_checked_before_the_run(tmp_path, capsys, monkeypatch, target, needle):
    from cnnviz.engine import trainer

    monkeypatch.setattr(trainer.Trainer, "run", lambda self: pytest.fail("training started"))
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dir.npz").mkdir()
    target = target.replace("DIR", str(tmp_path / "dir.npz"))
    target = target.replace("AFILE", str(tmp_path / "afile"))
    if not target.startswith("/"):
        target = str(tmp_path / target)
    err = one_line_error(capsys, "train", "--preset", "square", "--dataset", "shapes",
                         "--save", target)
    assert "--save" in err and needle in err


def test_save_into_a_read_only_folder_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    """Probed by creating a file there (root writes anywhere, so the probe is made to fail
    the way a read-only folder makes it fail)."""
    import tempfile

    from cnnviz.engine import trainer

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(trainer.Trainer, "run", lambda self: pytest.fail("training started"))
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    err = one_line_error(capsys, "train", "--preset", "square", "--dataset", "shapes",
                         "--save", str(tmp_path / "w.npz"))
    assert "cannot write in folder" in err and "Permission denied" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_save_into_a_chmod_read_only_folder(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        err = one_line_error(capsys, "train", "--preset", "square", "--dataset", "shapes",
                             "--save", str(folder / "w.npz"))
    finally:
        folder.chmod(0o755)
    assert "cannot write in folder" in err


def test_a_successful_save_with_an_unusable_data_dir_exits_0_with_its_summary(
        tmp_path, capsys, monkeypatch):
    """Once: remembering the weights failed after --save had worked, and train exited 2
    without its summary."""
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "afile" / "data"))  # cannot exist
    out = tmp_path / "w.npz"
    code, _, err = run(capsys, "train", "--preset", "square", "--dataset", "shapes",
                       "--epochs", "1", "--save", str(out), "--remember")
    assert code == 0, err
    assert out.is_file() and f"saved {out}" in err
    assert "warning: could not remember the weights for square" in err
    assert "test accuracy" in err  # the summary line


# ----- 8. smaller issues ----------------------------------------------------------------

def test_bench_refuses_an_unknown_preset_before_compiling(capsys, monkeypatch):
    from cnnviz import benchmark

    monkeypatch.setattr(benchmark, "compile_seconds", lambda: pytest.fail("compiled first"))
    assert "unknown preset 'bogus'" in one_line_error(capsys, "bench", "--preset", "bogus")


def test_step_and_export_index_pick_the_same_test_example(tmp_path, capsys):
    code, out, _ = run(capsys, "step", "--preset", "square", "--dataset", "shapes",
                       "--index", "3", "--to", "F0", "--json")
    assert code == 0
    step = json.loads(out)
    path = tmp_path / "p.npz"
    assert run(capsys, "export", "--preset", "square", "--dataset", "shapes", "--index", "3",
               "--out", str(path))[0] == 0
    with np.load(path) as exported:
        x, label = exported["input"], int(exported["label"][0])
    from cnnviz.data import open_dataset

    test_x, test_y = open_dataset("shapes", size=8, classes=("square", "other")).test()
    assert step["labels"] == [label] == [int(test_y[3])]
    np.testing.assert_array_equal(x, test_x[3:4])
    stats = step["steps"][0]["tensors"]["input"]
    assert stats["max"] == pytest.approx(float(x.max())) and \
        stats["mean"] == pytest.approx(float(x.mean()))


def test_every_gradcheck_column_has_a_header(capsys):
    code, out, _ = run(capsys, "gradcheck", "--preset", "square", "--max-checks", "3")
    lines = out.splitlines()
    headers = re.split(r"\s{2,}", lines[0].strip())
    row = lines[2].split()
    assert len(headers) == len(row) == 7, (headers, row)
    assert headers[-2:] == ["kinks", "ok"]
