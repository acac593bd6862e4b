"""NumPy array files: .npz with images and labels (and optional split), or .npy pairs."""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from cnnviz.data.budget import require_data
from cnnviz.data.dataset import (
    Dataset,
    check_labels,
    default_class_names,
    stratified_split,
    to_labels,
    to_nchw,
    to_unit_float,
)
from cnnviz.data.errors import DataError
from cnnviz.data.fileio import open_regular_file

IMAGE_KEYS = ("images", "x")
LABEL_KEYS = ("labels", "y")


ZIP_MAGIC = b"PK\x03\x04"
PICKLED = "contains pickled objects, which cnnviz refuses to load (save plain arrays)"
_NPY_ERRORS = (ValueError, OSError, EOFError, SyntaxError, KeyError, zipfile.BadZipFile,
               zlib.error, OverflowError, MemoryError)


def read_array_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an .npy ({"images": a}) or .npz file, fully loaded; pickled data and
    arrays whose headers exceed the memory budget are refused before any data is read."""
    with open_regular_file(path) as handle:
        is_zip = handle.read(4) == ZIP_MAGIC
        handle.seek(0)
        return read_npz(handle, Path(path)) if is_zip else {"images": read_npy(handle, path)}


def read_npz(handle: IO[bytes], where: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an open .npz archive, keyed without the .npy suffix."""
    try:
        with zipfile.ZipFile(handle) as zf:
            members = [info for info in zf.infolist() if info.filename.endswith(".npy")]
            headers = {}
            for info in members:
                with zf.open(info) as member:
                    headers[info.filename] = _npy_header(member, f"{where} ({info.filename})")
            _require(list(headers.values()), where)
            return {name[:-4]: _read_member(zf, name, where) for name in headers}
    except DataError:
        raise
    except _NPY_ERRORS as error:
        raise DataError(f"{where}: not a readable .npz archive ({error})") from error


def _read_member(zf: zipfile.ZipFile, name: str, where: str | os.PathLike) -> np.ndarray:
    """One checked member of an .npz."""
    with zf.open(name) as member:
        return read_npy(member, f"{where} ({name})", checked=True)


def read_npy(handle: IO[bytes], where: str | os.PathLike, checked: bool = False) -> np.ndarray:
    """One .npy array from an open stream; the header is checked first (unless `checked`)."""
    try:
        if not checked:
            start = handle.tell()
            _require([_npy_header(handle, where)], where)
            handle.seek(start)
        return np.lib.format.read_array(handle, allow_pickle=False)
    except DataError:
        raise
    except _NPY_ERRORS as error:
        raise DataError(f"{where}: not a readable .npy array ({error})") from error


def read_npy_file(path: str | os.PathLike) -> np.ndarray:
    """The one array of a .npy file (an .npz archive is refused: it holds several)."""
    with open_regular_file(path) as handle:
        if handle.read(4) == ZIP_MAGIC:
            raise DataError(f"{path}: an .npz archive; save one array with numpy.save as .npy")
        handle.seek(0)
        return read_npy(handle, path)


def _npy_header(handle: IO[bytes], where: str | os.PathLike) -> tuple[tuple, np.dtype]:
    """(shape, dtype) from a .npy header; pickled (object) dtypes are refused."""
    try:
        version = np.lib.format.read_magic(handle)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(handle)
    except _NPY_ERRORS as error:
        raise DataError(f"{where}: not a readable .npy array ({error})") from error
    if dtype.hasobject:
        raise DataError(f"{where}: {PICKLED}")
    return shape, dtype


def _require(headers: list[tuple[tuple, np.dtype]], where: str | os.PathLike) -> None:
    """Refuse arrays whose declared sizes exceed the memory budget (cnnviz.core.budget)."""
    items = sum(math.prod(shape) for shape, _ in headers)
    itemsize = max((dtype.itemsize for _, dtype in headers), default=1)
    require_data(items, itemsize, str(where))


def _pick(arrays: dict[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray | None:
    """The first array stored under one of the keys."""
    for key in keys:
        if key in arrays:
            return arrays[key]
    return None


def load_arrays(path: str | os.PathLike, labels: str | os.PathLike | None = None,
                class_names: list[str] | None = None, seed: int = 0) -> Dataset:
    """A Dataset from an .npz (images/x, labels/y, optional class_names, train/test_indices)
    or from an images .npy plus a labels .npy given as `labels`."""
    p = Path(path)
    arrays = read_array_file(p)
    images = _pick(arrays, IMAGE_KEYS)
    if images is None:
        raise DataError(f"{p}: no 'images' or 'x' array (found: {', '.join(arrays) or 'none'})")
    y = read_array_file(labels)["images"] if labels is not None else _pick(arrays, LABEL_KEYS)
    if y is None:
        raise DataError(f"{p}: no labels: store 'labels' (or 'y') in an .npz, or pass labels=")
    images = to_nchw(to_unit_float(images, str(p)), str(p))
    y = to_labels(y, str(labels or p))
    names = _class_names(arrays, class_names, y, p)
    check_labels(y, len(images), len(names), str(p))
    train, test = _split(arrays, y, seed, p)
    return Dataset(name=p.stem, images=np.ascontiguousarray(images), labels=y,
                   class_names=names, train_indices=train, test_indices=test, source=str(p))


def _class_names(arrays, given, labels, path) -> list[str]:
    """Class names from the caller, the file's 'class_names' array, or "0".."max label"."""
    if given is not None:
        return [str(name) for name in given]
    if "class_names" in arrays:
        names = arrays["class_names"]
        if names.ndim != 1 or names.dtype.kind not in "US":
            raise DataError(f"{path}: class_names must be a 1-D array of strings")
        return [str(name) for name in names.astype(str)]
    return default_class_names(labels)


def _split(arrays, labels, seed, path) -> tuple[np.ndarray, np.ndarray]:
    """The stored split if the file has one (checked), else a seeded stratified 80/20."""
    if "train_indices" not in arrays and "test_indices" not in arrays:
        return stratified_split(labels, 0.2, seed)
    try:
        train = arrays["train_indices"]
        test = arrays["test_indices"]
    except KeyError as error:
        raise DataError(f"{path}: has only one of train_indices / test_indices") from error
    for name, idx in (("train_indices", train), ("test_indices", test)):
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise DataError(f"{path}: {name} must be a 1-D integer array")
    train, test = train.astype(np.int64), test.astype(np.int64)
    if np.intersect1d(train, test).size:
        raise DataError(f"{path}: train_indices and test_indices overlap")
    return train, test
