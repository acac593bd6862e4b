"""Single image files (PNG, JPEG, BMP, … via Pillow) to float32 in [0, 1]: grayscale (H, W),
or (3, H, W) RGB with channels=3 (for a network whose input has 3 channels)."""

from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from cnnviz.data.errors import DataError
from cnnviz.data.fileio import open_regular_file, regular_file

MAX_PIXELS = 50_000_000  # refuse larger images (decompression bombs) before decoding them
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm",
                  ".ppm", ".pbm")


def load_image(path: str | os.PathLike, size: tuple[int, int] | None = (28, 28),
               channels: int = 1) -> np.ndarray:
    """An image file as float32 in [0, 1], resized to size=(H, W) (None: keep size).

    channels=1: (H, W), colour converted to luminance; channels=3: (3, H, W) RGB (a gray
    image repeated). Transparent pixels are composited onto white, as image viewers show
    them. Any failure raises DataError naming the file.
    """
    p = regular_file(path)
    size = check_size(size, p)
    if channels not in (1, 3):
        raise DataError(f"{p}: images load with 1 (gray) or 3 (RGB) channels, not {channels!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_regular_file(p) as handle, Image.open(handle) as image:
                _refuse_huge(image, p)
                planes = _to_float(image, channels)
                if size is not None and planes.shape[1:] != size:
                    planes = np.stack([resize(plane, size) for plane in planes])
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DataError(f"{p}: image too large (over {MAX_PIXELS:,} pixels)") from error
    except MemoryError as error:
        raise DataError(f"{p}: image too large to load") from error
    except Exception as error:  # Pillow raises many exception types for corrupt files
        raise DataError(f"{p}: not a readable image ({type(error).__name__}: {error})") from error
    return planes[0] if channels == 1 else planes


def check_size(size: tuple[int, int] | None, path: object) -> tuple[int, int] | None:
    """size must be None or two positive ints (H, W)."""
    if size is None:
        return None
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError) as error:
        raise DataError(f"{path}: size must be (H, W), got {size!r}") from error
    if h < 1 or w < 1 or h * w > MAX_PIXELS:
        raise DataError(f"{path}: size must be positive and at most {MAX_PIXELS:,} pixels, "
                        f"got {size!r}")
    return h, w


def _refuse_huge(image: Image.Image, path: object) -> None:
    """Check the header's pixel count before any pixel is decoded."""
    w, h = image.size
    if w < 1 or h < 1:
        raise DataError(f"{path}: image has no pixels ({w}x{h})")
    if w * h > MAX_PIXELS:
        raise DataError(f"{path}: image too large: {w}x{h} is over {MAX_PIXELS:,} pixels")


def _to_float(image: Image.Image, channels: int) -> np.ndarray:
    """Decode the first frame, upright per its EXIF orientation, into (channels, H, W) float32
    in [0, 1]: luminance for 1 channel, RGB for 3."""
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        scale = 1.0 if mode == "F" else (65535.0 if mode.startswith("I;16") or
                                         values.max(initial=0) > 255 else 255.0)
        gray = np.clip(np.nan_to_num(values / scale), 0, 1).astype(np.float32)
        return np.repeat(gray[None], channels, axis=0)
    if "A" in image.getbands() or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if channels == 3:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / np.float32(255)
        return np.ascontiguousarray(rgb.transpose(2, 0, 1))
    return (np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255))[None]


def resize(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Antialiased resize of an (H, W) float image to size=(H, W), clipped to [0, 1]."""
    h, w = size
    image = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32))  # mode "F"
    out = np.asarray(image.resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(out, 0, 1)
