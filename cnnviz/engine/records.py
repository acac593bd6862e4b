"""What a pass leaves behind: step records, and the read-only view explainers need.

`StepRecord` is what one executed step read and wrote. `PassView` is the part of a pass
that an explanation reads (the Stepper provides it), so the explainers depend on this
module and never on the Stepper itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from cnnviz.core.network import Network
    from cnnviz.core.optim_base import Optimizer


@dataclass
class StepRecord:
    """What one executed step read and wrote (copies; later steps never mutate them)."""

    name: str
    layer: int | None
    kind: str  # "forward", "loss", "backward", "update"
    layer_type: str
    values: dict[str, np.ndarray] = field(default_factory=dict)
    # U: "optimizer" state_dict after it; F of batch norm / dropout: "training" (the mode),
    # and dropout "rng_before" (the mask generator's state before the draw)
    meta: dict[str, Any] = field(default_factory=dict)
    inner: str | None = None  # "body.0" / "shortcut.1" for a step inside block `layer`

    def summary(self) -> str:
        """One short line per tensor: shape, min/max/mean, and the norm of gradients."""
        head = f"{self.name:<4} {self.layer_type}"
        if self.inner is not None:
            head += f"  (block {self.layer}, {self.inner})"
        elif self.layer_type == "residual":
            head += "  (the addition)" if self.kind == "forward" else "  (δ to both branches)"
        if self.kind == "loss":
            head += f"  loss={float(self.values['loss']):.6g}"
        lines = [head]
        for key, value in self.values.items():
            if value.ndim == 0 and key == "loss":
                continue
            lines.append("    " + _describe(key, value))
        return "\n".join(lines)


def _describe(key: str, value: np.ndarray) -> str:
    """`key (shape) min … max … mean …` plus `|·|` for gradients."""
    shape = "×".join(str(s) for s in value.shape) or "scalar"
    if key == "argmax" or value.size == 0:
        return f"{key:<16} {shape}"
    v = value.astype(np.float64, copy=False)
    text = f"{key:<16} {shape:<14} min {v.min(): .4g}  max {v.max(): .4g}  mean {v.mean(): .4g}"
    if "grad" in key:
        text += f"  |·| {np.linalg.norm(v.ravel()):.4g}"
    return text


class PassView(Protocol):
    """The network, labels, optimizer and records of one pass, as explainers read them."""

    net: Network
    y: np.ndarray
    optimizer: Optimizer

    def record(self, name: str) -> StepRecord | None:
        """The record of an executed step, or None."""

    def pass_params(self) -> dict[str, np.ndarray]:
        """The parameters this pass ran with."""
