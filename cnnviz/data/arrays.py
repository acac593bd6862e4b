"""NumPy array files: .npz with images and labels (and optional split), or .npy pairs."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

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
from cnnviz.data.fileio import existing_file

IMAGE_KEYS = ("images", "x")
LABEL_KEYS = ("labels", "y")


def read_array_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an .npy ({"images": a}) or .npz file, fully loaded, pickle refused."""
    p = existing_file(path)
    try:
        loaded = np.load(p, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"images": loaded}
        with loaded:
            return {key: np.array(loaded[key]) for key in loaded.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DataError(_npz_message(p, error)) from error
    except MemoryError as error:
        raise DataError(f"{p}: too large to load") from error


def _npz_message(path: Path, error: Exception) -> str:
    """What went wrong reading a NumPy file, in words."""
    if "pickle" in str(error).lower() or "object" in str(error).lower():
        return f"{path}: holds Python objects (pickled data), which cnnviz never loads"
    return f"{path}: not a readable .npy/.npz file ({error})"


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
