"""The bundled MNIST subset: 5,000 real digits with a fixed stratified 4,000/1,000 split.

Loaded once per process from cnnviz.resources/mnist_5k.npz and cached read-only, so that
no caller can change what the next caller gets.
"""

from __future__ import annotations

import functools
import zipfile

import numpy as np

from cnnviz.data.dataset import Dataset, check_labels, to_labels, to_nchw, to_unit_float
from cnnviz.data.errors import DataError
from cnnviz.data.fileio import bundled_file

RESOURCE = "mnist_5k.npz"
CLASS_NAMES = [str(digit) for digit in range(10)]


def mnist() -> Dataset:
    """The bundled MNIST subset (arrays shared with the cache and read-only)."""
    images, labels, train, test = _cached()
    return Dataset(name="mnist", images=images, labels=labels, class_names=list(CLASS_NAMES),
                   train_indices=train, test_indices=test, source=f"cnnviz.resources/{RESOURCE}")


@functools.cache
def _cached() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read, convert and freeze the bundled arrays (runs once per process)."""
    where = f"cnnviz.resources/{RESOURCE}"
    try:
        raw = raw_digits()
        images, labels = raw["images"], raw["labels"]
        train, test = raw["train_indices"], raw["test_indices"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{where}: bundled MNIST missing or damaged ({error}); "
                        "reinstall cnnviz") from error
    images = to_nchw(to_unit_float(images, where), where)
    labels = to_labels(labels, where)
    check_labels(labels, len(images), len(CLASS_NAMES), where)
    arrays = (np.ascontiguousarray(images), labels,
              train.astype(np.int64), test.astype(np.int64))
    for array in arrays:
        array.flags.writeable = False
    return arrays


def raw_digits() -> dict[str, np.ndarray]:
    """The bundled npz's arrays exactly as stored (uint8 images and labels, split indices)."""
    with bundled_file(RESOURCE).open("rb") as handle, \
            np.load(handle, allow_pickle=False) as npz:
        return {key: np.array(npz[key]) for key in npz.files}
