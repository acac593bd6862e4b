"""The sample PNGs shipped for the app and the docs are real digits from the bundled set."""

from importlib import resources

import numpy as np

from cnnviz.data import load_image, open_dataset, preprocess_digit
from cnnviz.data.fileio import bundled_file
from cnnviz.data.mnist import mnist


def _sample(name: str):
    return bundled_file("samples", name)


def test_each_digit_sample_is_a_test_digit_of_its_class():
    data = mnist()
    test_images = data.images[data.test_indices, 0]
    test_labels = data.labels[data.test_indices]
    for digit in range(10):
        with resources.as_file(_sample(f"digit_{digit}.png")) as path:
            image = load_image(path)
        match = np.flatnonzero(np.abs(test_images - image).max(axis=(1, 2)) < 1e-6)
        assert match.size and test_labels[match[0]] == digit


def test_drawn_sample_preprocesses_into_a_seven():
    with resources.as_file(_sample("drawn_7_dark_on_light.png")) as path:
        digit = preprocess_digit(load_image(path, size=None), invert="auto")
        one = open_dataset(path, preprocess=True, invert="auto", label=7)
    assert np.array_equal(one.images[0, 0], digit)
    sevens = mnist().images[mnist().labels == 7, 0].mean(axis=0)
    others = mnist().images[mnist().labels != 7, 0].mean(axis=0)
    assert np.abs(digit - sevens).mean() < np.abs(digit - others).mean()
