"""Synthetic shapes: determinism, balance, sizes, and classes a simple classifier can tell apart."""

import numpy as np
import pytest

from cnnviz.data import DataError, make_shapes, open_dataset
from cnnviz.data.shapes import SHAPES, shape_names


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = make_shapes(200, seed=3), make_shapes(200, seed=3), make_shapes(200, seed=4)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.test_indices, b.test_indices)
    assert not np.array_equal(a.images, c.images)


@pytest.mark.parametrize("size", [8, 28, 13])
def test_any_size_balanced_classes_valid_range(size):
    data = make_shapes(120, size=size, classes=("square", "circle", "cross"), seed=1)
    assert data.images.shape == (120, 1, size, size) and data.images.dtype == np.float32
    assert data.images.min() >= 0 and data.images.max() <= 1
    assert np.bincount(data.labels).tolist() == [40, 40, 40]
    assert data.class_names == ["square", "circle", "cross"]
    assert np.bincount(data.labels[data.test_indices]).tolist() == [8, 8, 8]


def test_every_shape_draws_something_inside_the_frame():
    for name in shape_names():
        partner = "circle" if name == "square" else "square"
        data = make_shapes(4, size=8, classes=(name, partner), noise=0, seed=0)
        image = data.images[data.labels == 0][0, 0]
        assert image.sum() > 2, name
    assert set(SHAPES) <= set(shape_names())


def test_noise_free_squares_are_filled_and_hollow_ones_are_not():
    data = make_shapes(40, size=28, classes=("square", "hollow_square"), noise=0, jitter=0,
                       seed=0)
    centre = data.images[:, 0, 13:15, 13:15].mean(axis=(1, 2))
    assert (centre[data.labels == 0] > 0.6).all() and (centre[data.labels == 1] == 0).all()


def _accuracy(train, test, method: str) -> float:
    x, y = train.images.reshape(len(train), -1), train.labels
    xt = test.images.reshape(len(test), -1)
    if method == "centroid":
        refs, ref_labels = np.stack([x[y == k].mean(0) for k in range(train.num_classes)]), None
    else:
        refs, ref_labels = x, y
    d2 = (xt**2).sum(1)[:, None] - 2 * xt @ refs.T + (refs**2).sum(1)[None]
    pred = d2.argmin(1) if ref_labels is None else ref_labels[d2.argmin(1)]
    return float((pred == test.labels).mean())


def test_square_preset_classes_separate_by_nearest_centroid():
    """The 8x8 square-vs-other variant: a fresh seed is > 90% by nearest class mean."""
    train = open_dataset("shapes", preset="square", n=600, seed=0)
    test = open_dataset("shapes", preset="square", n=400, seed=99)
    assert train.input_shape == (1, 8, 8) and train.class_names == ["square", "other"]
    assert _accuracy(train, test, "centroid") > 0.9


def test_default_classes_separate_on_a_fresh_seed():
    """28x28, six classes with position jitter: 1-nearest-neighbour scores > 90%."""
    assert _accuracy(make_shapes(600, seed=0), make_shapes(300, seed=7), "nn") > 0.9


@pytest.mark.parametrize("kwargs, words", [
    ({"classes": ("square", "blob")}, "classes"),
    ({"classes": ("square",)}, "classes"),
    ({"classes": ("square", "square")}, "classes"),
    ({"n": 1}, "n must"),
    ({"n": 2.5}, "n must"),
    ({"size": 3}, "size"),
    ({"noise": -1}, "noise"),
    ({"jitter": "lots"}, "jitter"),
])
def test_bad_options(kwargs, words):
    with pytest.raises(DataError, match=words):
        make_shapes(**kwargs)


def test_classes_as_comma_separated_text():
    data = make_shapes(20, size=8, classes="square, other")
    assert data.class_names == ["square", "other"]
