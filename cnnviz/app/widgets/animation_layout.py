"""Where the sliding-window animation's figures go, and at what size (no drawing here).

The figures are the plane with the window, the arrow, the map filling up, the kernel,
"⊙ window =" and the products. They are laid out in one row when the room is wide
(`maps  kernel ⊙ window = products`), in two rows when it is narrower (the maps above
the sum), in three when narrower still (the products under the kernel). A `Plan` pairs
a row count with a number size; `PLANS` lists them in the order the canvas tries them:
large numbers first, one row before two, three rows only when nothing else fits. The
smallest numbers are the presentation's small font (`theme.small_point_size`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize

GAP = 8  # px between figures
SCALES = (1.1, 1.0, 0.9, 0.8, 0.7)  # number font / canvas font, then the small font
KEYS = ("source", "arrow", "target", "kernel", "times", "products")


@dataclass(frozen=True)
class Plan:
    """How many rows the figures take, and the number font as a share of the canvas's."""

    rows: int
    scale: float


def plans(small: float) -> list[Plan]:
    """Every plan in order of preference; `small` is the smallest scale allowed."""
    scales = [s for s in SCALES if s > small] + [small]
    return ([Plan(rows, s) for s in scales for rows in (1, 2)]
            + [Plan(3, s) for s in scales])


def compact_decimals(values: np.ndarray, digits: int = 2) -> int:
    """Decimals that give the largest |value| `digits` significant digits (0.623 → 2,
    0.0004 → 5): every cell of a grid then has the same number of decimals."""
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    if largest == 0.0:
        return 0
    return max(0, digits - 1 - math.floor(math.log10(largest)))


def place(sizes: dict[str, QSize], rows: int) -> dict[str, QRect]:
    """Rectangles of the figures (keys of `KEYS` present in `sizes`) for a row count; the
    operators are centred on the height of the grids beside them."""
    lines = {1: [list(KEYS)], 2: [list(KEYS[:3]), list(KEYS[3:])],
             3: [list(KEYS[:3]), list(KEYS[3:5]), [KEYS[5]]]}[rows]
    rects: dict[str, QRect] = {}
    y = 0
    for line in lines:
        keys = [k for k in line if k in sizes]
        height = max((sizes[k].height() for k in keys), default=0)
        x = 0
        for k in keys:
            size = sizes[k]
            top = y + (height - size.height()) // 2 if k in ("arrow", "times") else y
            rects[k] = QRect(QPoint(x, top), size)
            x += size.width() + GAP
        y += height + GAP if keys else 0
    return rects


def extent(rects: dict[str, QRect]) -> QSize:
    """The size of the box holding every rectangle (from the origin)."""
    right = max((r.right() + 1 for r in rects.values()), default=0)
    bottom = max((r.bottom() + 1 for r in rects.values()), default=0)
    return QSize(right, bottom)


def fits(size: QSize, room: QSize) -> bool:
    """Whether a size fits into the room."""
    return size.width() <= room.width() and size.height() <= room.height()
