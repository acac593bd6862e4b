"""Colour scales of the pipeline's columns.

Per column: each column's colours span its own range. Shared: every column of the same kind
(values, or deltas) is drawn on one range, so a 1e-5 delta looks faint beside a 1e-3 one.
Log magnitude: log₁₀|v| on one range per kind, so vanishing gradients stay visible.
"""

from __future__ import annotations

import numpy as np

SCALES = {"column": "per column", "shared": "shared per kind", "log": "log magnitude"}
SCALE_TIPS = {
    "column": "Each column's colours span its own range",
    "shared": "All outputs share one range and all deltas another: sizes compare across layers",
    "log": "Colours show log10|value| on one range per kind: tiny gradients stay visible",
}
Levels = tuple[float, float]
Content = tuple[np.ndarray | None, str, bool]


def _group(mode: str) -> str:
    """Columns that share a scale: deltas with deltas, outputs and the input together."""
    return "delta" if mode == "delta" else "value"


def log_magnitude(array: np.ndarray) -> np.ndarray:
    """log₁₀|v| in float64; exact zeros become NaN (drawn grey: 'exactly 0')."""
    with np.errstate(divide="ignore"):
        out = np.log10(np.abs(np.asarray(array, dtype=np.float64)))
    out[np.isneginf(out)] = np.nan
    return out


def shared_levels(contents: dict, scale: str) -> dict[tuple[str, object], Levels]:
    """One range per kind of column for the shared and log scales (nothing for 'column')."""
    spans: dict[tuple[str, object], list[float]] = {}
    for array, mode, signed in contents.values():
        if array is None or mode in ("loss", "") or scale == "column":
            continue
        data = log_magnitude(array) if scale == "log" else np.asarray(array, np.float64)
        finite = data[np.isfinite(data)]
        if not finite.size:
            continue
        key = (_group(mode), "log" if scale == "log" else signed)
        if scale == "shared" and signed:
            lo, hi = -float(np.abs(finite).max()), float(np.abs(finite).max())
        else:
            lo, hi = float(finite.min()), float(finite.max())
        old = spans.setdefault(key, [lo, hi])
        old[0], old[1] = min(old[0], lo), max(old[1], hi)
    return {key: (lo, hi if hi > lo else lo + 1e-12) for key, (lo, hi) in spans.items()}


def display_of(content: Content, scale: str,
               shared: dict) -> tuple[np.ndarray | None, bool, Levels | None]:
    """(array to draw, signed colour map, levels) of a column's content under a scale."""
    array, mode, signed = content
    if array is None or scale == "column" or mode in ("loss", ""):
        return array, signed, None
    if scale == "log":
        return log_magnitude(array), False, shared.get((_group(mode), "log"))
    return array, signed, shared.get((_group(mode), signed))
