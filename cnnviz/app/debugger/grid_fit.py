"""How many maps per row, at how many pixels per cell: the arithmetic of fitting a stack
of feature maps into a box (the presentation overview's columns, ``overview.py``)."""

from __future__ import annotations

import math


def best_grid(count: int, height: int, width: int, box_w: float,
              box_h: float) -> tuple[int, float]:
    """(maps per row, pixels per cell) of the largest maps that fit `count` maps of
    `height`×`width` cells (4 px apart) into a box of `box_w`×`box_h` pixels."""
    best = (1, 0.0)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        scale = min(box_w / cols - 4, box_h / rows - 4) / max(height, width)
        if scale > best[1]:
            best = (cols, scale)
    return best


def tall_grid(count: int, height: int, box_h: float, cell: float) -> int:
    """Maps per row so that `count` maps `height` cells high fit into `box_h` pixels of
    height at `cell` pixels per cell."""
    rows = max(1, int(box_h // (max(1, round(height * cell)) + 4)))
    return math.ceil(count / rows)
