"""One share of a data-parallel training step: the same code on a thread and in a worker
process (core/parallel_step.py, core/share_processes.py), so both give the same bits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cnnviz.core.kernels._jit import whole_chunks

if TYPE_CHECKING:
    from cnnviz.core.layers import Layer
    from cnnviz.core.network import Network


def run_share(net: Network, layers: list[Layer], x: np.ndarray, y: np.ndarray,
              weight: float) -> tuple[float, np.ndarray]:
    """Forward, loss and backward of one share through `layers` (net's or a replica's),
    with the loss and ∂E/∂logits scaled by the share's `weight` (its size over the
    batch's); returns (weighted loss, logits) and leaves the gradients in the layers."""
    with whole_chunks():
        out = x
        for layer in layers:
            out = layer.forward(out)
        loss, grad = net.compute_loss(out, y)
        grad = grad * grad.dtype.type(weight)
        for layer in reversed(layers):
            grad = layer.backward(grad, need_input_grad=layer is not layers[0])
    return loss * weight, out
