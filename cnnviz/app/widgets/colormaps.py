"""Colour maps: sequential (viridis) for activations, diverging blue–white–red for signed data.

Signed arrays (weights, deltas, gradients) use symmetric levels ``[-m, m]`` so that white is
exactly zero. Also turns arrays into QImages for the small thumbnails of the pipeline, and
a colour input's R, G, B values into its pixels as they are (``rgb_pixels``).

``set_palette("colorblind")`` (View → High contrast) swaps both maps for colour-blind-safe
ones — cividis and a blue–white–orange diverging map — everywhere at once: every widget
asks ``colormap_for`` / ``to_rgb`` when it draws.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage

# viridis key colours (matplotlib), 9 stops
_VIRIDIS = [
    (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
    (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
]
# blue – white – red (ColorBrewer RdBu, reversed so that negative is blue)
_DIVERGING = [
    (5, 48, 97), (33, 102, 172), (67, 147, 195), (146, 197, 222), (247, 247, 247),
    (244, 165, 130), (214, 96, 77), (178, 24, 43), (103, 0, 31),
]
# cividis (matplotlib; Nuñez et al. 2018): readable with any colour vision, 9 stops
_CIVIDIS = [
    (0, 34, 78), (18, 53, 112), (59, 73, 108), (87, 93, 109), (112, 113, 115),
    (138, 134, 120), (165, 156, 116), (196, 179, 103), (254, 232, 56),
]
# blue – white – orange (ColorBrewer RdBu's blues, PuOr's oranges): no red–green contrast
_BLUE_ORANGE = [
    (5, 48, 97), (33, 102, 172), (67, 147, 195), (146, 197, 222), (247, 247, 247),
    (253, 184, 99), (230, 97, 1), (179, 88, 6), (127, 59, 8),
]
PALETTES = ("standard", "colorblind")


def _colormap(colors: list[tuple[int, int, int]]) -> pg.ColorMap:
    """A pyqtgraph colour map through evenly spaced stops."""
    return pg.ColorMap(np.linspace(0.0, 1.0, len(colors)), np.array(colors, dtype=np.ubyte))


SEQUENTIAL = _colormap(_VIRIDIS)
DIVERGING = _colormap(_DIVERGING)
_MAPS = {"standard": {False: SEQUENTIAL, True: DIVERGING},
         "colorblind": {False: _colormap(_CIVIDIS), True: _colormap(_BLUE_ORANGE)}}
_ACTIVE = {"palette": "standard"}


def _luts(name: str) -> dict[bool, np.ndarray]:
    """The 256-entry lookup tables of a palette (thumbnails are redrawn on every step)."""
    return {signed: cmap.getLookupTable(0.0, 1.0, 256, alpha=False)
            for signed, cmap in _MAPS[name].items()}


_LUTS = _luts("standard")


def set_palette(name: str) -> None:
    """Use the "standard" or the "colorblind" maps from now on (widgets redraw to follow)."""
    if name not in PALETTES:
        raise ValueError(f"unknown palette {name!r}: use one of {', '.join(PALETTES)}")
    _ACTIVE["palette"] = name
    _LUTS.update(_luts(name))


def palette() -> str:
    """The palette in use: "standard" or "colorblind"."""
    return _ACTIVE["palette"]


def colormap_for(signed: bool) -> pg.ColorMap:
    """The diverging map for signed data, the sequential one otherwise (of the palette)."""
    return _MAPS[_ACTIVE["palette"]][signed]


def levels_for(array: np.ndarray, signed: bool) -> tuple[float, float]:
    """Display range: symmetric around zero for signed data, min..max otherwise."""
    finite = np.asarray(array, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return (-1.0, 1.0) if signed else (0.0, 1.0)
    if signed:
        m = float(np.max(np.abs(finite)))
        m = m if m > 0 else 1e-12
        return -m, m
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo, lo + 1e-12)


def to_rgb(array: np.ndarray, signed: bool,
           levels: tuple[float, float] | None = None) -> np.ndarray:
    """Map a 2-D array to (H, W, 3) uint8 colours; NaN cells become mid grey."""
    lo, hi = levels if levels is not None else levels_for(array, signed)
    data = np.asarray(array, dtype=np.float64)
    t = np.clip((data - lo) / (hi - lo), 0.0, 1.0)
    lut = _LUTS[signed]
    index = np.nan_to_num(t * 255.0, nan=0.0).astype(np.intp)
    rgb = np.ascontiguousarray(lut[index][..., :3], dtype=np.uint8)
    rgb[~np.isfinite(data)] = 128
    return rgb


def to_qimage(array: np.ndarray, signed: bool,
              levels: tuple[float, float] | None = None) -> QImage:
    """A QImage (RGB888, owning its pixels) of a 2-D array in the right colour map."""
    rgb = to_rgb(array, signed, levels)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.copy()


def rgb_pixels(array: np.ndarray) -> np.ndarray:
    """The (H, W, 3) uint8 pixels of a (3, H, W) colour image whose channels are R, G, B in
    [0, 1]: the numbers are the colours (no colour map, no stretching); values outside
    [0, 1] are clipped, NaN is mid grey. Every RGB view of an input draws these."""
    data = np.asarray(array, dtype=np.float64)
    rgb = np.clip(np.nan_to_num(data, nan=0.5), 0.0, 1.0)
    return np.ascontiguousarray(np.round(np.moveaxis(rgb, 0, -1) * 255.0), dtype=np.uint8)


def rgb_qimage(array: np.ndarray) -> QImage:
    """A QImage of a (3, H, W) colour image (R, G, B in [0, 1]; see `rgb_pixels`)."""
    pixels = rgb_pixels(array)
    h, w = pixels.shape[:2]
    image = QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.copy()
