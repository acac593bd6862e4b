"""Colour shapes: a seeded 3-channel dataset in which the label is a colour and a shape.

Each image holds one antialiased shape (square, circle or triangle) painted red, green
or blue on a dark background of a random grey; the 9 classes are "red square", "green
square", …, so neither the shape nor the colour alone tells the class: a network must
look at both (a grayscale copy loses the colour, a colour histogram loses the shape).
Colours and brightness are jittered and Gaussian noise is added per channel.
"""

from __future__ import annotations

import numpy as np

from cnnviz.data.dataset import Dataset, stratified_split
from cnnviz.data.shapes import check_sizes, coverage

SHAPE_NAMES = ("square", "circle", "triangle")
COLOURS = {"red": (0.9, 0.15, 0.1), "green": (0.15, 0.8, 0.2), "blue": (0.15, 0.3, 0.95)}
CLASS_NAMES = tuple(f"{colour} {shape}" for shape in SHAPE_NAMES for colour in COLOURS)


def make_color_shapes(n: int = 1800, size: int = 16, noise: float = 0.05, seed: int = 0,
                      jitter: float = 1.0, test_fraction: float = 0.2) -> Dataset:
    """n labelled (3, size, size) colour shape images, 9 balanced classes, seeded split."""
    check_sizes("shapes-rgb", n, len(CLASS_NAMES), size, noise, jitter, test_fraction)
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64) % len(CLASS_NAMES)
    rng.shuffle(labels)
    images = np.empty((n, 3, size, size), np.float32)
    for i, label in enumerate(labels):
        images[i] = _render(int(label), size, noise, jitter, rng)
    train, test = stratified_split(labels, test_fraction, seed)
    return Dataset(name=f"shapes-rgb-{size}x{size}", images=images, labels=labels,
                   class_names=list(CLASS_NAMES), train_indices=train, test_indices=test,
                   source="shapes-rgb")


def _render(label: int, size: int, noise: float, jitter: float,
            rng: np.random.Generator) -> np.ndarray:
    """One (3, size, size) image of class `label`: the shape's coverage blends the colour in."""
    shape, colour = divmod(label, len(COLOURS))
    cover = coverage(SHAPE_NAMES[shape], size, jitter, rng)
    paint = np.array(list(COLOURS.values())[colour]) + rng.uniform(-0.1, 0.1, 3)
    paint *= rng.uniform(0.75, 1.0)
    background = np.full(3, rng.uniform(0.0, 0.25))
    image = background[:, None, None] * (1 - cover) + paint[:, None, None] * cover
    if noise > 0:
        image = image + rng.normal(0.0, noise, image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)
