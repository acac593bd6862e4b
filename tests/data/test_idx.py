"""IDX reader and writer: round trips, every kind of broken file, and fuzzing."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.data import DataError, load_idx, save_idx

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_round_trip_every_dtype_plain_and_gzip(tmp_path, dtype, name):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(3, 4, 5)) * 100).astype(dtype)
    save_idx(tmp_path / name, array)
    loaded = load_idx(tmp_path / name)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    assert np.array_equal(loaded, array)
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\0\0")


def test_header_layout_is_the_standard_one(tmp_path):
    save_idx(tmp_path / "x", np.arange(6, dtype=np.uint8).reshape(2, 3))
    data = (tmp_path / "x").read_bytes()
    assert data == bytes([0, 0, 0x08, 2]) + struct.pack(">II", 2, 3) + bytes(range(6))


def test_big_endian_payload(tmp_path):
    header = bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 2)
    (tmp_path / "x").write_bytes(header + b"\x01\x02\xff\xfe")
    assert load_idx(tmp_path / "x").tolist() == [258, -2]


def test_gzip_detected_by_content_not_name(tmp_path):
    body = bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])
    (tmp_path / "plain-name").write_bytes(gzip.compress(body))
    assert load_idx(tmp_path / "plain-name").tolist() == [7, 8, 9]


def _header(code=0x08, dims=(2, 3)):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("content, words", [
    (b"", "magic"),
    (b"\x00\x00", "magic"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "two zero bytes"),
    (bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 0]), "dtype code 0x0A"),
    (bytes([0, 0, 0x08, 0]), "0 dimensions"),
    (bytes([0, 0, 0x08, 3, 0, 0, 0, 1]), "header truncated"),
    (_header(dims=(2, 3)) + bytes(5), "too short"),
    (_header(dims=(2, 3)) + bytes(7), "too long"),
    (_header(code=0x0E, dims=(4,)) + bytes(31), "too short"),
    (_header(dims=(65535, 65535, 65535)), "impossible dimensions"),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, words):
    path = tmp_path / "broken-idx"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_idx(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_broken_gzip(tmp_path):
    good = gzip.compress(_header() + bytes(6))
    (tmp_path / "cut.gz").write_bytes(good[:-10])
    (tmp_path / "garbled.gz").write_bytes(good[:12] + b"\xff" * 20 + good[32:])
    for name in ("cut.gz", "garbled.gz"):
        with pytest.raises(DataError, match=name):
            load_idx(tmp_path / name)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_idx(tmp_path / "nope")
    with pytest.raises(DataError, match="not a file"):
        load_idx(tmp_path)


def test_save_refuses_unrepresentable_arrays(tmp_path):
    with pytest.raises(DataError, match="int64"):
        save_idx(tmp_path / "x", np.zeros(3, np.int64))
    with pytest.raises(DataError, match="shape"):
        save_idx(tmp_path / "x", np.float32(1.0))
    assert list(tmp_path.iterdir()) == []


SEED_FILE = _header(dims=(2, 2, 2)) + bytes(range(8))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=64),
    st.builds(lambda pos, byte: SEED_FILE[:pos] + bytes([byte]) + SEED_FILE[pos + 1:],
              st.integers(0, len(SEED_FILE) - 1), st.integers(0, 255)),
    st.builds(lambda n: SEED_FILE[:n], st.integers(0, len(SEED_FILE))),
), gz=st.booleans())
def test_fuzz_random_and_mutated_bytes(tmp_path, data, gz):
    """Whatever the bytes, the loader returns an array or raises DataError: nothing else."""
    path = tmp_path / "fuzz-idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    try:
        result = load_idx(path)
    except DataError:
        return
    assert isinstance(result, np.ndarray)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=80), cut=st.integers(0, 80))
def test_fuzz_corrupt_gzip_streams(tmp_path, data, cut):
    compressed = gzip.compress(SEED_FILE)
    mutated = compressed[:cut] + data + compressed[cut + len(data):]
    path = tmp_path / "fuzz.gz"
    path.write_bytes(mutated)
    try:
        result = load_idx(path)
    except DataError:
        return
    assert isinstance(result, np.ndarray)
