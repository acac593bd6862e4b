"""Datasets from folders: one sub-folder of images per class, or the four MNIST IDX files."""

from __future__ import annotations

import os
import re
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
from cnnviz.data.idx import load_idx
from cnnviz.data.images import IMAGE_SUFFIXES, load_image

# train-images-idx3-ubyte, train-images.idx3-ubyte (Kaggle), each optionally .gz
IDX_NAMES = {
    (part, kind): re.compile(rf"^{prefix}-{kind}[-.]idx{ndim}-ubyte(\.gz)?$")
    for part, prefix in (("train", "train"), ("test", "t10k"))
    for kind, ndim in (("images", 3), ("labels", 1))
}


def load_image_folder(folder: str | os.PathLike, size: tuple[int, int] | None = None,
                      seed: int = 0, test_fraction: float = 0.2, channels: int = 1) -> Dataset:
    """One sub-folder per class (names sorted); images must share a size unless size=(H, W).

    channels=3 keeps colour: (N, 3, H, W) RGB; channels=1 converts to gray (N, 1, H, W).
    """
    root = _existing_dir(folder)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{root}: no class sub-folders (expected one folder of images per class)")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = _image_files(root / name)
        if not files:
            raise DataError(f"{root / name}: empty class folder (no image files)")
        for file in files:
            image = load_image(file, size=size, channels=channels)
            images.append(_same_size(image.reshape(channels, *image.shape[-2:]), file, images))
            labels.append(label)
    y = np.array(labels, dtype=np.int64)
    train, test = stratified_split(y, test_fraction, seed)
    return Dataset(name=root.name, images=np.stack(images), labels=y,
                   class_names=classes, train_indices=train, test_indices=test, source=str(root))


def _existing_dir(folder: str | os.PathLike) -> Path:
    """The folder as a Path, or DataError if it is missing or not a folder."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: {'not a folder' if root.exists() else 'no such folder'}")
    return root


def _image_files(folder: Path) -> list[Path]:
    """Image files (by suffix) directly inside the folder, sorted; hidden files skipped."""
    return sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")
                  and f.suffix.lower() in IMAGE_SUFFIXES)


def _same_size(image: np.ndarray, file: Path, previous: list[np.ndarray]) -> np.ndarray:
    """The image, if its size matches the images loaded before it."""
    if previous and image.shape != previous[0].shape:
        h, w = previous[0].shape[-2:]
        raise DataError(f"{file}: image is {image.shape[-1]}x{image.shape[-2]} but the first "
                        f"image is {w}x{h}; mixed sizes in one folder (pass size=(H, W) to resize)")
    return image


def find_idx_files(folder: str | os.PathLike) -> dict[tuple[str, str], Path]:
    """The four standard MNIST file names in a folder (plain or .gz), keyed (part, kind)."""
    root = _existing_dir(folder)
    found: dict[tuple[str, str], Path] = {}
    for file in sorted(root.iterdir()):
        for key, pattern in IDX_NAMES.items():
            if pattern.match(file.name) and key not in found:
                found[key] = file
    missing = [f"{k[0]} {k[1]}" for k in IDX_NAMES if k not in found]
    if missing:
        raise DataError(f"{root}: missing IDX files for {', '.join(missing)} (expected "
                        "train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz)")
    return found


def is_idx_folder(folder: Path) -> bool:
    """True if the folder holds at least one file with a standard MNIST IDX name."""
    return folder.is_dir() and any(p.match(f.name) for f in folder.iterdir()
                                   for p in IDX_NAMES.values())


def load_idx_folder(folder: str | os.PathLike, class_names: list[str] | None = None) -> Dataset:
    """MNIST / Fashion-MNIST as distributed: the official train and test files are the split."""
    files = find_idx_files(folder)
    x_train, y_train = _idx_pair(files["train", "images"], files["train", "labels"])
    x_test, y_test = _idx_pair(files["test", "images"], files["test", "labels"])
    labels = np.concatenate([y_train, y_test])
    names = list(class_names) if class_names else default_class_names(labels)
    check_labels(labels, len(labels), len(names), str(folder))
    n = len(y_train)
    return Dataset(name=Path(folder).name, images=np.concatenate([x_train, x_test]),
                   labels=labels, class_names=names,
                   train_indices=np.arange(n, dtype=np.int64),
                   test_indices=np.arange(n, len(labels), dtype=np.int64), source=str(folder))


def load_idx_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike,
                  class_names: list[str] | None = None, seed: int = 0) -> Dataset:
    """An image IDX file and its label IDX file, with a seeded stratified 80/20 split."""
    images, labels = _idx_pair(images_path, labels_path)
    names = list(class_names) if class_names else default_class_names(labels)
    check_labels(labels, len(labels), len(names), str(labels_path))
    train, test = stratified_split(labels, 0.2, seed)
    return Dataset(name=Path(images_path).name.split(".")[0], images=images, labels=labels,
                   class_names=names, train_indices=train, test_indices=test,
                   source=str(images_path))


def _idx_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, C, H, W) float32 and labels (N,) int64 from two IDX files, counts checked."""
    images = to_nchw(to_unit_float(load_idx(images_path), str(images_path)), str(images_path))
    labels = to_labels(load_idx(labels_path), str(labels_path))
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                        f"{len(labels)} labels")
    return images, labels


def labels_file_for(images_path: Path) -> Path | None:
    """The label file beside an image IDX file (…images-idx3… -> …labels-idx1…), if any."""
    name = re.sub(r"images([-.])idx3", r"labels\1idx1", images_path.name)
    candidate = images_path.with_name(name)
    return candidate if name != images_path.name and candidate.is_file() else None
