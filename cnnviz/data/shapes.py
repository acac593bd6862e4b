"""Synthetic shapes: a seeded generator of small labelled images at any size.

Each image holds one antialiased shape (rendered on a 4x supersampled grid) with a random
size, position jitter, brightness and Gaussian pixel noise. Classes: filled and hollow
squares (the seeds' square detector), lines at 0/45/90/135 degrees (one class each, or
"line" for any of them), crosses, circles (rings) and filled triangles. The pseudo-class
"other" draws any non-square shape: `classes=("square", "other")` is the 2-class variant
the 8x8 `square` preset trains on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cnnviz.data.dataset import Dataset, stratified_split
from cnnviz.data.errors import DataError

SUPERSAMPLE = 4
DEFAULT_CLASSES = ("square", "hollow_square", "line", "cross", "circle", "triangle")
SQUARE_PRESET = {"size": 8, "classes": ("square", "other")}
OTHER_POOL = ("hline", "vline", "diagonal", "antidiagonal", "cross", "circle", "triangle")

Mask = Callable[[np.ndarray, np.ndarray, float, float], np.ndarray]  # (y, x, r, t) -> bool


def _square(y, x, r, t):
    return (np.abs(x) <= r) & (np.abs(y) <= r)


def _hollow_square(y, x, r, t):
    return _square(y, x, r, t) & ~_square(y, x, r - t, t)


def _line(angle_deg: float) -> Mask:
    """A stroke of width t and half-length r through the centre at the given angle."""
    c, s = np.cos(np.radians(angle_deg)), -np.sin(np.radians(angle_deg))

    def mask(y, x, r, t):
        along, across = x * c + y * s, -x * s + y * c
        return (np.abs(across) <= t / 2) & (np.abs(along) <= r)
    return mask


def _cross(y, x, r, t):
    return _line(0)(y, x, r, t) | _line(90)(y, x, r, t)


def _circle(y, x, r, t):
    return np.abs(np.hypot(x, y) - (r - t / 2)) <= t / 2


def _triangle(y, x, r, t):
    """Filled, apex up: inside the base and the two slanted sides."""
    return (y <= r) & (2 * np.abs(x) <= (y + r))


SHAPES: dict[str, Mask] = {
    "square": _square, "hollow_square": _hollow_square,
    "hline": _line(0), "vline": _line(90), "diagonal": _line(45), "antidiagonal": _line(135),
    "cross": _cross, "circle": _circle, "triangle": _triangle,
}
LINES = ("hline", "vline", "diagonal", "antidiagonal")


def shape_names() -> list[str]:
    """Every class name make_shapes accepts."""
    return [*SHAPES, "line", "other"]


def make_shapes(n: int = 1000, size: int = 28, classes: Sequence[str] = DEFAULT_CLASSES,
                noise: float = 0.05, seed: int = 0, jitter: float = 1.0,
                test_fraction: float = 0.2) -> Dataset:
    """n labelled (1, size, size) shape images, classes balanced, stratified seeded split."""
    classes = _check_args(n, size, classes, noise, jitter, test_fraction)
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64) % len(classes)
    rng.shuffle(labels)
    images = np.empty((n, 1, size, size), np.float32)
    for i, label in enumerate(labels):
        images[i, 0] = _render(classes[label], size, noise, jitter, rng)
    train, test = stratified_split(labels, test_fraction, seed)
    return Dataset(name=f"shapes-{size}x{size}-{len(classes)}", images=images, labels=labels,
                   class_names=list(classes), train_indices=train, test_indices=test,
                   source="shapes")


def _check_args(n, size, classes, noise, jitter, test_fraction) -> tuple[str, ...]:
    """Validate make_shapes' options; DataError naming the bad one."""
    if isinstance(classes, str):
        classes = tuple(c.strip() for c in classes.split(","))
    classes = tuple(classes)
    unknown = [c for c in classes if c not in shape_names()]
    if unknown or len(classes) < 2 or len(set(classes)) != len(classes):
        raise DataError(f"shapes: classes must be 2 or more distinct names from "
                        f"{', '.join(shape_names())}; got {classes!r}")
    check_sizes("shapes", n, len(classes), size, noise, jitter, test_fraction)
    return classes


def check_sizes(where: str, n, classes: int, size, noise, jitter, test_fraction) -> None:
    """Validate the options every shapes generator takes; DataError naming the bad one."""
    if not isinstance(n, int | np.integer) or n < classes or n > 1_000_000:
        raise DataError(f"{where}: n must be an integer from {classes} to 1000000, got {n!r}")
    if not isinstance(size, int | np.integer) or not 5 <= size <= 256:
        raise DataError(f"{where}: size must be an integer from 5 to 256, got {size!r}")
    for name, value, top in (("noise", noise, 1.0), ("jitter", jitter, 1.0),
                             ("test_fraction", test_fraction, 0.9)):
        if not isinstance(value, int | float) or not 0 <= value <= top:
            raise DataError(f"{where}: {name} must be a number from 0 to {top}, got {value!r}")


def coverage(name: str, size: int, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """(size, size) float32 in [0, 1]: how much of each pixel a randomly sized and placed
    shape covers."""
    r = rng.uniform(0.25, 0.42) * size          # half-extent of the shape
    t = max(1.0, size / 9) * rng.uniform(0.9, 1.2)  # stroke width
    room = max(0.0, size / 2 - r - 0.5) * jitter
    cy, cx = size / 2 + rng.uniform(-room, room, size=2)
    grid = (np.arange(size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    y, x = np.meshgrid(grid - cy, grid - cx, indexing="ij")
    inside = SHAPES[name](y, x, r, t).astype(np.float32)
    return inside.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))


def _render(name: str, size: int, noise: float, jitter: float,
            rng: np.random.Generator) -> np.ndarray:
    """One (size, size) image of the named class."""
    if name == "other":
        name = str(rng.choice(OTHER_POOL))
    elif name == "line":
        name = str(rng.choice(LINES))
    image = coverage(name, size, jitter, rng)
    image *= rng.uniform(0.7, 1.0)
    if noise > 0:
        image += rng.normal(0.0, noise, image.shape).astype(np.float32)
    return np.clip(image, 0.0, 1.0)
