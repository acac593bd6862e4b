"""What the prediction panel shows: class probabilities of the shown example, from the core."""

from __future__ import annotations

import numpy as np

from cnnviz.core.losses import softmax
from cnnviz.core.network import Network
from cnnviz.engine.records import StepRecord
from cnnviz.engine.stepper import Stepper


class Predictions:
    """Reads the probabilities of one example from the pass, computing a forward pass only
    when the records do not hold them (after U: once per U record, cached). Such a pass
    runs in eval mode, as inference does, and changes no state of the network."""

    def __init__(self) -> None:
        self._after_update: tuple[StepRecord, np.ndarray] | None = None

    def probabilities(self, network: Network, stepper: Stepper, example: int) -> np.ndarray:
        """After U with the updated weights, else from this pass's loss record, else from a
        forward pass (softmax for cross-entropy; the raw outputs for an MSE network)."""
        update = stepper.record("U")
        if update is not None:
            return self._updated_outputs(network, stepper, update)[example]
        record = stepper.record("L")
        if record is not None:
            key = "probabilities" if "probabilities" in record.values else "logits"
            return np.asarray(record.values[key][example], dtype=np.float64)
        return outputs_of(network, forward_eval(network, stepper.x[example : example + 1]))[0]

    @staticmethod
    def stage(stepper: Stepper) -> str:
        """Which weights the numbers come from, in words."""
        if stepper.record("U") is not None:
            return "after the update U (new weights)"
        return "this pass (step L)" if stepper.record("L") is not None else "forward pass"

    def _updated_outputs(self, network: Network, stepper: Stepper,
                         update: StepRecord) -> np.ndarray:
        """The forward pass of this batch with the weights U wrote (cached per U record)."""
        if self._after_update is None or self._after_update[0] is not update:
            self._after_update = (update, outputs_of(network, forward_eval(network, stepper.x)))
        return self._after_update[1]


def forward_eval(network: Network, x: np.ndarray) -> np.ndarray:
    """A forward pass in eval mode, the network's mode restored after: batch norm reads its
    running statistics without moving them and dropout draws no mask, so a prediction
    leaves the stepped pass (running statistics, mask generator) exactly as it was."""
    mode = network.training
    network.eval()
    try:
        return network.forward(x)
    finally:
        network.train(mode)


def outputs_of(network: Network, logits: np.ndarray) -> np.ndarray:
    """Softmax of the logits for cross-entropy, the logits themselves for MSE."""
    z = softmax(logits) if network.spec.loss == "cross_entropy" else logits
    return np.asarray(z, dtype=np.float64)
