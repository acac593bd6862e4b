"""Tensors written for other tools: .npy and CSV round-trip exactly, and no temp files."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.data.tensor_files import read_csv, write_csv, write_npy


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (2, 1, 3, 3), (1, 2, 1, 2, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_npy_and_csv_round_trip(tmp_path, shape, dtype):
    array = np.random.default_rng(0).standard_normal(shape).astype(dtype) * 1e3
    write_npy(tmp_path / "t.npy", array)
    write_csv(tmp_path / "t.csv", array)
    assert np.array_equal(np.load(tmp_path / "t.npy", allow_pickle=False), array)
    assert np.array_equal(read_csv(tmp_path / "t.csv", dtype=dtype), array)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.npy"]


def test_csv_has_one_row_per_element_with_named_index_columns(tmp_path):
    write_csv(tmp_path / "t.csv", np.arange(6, dtype=np.float32).reshape(1, 2, 3))
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0] == "c,i,j,value" and lines[1] == "0,0,0,0" and lines[-1] == "0,1,2,5"
    assert len(lines) == 7
