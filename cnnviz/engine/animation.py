"""Sliding-window animations of one map: frames computed from a pass's step records.

Forward conv: the kernel slides over the padded input and the output map fills cell by
cell. Backward conv: rot180(w) slides over the zero-padded δ (δ↑S for a stride S) and
δ_in fills. Max pool: the window's winner is picked (forward), or each δ is routed to
its winner (backward). `mode="convolution"` draws the flipped kernel instead, to show
seed 001's eq. 1–3: the numbers are then those of a true convolution, not the layer's.
The GUI and `cnnviz animate` draw these very frames; nothing is computed while drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cnnviz.engine.explain_blocks import InnerView

if TYPE_CHECKING:
    from cnnviz.engine.records import PassView, StepRecord

MODES = ("correlation", "convolution")


@dataclass
class Frame:
    """One position of the window: where it is, what it multiplies, the cell it fills."""

    box: tuple[int, int, int, int]  # (r0, r1, c0, c1) inclusive, on the source plane
    cell: tuple[int, int]  # the target cell written in this frame
    value: float  # the number written there (max pool backward: the running sum)
    target: np.ndarray  # the target map after this frame (NaN: not filled yet)
    products: np.ndarray | None = None  # kernel ⊙ window, summed over channels
    winner: tuple[int, int] | None = None  # max pool: the winning cell (source or target)
    target_box: tuple[int, int, int, int] | None = None  # max pool backward: the window


@dataclass
class Animation:
    """A whole animation: the plane the window slides over, the kernel, the frames."""

    kind: str  # "conv", "conv_backward", "maxpool", "maxpool_backward"
    title: str
    source: np.ndarray  # the (padded) plane shown under the window
    source_symbol: str
    pad: np.ndarray  # bool, like source: padding or zeros inserted by the stride
    target_symbol: str
    kernel: np.ndarray | None = None  # as drawn
    kernel_symbol: str = ""
    frames: list[Frame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def animation_for(view: PassView, rec: StepRecord, example: int, channel: int,
                  mode: str = "correlation") -> Animation:
    """The animation of map `channel` of example `example` at step `rec`; ValueError if the
    step has none (only conv and max-pool steps slide a window)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    kinds = {("forward", "conv2d"): _conv, ("backward", "conv2d"): _conv_backward,
             ("forward", "maxpool2d"): _maxpool, ("backward", "maxpool2d"): _maxpool_backward}
    builder = kinds.get((rec.kind, rec.layer_type))
    if builder is None:
        raise ValueError(f"step {rec.name} ({rec.kind} {rec.layer_type}) slides no window: "
                         "animations exist for conv2d and maxpool2d steps, F and B")
    out = rec.values["output" if rec.kind == "forward" else "grad_input"]
    if not 0 <= example < out.shape[0] or not 0 <= channel < out.shape[1]:
        raise ValueError(f"example {example}, map {channel} is out of range for {rec.name}: "
                         f"{out.shape[0]} example(s), {out.shape[1]} map(s)")
    if rec.inner is not None:  # a layer inside a block: seen where its block stands
        view = InnerView(view, rec)
    return builder(view, rec, example, channel, mode)


def _padded(plane: np.ndarray, top: int, left: int, shape: tuple[int, int],
            fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """plane placed at (top, left) in a `shape` array of `fill`; and the mask of fill cells."""
    out = np.full(shape, fill, dtype=np.float64)
    mask = np.ones(shape, dtype=bool)
    H, W = plane.shape
    r0, c0 = max(0, top), max(0, left)
    r1, c1 = min(shape[0], top + H), min(shape[1], left + W)
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = plane[r0 - top : r1 - top, c0 - left : c1 - left]
        mask[r0:r1, c0:c1] = False
    return out, mask


def _conv(view: PassView, rec: StepRecord, e: int, k: int, mode: str) -> Animation:
    """w[k,:] slides over the padded input; x[e,k] fills."""
    cfg = view.net.layers[rec.layer].config
    (kh, kw), (sh, sw), (ph, pw) = cfg["kernel_size"], cfg["stride"], cfg["padding"]
    inp = rec.values["input"].astype(np.float64)[e]
    params = view.pass_params()
    w = params[f"{rec.layer}.weight"].astype(np.float64)[k]
    b = float(params[f"{rec.layer}.bias"][k])
    if mode == "convolution":
        w = w[:, ::-1, ::-1]
    C, H, W = inp.shape
    shape = (H + 2 * ph, W + 2 * pw)
    planes = [_padded(inp[c], ph, pw, shape) for c in range(C)]
    Ho, Wo = rec.values["output"].shape[2:]
    target = np.full((Ho, Wo), np.nan)
    frames = []
    for i in range(Ho):
        for j in range(Wo):
            r, c = i * sh, j * sw
            prod = sum(p[r : r + kh, c : c + kw] * w[ch] for ch, (p, _) in enumerate(planes))
            target = target.copy()
            target[i, j] = float(prod.sum()) + b
            frames.append(Frame((r, r + kh - 1, c, c + kw - 1), (i, j), target[i, j], target,
                                products=prod))
    drawn = f"rot180(w[{k},0])" if mode == "convolution" else f"w[{k},0]"
    notes = [f"products summed over the {C} input channels" if C > 1 else "",
             "true convolution o * w (the kernel flipped, eq. 2–3): NOT what the layer "
             "computes" if mode == "convolution" else "cross-correlation o ⋆ w (eq. 1, 7): "
             "what the layer computes"]
    return Animation("conv", f"F{rec.layer}: x[{e},{k}] = o ⋆ w[{k}] + b[{k}]", planes[0][0],
                     f"o[{e},0] (padded by {ph},{pw})", planes[0][1], f"x[{e},{k}]",
                     w[0], drawn, frames, [n for n in notes if n])


def _conv_backward(view: PassView, rec: StepRecord, e: int, c: int, mode: str) -> Animation:
    """rot180(w[:,c]) slides over the zero-padded δ↑S; δ_in[e,c] fills."""
    cfg = view.net.layers[rec.layer].config
    (kh, kw), (sh, sw), (ph, pw) = cfg["kernel_size"], cfg["stride"], cfg["padding"]
    delta = rec.values["grad_output"].astype(np.float64)[e]
    w = view.pass_params()[f"{rec.layer}.weight"].astype(np.float64)[:, c]
    K, Ho, Wo = delta.shape
    H, W = rec.values["grad_input"].shape[2:]
    up = np.zeros((K, (Ho - 1) * sh + 1, (Wo - 1) * sw + 1))
    up[:, ::sh, ::sw] = delta
    shape = (H + kh - 1, W + kw - 1)
    planes = [_padded(up[k], kh - 1 - ph, kw - 1 - pw, shape) for k in range(K)]
    kernel = w if mode == "convolution" else w[:, ::-1, ::-1]
    target = np.full((H, W), np.nan)
    frames = []
    for i in range(H):
        for j in range(W):
            prod = sum(p[i : i + kh, j : j + kw] * kernel[k] for k, (p, _) in enumerate(planes))
            target = target.copy()
            target[i, j] = float(prod.sum())
            frames.append(Frame((i, i + kh - 1, j, j + kw - 1), (i, j), target[i, j], target,
                                products=prod))
    pad = planes[0][1] | _inserted(shape, kh - 1 - ph, kw - 1 - pw, sh, sw)
    drawn = f"w[0,{c}]" if mode == "convolution" else f"rot180(w[0,{c}])"
    up_name = "δ" if (sh, sw) == (1, 1) else f"δ↑{sh}"
    notes = [f"products summed over the {K} output channels" if K > 1 else "",
             f"pad({up_name}) ⋆ rot180(w) = {up_name} * w: what the layer computes"
             if mode == "correlation" else f"pad({up_name}) ⋆ w: the kernel NOT flipped; "
             "not the layer's δ_in", "the window is region Q of the cell being filled"]
    return Animation("conv_backward", f"B{rec.layer}: δ_in[{e},{c}] = Σ_k {up_name} * w",
                     planes[0][0], f"{up_name}[{e},0] zero-padded", pad, f"δ_in[{e},{c}]",
                     kernel[0], drawn, frames, [n for n in notes if n])


def _inserted(shape: tuple[int, int], top: int, left: int, sh: int, sw: int) -> np.ndarray:
    """Cells of the padded δ↑S plane that are zeros the stride inserted."""
    rows = (np.arange(shape[0]) - top) % sh != 0
    cols = (np.arange(shape[1]) - left) % sw != 0
    return rows[:, None] | cols[None, :]


def _maxpool(view: PassView, rec: StepRecord, e: int, c: int, mode: str) -> Animation:
    """The window slides; its recorded winner is marked; x[e,c] fills."""
    cfg = view.net.layers[rec.layer].config
    (kh, kw), (sh, sw), (ph, pw) = cfg["kernel_size"], cfg["stride"], cfg["padding"]
    inp = rec.values["input"].astype(np.float64)[e, c]
    H, W = inp.shape
    plane, pad = _padded(inp, ph, pw, (H + 2 * ph, W + 2 * pw))
    out = rec.values["output"].astype(np.float64)[e, c]
    argmax = rec.values["argmax"][e, c]
    target = np.full(out.shape, np.nan)
    frames = []
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            r, col = divmod(int(argmax[i, j]), W)
            target = target.copy()
            target[i, j] = out[i, j]
            frames.append(Frame((i * sh, i * sh + kh - 1, j * sw, j * sw + kw - 1), (i, j),
                                out[i, j], target, winner=(r + ph, col + pw)))
    return Animation("maxpool", f"F{rec.layer}: x[{e},{c}] = max of each window", plane,
                     f"o[{e},{c}] (padded by {ph},{pw})", pad, f"x[{e},{c}]", None, "", frames,
                     ["the recorded winner of each window is marked; padding never wins"])


def _maxpool_backward(view: PassView, rec: StepRecord, e: int, c: int,
                      mode: str) -> Animation:
    """Each δ[e,c,i,j] goes to its window's winner; δ_in[e,c] accumulates."""
    cfg = view.net.layers[rec.layer].config
    (kh, kw), (sh, sw), (ph, pw) = cfg["kernel_size"], cfg["stride"], cfg["padding"]
    delta = rec.values["grad_output"].astype(np.float64)[e, c]
    argmax = view.record(f"F{rec.layer}").values["argmax"][e, c]
    H, W = rec.values["grad_input"].shape[2:]
    target = np.zeros((H, W))
    frames = []
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            r, col = divmod(int(argmax[i, j]), W)
            target = target.copy()
            target[r, col] += delta[i, j]
            box = (max(0, i * sh - ph), min(H - 1, i * sh - ph + kh - 1),
                   max(0, j * sw - pw), min(W - 1, j * sw - pw + kw - 1))
            frames.append(Frame((i, i, j, j), (r, col), float(target[r, col]), target,
                                winner=(r, col), target_box=box))
    return Animation("maxpool_backward", f"B{rec.layer}: δ_in[{e},{c}]: each δ to its winner",
                     delta, f"δ[{e},{c}]", np.zeros(delta.shape, dtype=bool), f"δ_in[{e},{c}]",
                     None, "", frames, ["a cell that wins several windows adds their deltas"])
