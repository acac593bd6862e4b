"""The Dataset every loader returns, and the checks and splits they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnnviz.data.errors import DataError


@dataclass(eq=False)  # arrays: compare datasets by identity
class Dataset:
    """Labelled images (N, C, H, W) float32 in [0, 1] with a fixed train/test split."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    train_indices: np.ndarray
    test_indices: np.ndarray
    source: str = ""  # the file or folder it came from ("" for generated data)

    def __post_init__(self) -> None:
        """Refuse inconsistent arrays, so a Dataset is always usable as it stands."""
        where = self.source or self.name
        check_images(self.images, where)
        check_labels(self.labels, len(self.images), len(self.class_names), where)
        for part in ("train_indices", "test_indices"):
            _check_indices(getattr(self, part), len(self.images), f"{where}: {part}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The shape (C, H, W) of one example, as a network spec's "input" wants it."""
        return tuple(int(n) for n in self.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        """How many classes the labels may name."""
        return len(self.class_names)

    def __len__(self) -> int:
        """The number of examples."""
        return len(self.images)

    def train(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the training images and labels."""
        return self.images[self.train_indices], self.labels[self.train_indices]

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the test images and labels."""
        return self.images[self.test_indices], self.labels[self.test_indices]

    def example(self, i: int) -> tuple[np.ndarray, int]:
        """A copy of image i (C, H, W) and its label."""
        if not -len(self) <= i < len(self):
            raise DataError(f"{self.name}: example {i} out of range (0..{len(self) - 1})")
        return self.images[i].copy(), int(self.labels[i])

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> Dataset:
        """A new Dataset of the chosen examples, keeping each one's train/test side."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        _check_indices(idx, len(self), f"{self.name}: subset")
        is_test = np.isin(idx, self.test_indices)
        return Dataset(
            name=name or f"{self.name}[{len(idx)}]",
            images=self.images[idx],
            labels=self.labels[idx],
            class_names=list(self.class_names),
            train_indices=np.flatnonzero(~is_test).astype(np.int64),
            test_indices=np.flatnonzero(is_test).astype(np.int64),
            source=self.source,
        )


def check_images(images: np.ndarray, where: str) -> None:
    """Images must be float32 (N, C, H, W), finite and in [0, 1]."""
    if not isinstance(images, np.ndarray) or images.dtype != np.float32:
        raise DataError(f"{where}: images must be a float32 array, got {_kind(images)}")
    if images.ndim != 4 or min(images.shape[1:], default=0) < 1:
        raise DataError(f"{where}: images must have shape (N, C, H, W), got {images.shape}")
    if images.size and not (np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1):
        raise DataError(f"{where}: image values must be finite and in [0, 1]")


def check_labels(labels: np.ndarray, n: int, num_classes: int, where: str) -> None:
    """Labels must be int64 (n,), each in 0 .. num_classes - 1."""
    if not isinstance(labels, np.ndarray) or labels.dtype != np.int64 or labels.ndim != 1:
        raise DataError(f"{where}: labels must be a 1-D int64 array, got {_kind(labels)}")
    if len(labels) != n:
        raise DataError(f"{where}: {n} images but {len(labels)} labels")
    if num_classes < 1:
        raise DataError(f"{where}: no class names")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        bad = int(labels[(labels < 0) | (labels >= num_classes)][0])
        raise DataError(f"{where}: label {bad} out of range 0..{num_classes - 1}")


def _check_indices(indices: np.ndarray, n: int, where: str) -> None:
    """Split indices must be 1-D int64, unique and within 0 .. n - 1."""
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64 or indices.ndim != 1:
        raise DataError(f"{where} must be a 1-D int64 array, got {_kind(indices)}")
    if len(indices) and (indices.min() < 0 or indices.max() >= n):
        raise DataError(f"{where}: index out of range 0..{n - 1}")
    if len(np.unique(indices)) != len(indices):
        raise DataError(f"{where}: repeated indices")


def _kind(value: object) -> str:
    """A short description of an array-like for error messages."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__


def to_unit_float(images: np.ndarray, where: str) -> np.ndarray:
    """uint8 0-255 -> /255; floats must already lie in [0, 1]. Returns new float32."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255)
    if images.dtype.kind == "f":
        out = images.astype(np.float32)
        if out.size and not (np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1):
            raise DataError(f"{where}: float images must be finite and in [0, 1]")
        return out
    raise DataError(f"{where}: images must be uint8 (0-255) or float in [0, 1], got {images.dtype}")


def to_nchw(images: np.ndarray, where: str) -> np.ndarray:
    """(N, H, W) -> (N, 1, H, W); (N, C, H, W) kept; any other rank is an error."""
    if images.ndim == 3:
        return images[:, None, :, :]
    if images.ndim == 4:
        return images
    raise DataError(f"{where}: images must have shape (N, H, W) or (N, C, H, W), "
                    f"got rank {images.ndim} {images.shape}")


def to_labels(labels: np.ndarray, where: str) -> np.ndarray:
    """Integer labels of any width -> int64 (N,); floats, bools and negatives refused."""
    if labels.ndim != 1:
        raise DataError(f"{where}: labels must be 1-D, got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{where}: labels must be integers, got {labels.dtype}")
    if labels.size and labels.dtype.kind == "u" and labels.max() > np.iinfo(np.int64).max:
        raise DataError(f"{where}: label too large")
    out = labels.astype(np.int64)
    if out.size and out.min() < 0:
        raise DataError(f"{where}: negative label {int(out.min())}")
    return out


def default_class_names(labels: np.ndarray) -> list[str]:
    """Class names "0" .. str(max label): what numbered files without names get."""
    return [str(i) for i in range(int(labels.max()) + 1 if labels.size else 1)]


def stratified_split(labels: np.ndarray, test_fraction: float = 0.2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split: round(fraction * count) of each class to test, at least 1 kept for
    training; returns sorted int64 train and test indices."""
    rng = np.random.default_rng(seed)
    train, test = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = min(int(round(test_fraction * len(members))), len(members) - 1)
        test.append(members[:n_test])
        train.append(members[n_test:])
    return (np.sort(np.concatenate(train)).astype(np.int64),
            np.sort(np.concatenate(test)).astype(np.int64))
