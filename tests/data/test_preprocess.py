"""MNIST-style digit preprocessing: crop, 20x20 box, centre of mass at (14, 14), inversion."""

import numpy as np
import pytest
from PIL import Image

from cnnviz.data import DataError, preprocess_digit
from cnnviz.data.mnist import mnist


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    image = image.astype(np.float64)
    ys, xs = np.indices(image.shape)
    mass = image.sum()
    return (ys * image).sum() / mass, (xs * image).sum() / mass


def _bbox(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def _assert_mnist_like(out: np.ndarray) -> None:
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0, abs=1e-6)
    cy, cx = _centre_of_mass(out)
    assert abs(cy - 14.0) <= 0.5 + 1e-6 and abs(cx - 14.0) <= 0.5 + 1e-6
    h, w = _bbox(out)
    assert max(h, w) == 20 and min(h, w) <= 20


def _real_digit_in_a_corner(index: int, scale: int = 5) -> np.ndarray:
    """A real MNIST digit, scaled up `scale` times, in the top-right corner of a big canvas."""
    digit = (mnist().images[index, 0] * 255).astype(np.uint8)
    big = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale),
                                                   Image.Resampling.BICUBIC))
    canvas = np.zeros((400, 500), np.uint8)
    canvas[3:3 + 28 * scale, 500 - 28 * scale - 4:496] = big
    return canvas


@pytest.mark.parametrize("index", [0, 1, 17, 123, 2500, 4999])
def test_real_digit_moved_to_a_corner_and_scaled_up_is_recentred(index):
    out = preprocess_digit(_real_digit_in_a_corner(index))
    _assert_mnist_like(out)
    original = mnist().images[index, 0]
    # it looks like the original again (same digit, roughly same place)
    assert np.corrcoef(out.ravel(), original.ravel())[0, 1] > 0.8


def test_synthetic_blob_off_centre():
    ys, xs = np.indices((300, 200))
    blob = np.exp(-(((ys - 60) / 30.0) ** 2 + ((xs - 150) / 12.0) ** 2))  # tall ellipse
    out = preprocess_digit(blob)
    _assert_mnist_like(out)
    h, w = _bbox(out)
    assert h == 20 and w < 15  # aspect ratio kept: taller than wide


def test_dark_ink_on_light_paper_needs_inversion():
    light = 255 - _real_digit_in_a_corner(7)
    expected = preprocess_digit(_real_digit_in_a_corner(7))
    assert np.allclose(preprocess_digit(light, invert=True), expected, atol=1e-6)
    assert np.allclose(preprocess_digit(light, invert="auto"), expected, atol=1e-6)
    assert np.allclose(preprocess_digit(_real_digit_in_a_corner(7), invert="auto"), expected)


def test_grey_paper_and_grey_ink_are_stretched_to_zero_and_one():
    photo = 0.8 - 0.55 * (_real_digit_in_a_corner(3) / 255.0)  # ink 0.25 on paper 0.8
    out = preprocess_digit(photo, invert="auto")
    _assert_mnist_like(out)
    assert (out == 0).mean() > 0.5  # paper became black background


def test_rgb_and_rgba_inputs():
    gray = _real_digit_in_a_corner(5)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    rgba = np.dstack([rgb, np.full(gray.shape, 255, np.uint8)])
    expected = preprocess_digit(gray)
    assert np.allclose(preprocess_digit(rgb), expected, atol=1e-5)
    assert np.allclose(preprocess_digit(rgba), expected, atol=1e-5)


@pytest.mark.parametrize("blank", [np.zeros((50, 40)), np.ones((28, 28)),
                                   np.full((10, 10), 128, np.uint8)])
def test_blank_image_gives_blank_field(blank):
    out = preprocess_digit(blank)
    assert out.shape == (28, 28) and out.dtype == np.float32 and not out.any()


def test_tiny_dot_still_fills_the_box():
    image = np.zeros((30, 30))
    image[10, 20] = 1.0
    out = preprocess_digit(image)
    assert out.shape == (28, 28) and _bbox(out) == (20, 20)


@pytest.mark.parametrize("bad, words", [
    (np.zeros((2, 3, 5)), "shape"),
    (np.zeros(7), "shape"),
    (np.array([["a"]]), "numbers"),
    (np.full((4, 4), np.nan), "NaN"),
])
def test_bad_input_raises_data_error(bad, words):
    with pytest.raises(DataError, match=words):
        preprocess_digit(bad)


def test_bad_invert_option():
    with pytest.raises(DataError, match="invert"):
        preprocess_digit(np.zeros((5, 5)), invert="sometimes")
