"""Colour data: RGB image files and folders for 3-channel networks, and the colour shapes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnviz.data import DataError, load_image, open_dataset
from cnnviz.data.registry import open_dataset_with_channels
from cnnviz.data.shapes_rgb import CLASS_NAMES, make_color_shapes


def _save(path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb.astype(np.uint8)).save(path)


def _red_green(h: int = 6, w: int = 8) -> np.ndarray:
    """Left half red, right half green."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2, 0] = 255
    rgb[:, w // 2 :, 1] = 128
    return rgb


def test_load_image_keeps_rgb_with_three_channels(tmp_path):
    _save(tmp_path / "rg.png", _red_green())
    rgb = load_image(tmp_path / "rg.png", size=None, channels=3)
    assert rgb.shape == (3, 6, 8) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb[:, 0, 0], [1, 0, 0])
    np.testing.assert_allclose(rgb[:, 0, -1], [0, 128 / 255, 0], atol=1e-6)
    assert load_image(tmp_path / "rg.png", size=(12, 16), channels=3).shape == (3, 12, 16)
    assert load_image(tmp_path / "rg.png", size=None).shape == (6, 8)  # gray by default


def test_gray_and_transparent_images_as_rgb(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(gray).save(tmp_path / "g.png")
    rgb = load_image(tmp_path / "g.png", size=None, channels=3)
    np.testing.assert_allclose(rgb, np.repeat(gray[None] / 255, 3, axis=0), atol=1e-6)
    rgba = np.zeros((2, 2, 4), np.uint8)  # fully transparent: white, as viewers show it
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    np.testing.assert_allclose(load_image(tmp_path / "t.png", size=None, channels=3), 1.0)


def test_other_channel_counts_are_refused(tmp_path):
    _save(tmp_path / "rg.png", _red_green())
    with pytest.raises(DataError, match="1 .gray. or 3 .RGB. channels"):
        load_image(tmp_path / "rg.png", channels=2)


def _folder(tmp_path):
    for name, colour in (("red", 0), ("green", 1)):
        (tmp_path / name).mkdir()
        for k in range(3):
            rgb = np.zeros((5, 5, 3), np.uint8)
            rgb[..., colour] = 100 + 50 * k
            _save(tmp_path / name / f"{k}.png", rgb)
    return tmp_path


def test_folders_keep_colour_when_the_network_takes_three_channels(tmp_path):
    root = _folder(tmp_path)
    colour = open_dataset_with_channels(root, 3)
    assert colour.images.shape == (6, 3, 5, 5) and colour.class_names == ["green", "red"]
    greens = colour.images[colour.labels == 0]
    assert np.all(greens[:, 1] > 0.3) and np.all(greens[:, [0, 2]] == 0)
    gray = open_dataset_with_channels(root, 1)
    assert gray.images.shape == (6, 1, 5, 5)
    assert open_dataset(root, channels=3).images.shape == (6, 3, 5, 5)


def test_single_images_keep_colour_and_built_ins_keep_their_channels(tmp_path):
    _save(tmp_path / "rg.png", _red_green())
    one = open_dataset_with_channels(tmp_path / "rg.png", 3, size=(6, 8))
    assert one.images.shape == (1, 3, 6, 8)
    np.testing.assert_allclose(one.images[0, :, 0, 0], [1, 0, 0])
    assert open_dataset_with_channels(tmp_path / "rg.png", 1).images.shape == (1, 1, 28, 28)
    assert open_dataset_with_channels("shapes", 3, n=20).input_shape == (1, 28, 28)


def test_colour_shapes_are_seeded_balanced_and_in_range():
    a, b = make_color_shapes(n=90, seed=1), make_color_shapes(n=90, seed=1)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, make_color_shapes(n=90, seed=2).images)
    assert a.input_shape == (3, 16, 16) and a.class_names == list(CLASS_NAMES)
    assert np.bincount(a.labels).tolist() == [10] * 9
    assert a.images.min() >= 0 and a.images.max() <= 1
    assert open_dataset("shapes-rgb", size=28, n=18).input_shape == (3, 28, 28)
    with pytest.raises(DataError, match="size must be"):
        open_dataset("shapes-rgb", size=3)
    with pytest.raises(DataError, match="unknown option"):
        open_dataset("shapes-rgb", classes=("square", "circle"))


def _nearest_neighbour(train, test, features) -> float:
    """1-NN accuracy of test on train with the given feature map."""
    a, b = features(train.images), features(test.images)
    d = ((b[:, None, :] - a[None, :, :]) ** 2).sum(-1)
    return float(np.mean(train.labels[d.argmin(1)] == test.labels))


def test_colour_and_shape_both_matter():
    """1-NN on RGB pixels separates the classes; gray pixels (no colour) and mean colours
    (no shape) do not."""
    train, test = make_color_shapes(n=900, seed=0), make_color_shapes(n=450, seed=5)
    assert _nearest_neighbour(train, test, lambda x: x.reshape(len(x), -1)) > 0.9
    assert _nearest_neighbour(train, test, lambda x: x.mean(1).reshape(len(x), -1)) < 0.5
    assert _nearest_neighbour(train, test, lambda x: x.mean((2, 3))) < 0.7
