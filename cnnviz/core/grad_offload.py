"""Which weight gradients of the current step another process computes (the context).

A one-share step (batch 1) hands its convolutions' ∂E/∂w and ∂E/∂b to the share worker
(`core/grad_jobs.py`): a convolution layer asks `current_offload()` whether it may post
its input and δ there instead of computing them; the step then takes the gradients in
before the update. Kept apart from grad_jobs so that layers.py can import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import numpy as np


class GradOffload(Protocol):
    """Where a step's convolutions post their weight-gradient work."""

    def post(self, layer: Any, x: np.ndarray, delta: np.ndarray) -> bool:
        """Take the layer's (∂E/∂w, ∂E/∂b) of input x and δ on; False if it cannot (the
        layer then computes them itself)."""
        ...


_OFFLOAD: ContextVar[GradOffload | None] = ContextVar("cnnviz_grad_offload", default=None)


@contextmanager
def offloading(offload: GradOffload) -> Iterator[GradOffload]:
    """Within it, this thread's convolutions post their weight gradients to `offload`."""
    token = _OFFLOAD.set(offload)
    try:
        yield offload
    finally:
        _OFFLOAD.reset(token)


def current_offload() -> GradOffload | None:
    """Where this thread's convolutions post their weight gradients, or None."""
    return _OFFLOAD.get()
