"""Single image files: formats, modes, resizing, and every way a file can be bad."""

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnviz.data import DataError, load_image
from cnnviz.data import images as images_module


def _gradient(h=12, w=16) -> np.ndarray:
    return (np.arange(h * w).reshape(h, w) * 255 // (h * w - 1)).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".pgm"])
def test_lossless_round_trip(tmp_path, suffix):
    pixels = _gradient()
    Image.fromarray(pixels).save(tmp_path / f"g{suffix}")
    loaded = load_image(tmp_path / f"g{suffix}", size=None)
    assert loaded.dtype == np.float32 and loaded.shape == (12, 16)
    assert np.allclose(loaded, pixels / 255.0, atol=1e-6)


def test_jpeg_round_trip_within_compression_error(tmp_path):
    pixels = np.kron(_gradient(6, 8), np.ones((4, 4), np.uint8))
    Image.fromarray(pixels).save(tmp_path / "g.jpg", quality=95)
    loaded = load_image(tmp_path / "g.jpg", size=None)
    assert np.abs(loaded - pixels / 255.0).mean() < 0.02


def test_colour_becomes_luminance(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 1] = 200
    Image.fromarray(rgb).save(tmp_path / "green.png")
    expected = Image.fromarray(rgb).convert("L").getpixel((0, 0)) / 255
    assert np.allclose(load_image(tmp_path / "green.png", size=None), expected)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 255)  # one opaque black pixel, the rest fully transparent
    Image.fromarray(rgba).save(tmp_path / "t.png")
    loaded = load_image(tmp_path / "t.png", size=None)
    assert loaded[0, 0] == 0.0 and loaded[1:, 1:].min() == 1.0


def test_exif_orientation_is_applied(tmp_path):
    """Phone photos store their rotation in EXIF; the loaded image must be upright."""
    pixels = np.zeros((10, 20), np.uint8)
    pixels[:, :5] = 255  # bright band on the left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "photo.jpg", exif=exif, quality=95)
    loaded = load_image(tmp_path / "photo.jpg", size=None)
    assert loaded.shape == (20, 10)
    assert loaded[:5].mean() > 0.9 and loaded[5:].mean() < 0.1  # band now on top


def test_sixteen_bit_grey_keeps_its_range(tmp_path):
    deep = np.array([[0, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert np.allclose(load_image(tmp_path / "deep.png", size=None), [[0, 0.5, 1]], atol=1e-4)


def test_resize_to_the_network_input(tmp_path):
    Image.fromarray(np.full((100, 60), 255, np.uint8)).save(tmp_path / "w.png")
    out = load_image(tmp_path / "w.png", size=(28, 20))
    assert out.shape == (28, 20) and np.allclose(out, 1.0, atol=1e-3)
    assert load_image(tmp_path / "w.png").shape == (28, 28)  # default size


def test_bad_size_argument(tmp_path):
    Image.fromarray(_gradient()).save(tmp_path / "g.png")
    for size in [(0, 5), (5,), "big", (10**5, 10**5)]:
        with pytest.raises(DataError, match="size"):
            load_image(tmp_path / "g.png", size=size)


@pytest.mark.parametrize("content", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n" + bytes(20)])
def test_not_an_image(tmp_path, content):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(DataError, match="bad.png"):
        load_image(tmp_path / "bad.png")


def test_truncated_png(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(
        buffer, format="PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(DataError, match="cut.png"):
        load_image(tmp_path / "cut.png")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_image(tmp_path / "nothing.png")


def test_decompression_bomb_refused_before_decoding(tmp_path, monkeypatch):
    """A tiny file that declares a huge image: refused by its header, not decoded."""
    Image.new("1", (10000, 6000)).save(tmp_path / "bomb.png")  # 60 megapixels, a few kB
    assert (tmp_path / "bomb.png").stat().st_size < 100_000
    with pytest.raises(DataError, match="too large"):
        load_image(tmp_path / "bomb.png")
    monkeypatch.setattr(images_module, "MAX_PIXELS", 10**9)  # Pillow's own guard still holds
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000_000)
    with pytest.raises(DataError, match="too large"):
        load_image(tmp_path / "bomb.png")


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_gradient(8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


SEED_PNG = _png_bytes()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=200),
    st.builds(lambda pos, byte: SEED_PNG[:pos] + bytes([byte]) + SEED_PNG[pos + 1:],
              st.integers(0, len(SEED_PNG) - 1), st.integers(0, 255)),
    st.builds(lambda n: SEED_PNG[:n], st.integers(0, len(SEED_PNG))),
), suffix=st.sampled_from([".png", ".jpg", ".bmp"]))
def test_fuzz_random_and_mutated_bytes(tmp_path, data, suffix):
    """Whatever the bytes, load_image returns a (28, 28) float image or raises DataError."""
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        out = load_image(path)
    except DataError:
        return
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
