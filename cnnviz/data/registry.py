"""One place that names every dataset: the built-ins by name, user data by path.

The CLI and the GUI both list `list_datasets()` and call `open_dataset(...)`, so they
offer the same choices and report the same errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cnnviz.data.arrays import load_arrays
from cnnviz.data.dataset import Dataset
from cnnviz.data.errors import DataError
from cnnviz.data.fileio import open_regular_file
from cnnviz.data.folders import (
    is_idx_folder,
    labels_file_for,
    load_idx_folder,
    load_idx_pair,
    load_image_folder,
)
from cnnviz.data.images import IMAGE_SUFFIXES, check_size, load_image, resize
from cnnviz.data.mnist import mnist
from cnnviz.data.preprocess import preprocess_digit, should_invert
from cnnviz.data.shapes import SQUARE_PRESET, make_shapes
from cnnviz.data.shapes_rgb import make_color_shapes

DESCRIPTIONS = {
    "mnist": "5,000 real MNIST digits (28x28, 10 classes), fixed 4,000/1,000 stratified split",
    "shapes": "synthetic shapes (squares, lines, crosses, circles, triangles), any size; "
              "preset='square' gives the 8x8 square-vs-other set",
    "shapes-rgb": "synthetic colour shapes (red/green/blue square, circle, triangle: 9 "
                  "classes, 3 channels), any size, 16x16 by default",
}
# The options each built-in accepts, with their defaults (None: chosen by the preset).
BUILTIN_OPTIONS: dict[str, dict[str, Any]] = {
    "mnist": {},
    "shapes": {"preset": None, "n": 1000, "size": None, "classes": None, "noise": 0.05,
               "seed": 0, "jitter": 1.0, "test_fraction": 0.2},
    "shapes-rgb": {"n": 1800, "size": 16, "noise": 0.05, "seed": 0, "jitter": 1.0,
                   "test_fraction": 0.2},
}


def list_datasets() -> list[str]:
    """Names of the built-in datasets."""
    return list(DESCRIPTIONS)


def describe_dataset(name: str) -> str:
    """A one-line description of a built-in dataset."""
    if name not in DESCRIPTIONS:
        raise DataError(f"unknown dataset {name!r} (built-ins: {', '.join(DESCRIPTIONS)})")
    return DESCRIPTIONS[name]


def dataset_options(name: str) -> dict[str, Any]:
    """The options a built-in accepts, with their defaults (a copy)."""
    describe_dataset(name)
    return dict(BUILTIN_OPTIONS[name])


def open_dataset(name_or_path: str | os.PathLike, **options: Any) -> Dataset:
    """A built-in by name ("mnist", "shapes", "shapes-rgb") or user data from a path.

    Paths: a folder of MNIST IDX files (official split) or of class sub-folders; an .npz
    or .npy (labels=… for .npy); an image IDX file (labels=… or found beside it); a
    single image file (a 1-example dataset). Image files and folders load as gray, or as
    RGB with channels=3 (the network's input channels). Raises DataError for anything
    unusable.
    """
    if isinstance(name_or_path, str) and name_or_path in DESCRIPTIONS:
        return _open_builtin(name_or_path, options)
    if not isinstance(name_or_path, str | os.PathLike):
        raise DataError(f"a dataset must be named by a string or a path, got {name_or_path!r}")
    path = Path(name_or_path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder, and not a built-in dataset "
                        f"({', '.join(DESCRIPTIONS)})")
    opener = _opener_for(path)
    return opener(path, **_accepted(path, options, opener))


def open_dataset_with_channels(name_or_path: str | os.PathLike, channels: int,
                               **options: Any) -> Dataset:
    """open_dataset, with image files and class folders loaded as RGB when channels == 3
    (built-ins, arrays and IDX files keep the channels they have)."""
    path = Path(name_or_path)
    is_images = (path.suffix.lower() in IMAGE_SUFFIXES
                 or (path.is_dir() and not is_idx_folder(path)))
    if channels == 3 and is_images and str(name_or_path) not in DESCRIPTIONS:
        options = {"channels": 3, **options}
    return open_dataset(name_or_path, **options)


def _open_builtin(name: str, options: dict[str, Any]) -> Dataset:
    """Open a built-in with its options checked."""
    unknown = set(options) - set(BUILTIN_OPTIONS[name])
    if unknown:
        allowed = ", ".join(BUILTIN_OPTIONS[name]) or "none"
        raise DataError(f"{name}: unknown option(s) {', '.join(sorted(unknown))} "
                        f"(allowed: {allowed})")
    if name == "mnist":
        return mnist()
    if name == "shapes-rgb":
        return make_color_shapes(**options)
    return _shapes(**options)


def _shapes(preset: str | None = None, size: int | None = None, classes=None,
            **options: Any) -> Dataset:
    """make_shapes with the 'square' preset's defaults filled in."""
    if preset not in (None, "square"):
        raise DataError(f"shapes: unknown preset {preset!r} (allowed: square)")
    base = SQUARE_PRESET if preset == "square" else {"size": 28}
    size = base["size"] if size is None else size
    if classes is None and preset == "square":
        classes = SQUARE_PRESET["classes"]
    if classes is None:
        return make_shapes(size=size, **options)
    return make_shapes(size=size, classes=classes, **options)


Opener = Callable[..., Dataset]
ACCEPTS: dict[Opener, tuple[str, ...]] = {}


def _accepted(path: Path, options: dict[str, Any], opener: Opener) -> dict[str, Any]:
    """The options, if the opener for this kind of path takes them all."""
    allowed = ACCEPTS[opener]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise DataError(f"{path}: unknown option(s) {', '.join(unknown)} for this kind of file "
                        f"(allowed: {', '.join(allowed) or 'none'})")
    return options


def _opener_for(path: Path) -> Opener:
    """Choose the loader by what the path is."""
    if path.is_dir():
        return load_idx_folder if is_idx_folder(path) else load_image_folder
    suffix = path.suffix.lower()
    if suffix in (".npz", ".npy"):
        return load_arrays
    if suffix in IMAGE_SUFFIXES:
        return open_single_image
    if _starts_like_idx(path):
        return _open_idx_file
    raise DataError(f"{path}: not a file type cnnviz reads (IDX, .npz, .npy, image files "
                    f"{', '.join(IMAGE_SUFFIXES)}, or a folder)")


def _starts_like_idx(path: Path) -> bool:
    """True if the file begins like an IDX file (two zero bytes) or a gzip stream."""
    try:
        with open_regular_file(path) as handle:
            head = handle.read(2)
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error})") from error
    return head in (b"\0\0", b"\x1f\x8b")


def _open_idx_file(path: Path, labels: str | os.PathLike | None = None,
                   class_names: list[str] | None = None, seed: int = 0) -> Dataset:
    """An image IDX file and its labels (given, or the standard name beside it)."""
    labels_path = Path(labels) if labels is not None else labels_file_for(path)
    if labels_path is None:
        raise DataError(f"{path}: an IDX image file needs its labels: pass labels=PATH "
                        "(or keep the standard …labels-idx1-ubyte file beside it)")
    return load_idx_pair(path, labels_path, class_names=class_names, seed=seed)


def open_single_image(path: Path, size: tuple[int, int] = (28, 28), label: int = 0,
                      class_names: list[str] | None = None, preprocess: bool = False,
                      invert: bool | str = False, channels: int = 1) -> Dataset:
    """One image file as a 1-example dataset (label and class names as given; digits by
    default). preprocess=True runs the MNIST digit preprocessing first (28x28, then resized
    to size if that differs); channels=3 keeps the colour instead (no preprocessing)."""
    size = check_size(size, path) or (28, 28)
    if channels != 1:
        image = load_image(path, size=size, channels=channels)
        image = 1.0 - image if should_invert(image.mean(axis=0), invert) else image
    elif preprocess:
        image = preprocess_digit(load_image(path, size=None), invert=invert)
        image = image if size == image.shape else resize(image, size)
    else:
        image = load_image(path, size=size)
        image = 1.0 - image if should_invert(image, invert) else image
    names = [str(n) for n in class_names] if class_names else [str(d) for d in range(10)]
    if not isinstance(label, int | np.integer) or not 0 <= label < len(names):
        raise DataError(f"{path}: label must be an integer in 0..{len(names) - 1}, got {label!r}")
    one = np.zeros(1, np.int64)
    planes = image.reshape(-1, *image.shape[-2:])
    return Dataset(name=path.stem, images=planes[None].astype(np.float32),
                   labels=np.array([label], np.int64), class_names=names,
                   train_indices=one, test_indices=np.zeros(0, np.int64), source=str(path))


ACCEPTS.update({
    load_idx_folder: ("class_names",),
    load_image_folder: ("size", "seed", "test_fraction", "channels"),
    load_arrays: ("labels", "class_names", "seed"),
    open_single_image: ("size", "label", "class_names", "preprocess", "invert", "channels"),
    _open_idx_file: ("labels", "class_names", "seed"),
})
