"""The inspector's tabs and the pure rules behind them: which tab follows a step, pool
winners and ties, weight names and the filters mosaic."""

from __future__ import annotations

import numpy as np

from cnnviz.app.widgets.mapview import unit_text

TABS = [("maps", "Maps"), ("input", "Input"), ("filters", "Filters"),
        ("deltas", "Deltas"), ("wgrads", "∂E/∂w"), ("winners", "Winners"),
        ("norm", "Batch norm"), ("mask", "Mask")]
TAB_TIPS = {"maps": "Feature maps: the layer's output o for the shown example",
            "input": "The layer's input (the previous layer's output)",
            "filters": "The weights w, one row per output channel",
            "deltas": "δ = ∂E/∂o of the layer's output (once the backward pass reached it)",
            "wgrads": "Weight gradients ∂E/∂w = δ ⋆ o, summed over the mini-batch",
            "winners": "Max pool: the winners of each window; backward: where δ is routed",
            "norm": "Batch norm, per channel: the batch mean and variance it normalised with, "
                    "the running mean and variance before and after the step, γ and β",
            "mask": "Dropout: the mask of this pass (1 kept, 0 dropped); none in eval mode"}
# The tab that follows the step's direction; a tab the user picked by hand stays.
AUTO_TAB = {"forward": "maps", "loss": "maps", "backward": "deltas", "update": "filters"}


# How the hover readout names a cell of each tab (a filter cell is a weight w[o,c,m,n]).
SYMBOLS = {"maps": "o", "input": "o⁽ˡ⁻¹⁾", "deltas": "δ", "winners": "o⁽ˡ⁻¹⁾"}


def auto_tab(kind: str, layer_type: str, has_weights: bool = True) -> str:
    """The tab that best shows a step: maps forward, deltas backward (the routing to the
    winners for a max pool), the filters after the update (maps for a layer without)."""
    if kind == "backward" and layer_type == "maxpool2d":
        return "winners"
    if kind == "update" and not has_weights:
        return "maps"
    return AUTO_TAB[kind]


def winner_cells(argmax: np.ndarray, in_width: int,
                 tied: np.ndarray | None = None) -> list[tuple[int, int, int]]:
    """(c, i, j) input cells that won a max pool, from the engine's flat argmax (C, Ho, Wo);
    windows flagged in `tied` (every cell equal: no real winner) are left out."""
    cells = set()
    for c in range(argmax.shape[0]):
        wins = argmax[c] if tied is None else argmax[c][~tied[c]]
        for flat in np.unique(wins):
            cells.add((c, int(flat) // in_width, int(flat) % in_width))
    return sorted(cells)


def tied_windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """(C, Ho, Wo) booleans: True where every (unpadded) cell of a pool window is equal, so
    the first one "wins" by the tie rule only (a dead relu's all-zero window)."""
    C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    tied = np.zeros((C, *out_hw), dtype=bool)
    for oi in range(out_hw[0]):
        i0, i1 = max(0, oi * sh - ph), min(H, oi * sh - ph + kh)
        for oj in range(out_hw[1]):
            j0, j1 = max(0, oj * sw - pw), min(W, oj * sw - pw + kw)
            window = x[:, i0:i1, j0:j1].reshape(C, -1)
            tied[:, oi, oj] = window.max(axis=1) == window.min(axis=1)
    return tied


def weight_name(index: tuple[int, ...]) -> str:
    """`w[o,c,m,n]` (conv) or `w[k,j]` (dense)."""
    return "w" + unit_text(index)


def weight_stack(weight: np.ndarray) -> tuple[np.ndarray, int]:
    """Conv weights [out, in, kh, kw] as a (out·in, kh, kw) stack, one row per output
    channel (a near-square grid when there is a single input channel)."""
    if weight.ndim == 4:
        out, cin, kh, kw = weight.shape
        return weight.reshape(out * cin, kh, kw), (cin if cin > 1 else 0)
    return weight, 0
