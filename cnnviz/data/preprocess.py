"""Make a drawn or photographed digit look like an MNIST digit, the way MNIST was made.

Steps: grayscale in [0, 1]; optional inversion (dark ink on light paper); background
level removed and contrast stretched to [0, 1]; crop to the ink; scale the longest side
to 20 pixels keeping the aspect ratio (antialiased Lanczos resampling); paste into a
28x28 field so that the intensity-weighted centre of mass lands on pixel (14, 14) (0-based
row, column — where the real MNIST digits have theirs, measured on the bundled subset) by
an integer shift of the rounded centre of mass, so it ends within half a pixel of (14, 14).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from cnnviz.data.errors import DataError
from cnnviz.data.images import resize

FIELD = 28        # output side
BOX = 20          # the digit's longest side after scaling
CENTRE = 14.0     # target centre of mass, 0-based pixel coordinates (row and column)
INK = 0.1         # a pixel is ink when above this fraction of the brightest pixel

Invert = bool | Literal["auto"]


def preprocess_digit(image: np.ndarray, invert: Invert = False) -> np.ndarray:
    """An MNIST-like (28, 28) float32 digit in [0, 1] from any grayscale or RGB(A) image.

    invert=True for dark ink on light paper; "auto" inverts when the border is mostly
    bright. A blank image gives a blank 28x28 field.
    """
    gray = _as_gray(image)
    if should_invert(gray, invert):
        gray = 1.0 - gray
    gray = _stretch(gray)
    if gray is None:
        return np.zeros((FIELD, FIELD), np.float32)
    digit = _fit_box(_crop_to_ink(gray))
    return _centre(digit)


def should_invert(gray: np.ndarray, invert: Invert) -> bool:
    """Resolve invert=True/False/"auto" ("auto": the border is mostly bright) for an image."""
    if isinstance(invert, str) and invert == "auto":
        return bool(_border(gray).mean() > 0.5)
    if not isinstance(invert, bool | np.bool_):
        raise DataError(f"invert must be True, False or 'auto', got {invert!r}")
    return bool(invert)


def _as_gray(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 1/3/4) array, uint8 0-255 or float 0-1 -> (H, W) float64 in [0, 1]."""
    a = np.asarray(image)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)) or min(a.shape) < 1:
        raise DataError(f"a digit image must be (H, W) or (H, W, 1|3|4), got shape {a.shape}")
    if a.dtype.kind not in "fiub":
        raise DataError(f"a digit image must hold numbers, got {a.dtype}")
    a = a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)
    if not np.isfinite(a).all():
        raise DataError("a digit image must not contain NaN or infinity")
    a = np.clip(a, 0.0, 1.0)
    return _luminance(a) if a.ndim == 3 else a


def _luminance(a: np.ndarray) -> np.ndarray:
    """Grayscale from channels last (ITU-R 601 weights, as Pillow); alpha over white."""
    if a.shape[2] == 1:
        return a[:, :, 0]
    gray = a[:, :, :3] @ np.array([0.299, 0.587, 0.114])
    if a.shape[2] == 4:
        gray = gray * a[:, :, 3] + (1.0 - a[:, :, 3])
    return np.clip(gray, 0.0, 1.0)


def _border(gray: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels."""
    return np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])


def _stretch(gray: np.ndarray) -> np.ndarray | None:
    """Subtract the background (median border level), scale the brightest ink to 1.

    Returns None when nothing stands out from the background (a blank image).
    """
    background = float(np.median(_border(gray)))
    peak = float(gray.max())
    if peak - background < 1e-3:
        return None
    return np.clip((gray - background) / (peak - background), 0.0, 1.0)


def _crop_to_ink(gray: np.ndarray) -> np.ndarray:
    """The smallest rectangle holding every ink pixel (faint ones below INK are dropped)."""
    gray = np.where(gray > INK, gray, 0.0)
    rows = np.flatnonzero(gray.any(axis=1))
    cols = np.flatnonzero(gray.any(axis=0))
    return gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Scale so the longest side is BOX pixels, keeping the aspect ratio."""
    h, w = ink.shape
    scale = BOX / max(h, w)
    size = (max(1, min(BOX, round(h * scale))), max(1, min(BOX, round(w * scale))))
    out = resize(ink.astype(np.float32), size).astype(np.float64)
    peak = out.max()
    return out / peak if peak > 0 else out


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste into the 28x28 field with the rounded centre of mass moved to (14, 14).

    The offset is clamped so that no ink is cut off (only matters for lopsided digits).
    """
    digit = digit.astype(np.float32).astype(np.float64)  # the values the output will hold
    h, w = digit.shape
    ys, xs = np.indices(digit.shape)
    mass = digit.sum()
    cy, cx = (ys * digit).sum() / mass, (xs * digit).sum() / mass
    top = int(np.clip(round(CENTRE - cy), 0, FIELD - h))
    left = int(np.clip(round(CENTRE - cx), 0, FIELD - w))
    field = np.zeros((FIELD, FIELD), np.float64)
    field[top:top + h, left:left + w] = digit
    return field.astype(np.float32)
