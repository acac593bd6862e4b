"""A tensor as a file for other tools: `.npy` (exact) or CSV (one row per element, an
index column per axis, then the value), both written atomically, and read back.
"""

from __future__ import annotations

import io
import os

import numpy as np

from cnnviz.data.fileio import write_bytes_atomically

AXES = {1: ("k",), 2: ("i", "j"), 3: ("c", "i", "j"), 4: ("n", "c", "i", "j")}


def write_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """The array as .npy (no pickle)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    write_bytes_atomically(path, buffer.getvalue())


def axis_names(ndim: int) -> tuple[str, ...]:
    """Column names of the index axes: c,i,j for maps, k for vectors, a0… otherwise."""
    return AXES.get(ndim, tuple(f"a{d}" for d in range(ndim)))


def write_csv(path: str | os.PathLike, array: np.ndarray) -> None:
    """CSV with a header `c,i,j,value` (one index column per axis) and one row per element
    in C order; values with enough digits to read back exactly (float32: 9, float64: 17)."""
    a = np.asarray(array)
    digits = 9 if a.dtype == np.float32 else 17
    lines = [",".join((*axis_names(a.ndim), "value"))]
    for index in np.ndindex(a.shape):
        lines.append(",".join((*map(str, index), f"{float(a[index]):.{digits}g}")))
    write_bytes_atomically(path, ("\n".join(lines) + "\n").encode())


def read_csv(path: str | os.PathLike, dtype: type = np.float64) -> np.ndarray:
    """Read a write_csv file back into an array of the shape its index columns span."""
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
        rows = [line.split(",") for line in handle.read().splitlines() if line]
    ndim = len(header) - 1
    if not rows:
        return np.zeros((0,) * max(ndim, 1), dtype=dtype)
    index = np.array([[int(v) for v in row[:ndim]] for row in rows], dtype=np.int64)
    out = np.zeros(tuple(index.max(axis=0) + 1), dtype=dtype)
    out[tuple(index.T)] = [float(row[ndim]) for row in rows]
    return out
